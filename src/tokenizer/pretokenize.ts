/**
 * Pre-tokenization: splitting a text into words before byte-level BPE, exactly as
 * llama.cpp's `unicode_regex_split` does.
 *
 * A pre-tokenizer is a list of patterns applied in turn: each pattern splits every piece
 * the previous ones produced, and the text between two matches stays a piece of its own
 * (nothing is dropped). llama.cpp runs a pattern one of two ways, and so do we:
 *
 * - the GPT-2 and Llama 3 patterns have hand-written matchers (`splitGpt2`,
 *   `splitLlama3`), ported here from their behaviour: they classify code points with
 *   llama.cpp's flags (see unicode.ts), and "end of the piece" acts as a non-character;
 * - any other pattern runs on a *collapsed* copy of the text in which each code point is
 *   one character: ASCII stays itself, non-ASCII whitespace becomes U+000B, and every other
 *   non-ASCII code point becomes a stand-in for its category (0xD1 number, 0xD2 letter,
 *   0xD3 punctuation, 0xD4 mark, 0xD5 symbol, 0xD0 anything else). `\p{X}` in the pattern
 *   becomes that stand-in plus the ASCII members llama.cpp lists for the class — which
 *   leave out some ASCII characters Unicode puts in the class (`~` is not in `\p{S}`),
 *   a quirk we keep. std::regex (ECMAScript grammar) and JavaScript's RegExp agree on this
 *   text: leftmost alternative wins, same `\s` on these characters.
 */
import { F_LETTER, F_NUMBER, F_WHITESPACE, F_MARK, F_PUNCTUATION, F_SYMBOL, codePoints, cpFlags } from './unicode.js';

/** The text being split: its code points, and the collapsed copy when a pattern needs it. */
export interface SplitText {
  readonly cps: Uint32Array;
  collapsed?: string;
}

/** Splits `cps[start, end)` and appends the lengths (in code points) of the pieces to `out`. */
export type Splitter = (t: SplitText, start: number, end: number, out: number[]) => void;

const CR = 0x0d;
const LF = 0x0a;
const SPACE = 0x20;
const APOS = 0x27;
/** Sentinel for "outside the piece" (llama.cpp's OUT_OF_RANGE). */
const OOR = -1;

/** Lower-cases an ASCII letter; the contraction check only ever compares with ASCII letters. */
function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/**
 * Length of a contraction (`'s 't 're 've 'm 'll 'd`) starting at `pos`, or 0.
 * GPT-2 matches them case-sensitively; Llama 3's `(?i:…)` also takes `'S`, `'Re`, ….
 */
function contraction(cp: (p: number) => number, pos: number, end: number, fold: boolean): number {
  if (cp(pos) !== APOS || pos + 1 >= end) return 0;
  const low = fold ? lowerAscii : (c: number) => c;
  const a = low(cp(pos + 1));
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  if (pos + 2 >= end) return 0;
  const b = low(cp(pos + 2));
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

/** Per-piece accessors that answer "nothing" outside `[start, end)`. */
function accessors(t: SplitText, start: number, end: number) {
  const cps = t.cps;
  const cp = (p: number) => (p >= start && p < end ? cps[p] : OOR);
  const fl = (p: number) => (p >= start && p < end ? cpFlags(cps[p]) : 0);
  return { cp, fl };
}

/** Records pieces as lengths: `add(e)` closes the piece that ends at `e` and returns its length. */
function pieceAdder(start: number, out: number[]): (end: number) => number {
  let prev = start;
  return (e) => {
    const n = e - prev;
    if (n > 0) out.push(n);
    prev = e;
    return n;
  };
}

/**
 * Where `\s+(?!\S)|\s+` ends for a run of `ws` whitespace characters at `pos` (one
 * character when `ws` is 0): before the run's last character when more text follows, so
 * that it prefixes the next word.
 */
function whitespaceEnd(cp: (p: number) => number, pos: number, ws: number): number {
  if (ws > 1 && cp(pos + ws) !== OOR) return pos + ws - 1;
  return ws > 0 ? pos + ws : pos + 1;
}

/**
 * GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
 */
export const splitGpt2: Splitter = (t, start, end, out) => {
  const { cp, fl } = accessors(t, start, end);
  const add = pieceAdder(start, out);
  for (let pos = start; pos < end; ) {
    const c = cp(pos);
    const k = contraction(cp, pos, end, false);
    if (k > 0) {
      pos += add(pos + k);
      continue;
    }
    let f2 = c === SPACE ? fl(pos + 1) : fl(pos);
    if (f2 & F_LETTER) {
      pos += c === SPACE ? 1 : 0;
      while (f2 & F_LETTER) f2 = fl(++pos);
      add(pos);
      continue;
    }
    if (f2 & F_NUMBER) {
      pos += c === SPACE ? 1 : 0;
      while (f2 & F_NUMBER) f2 = fl(++pos);
      add(pos);
      continue;
    }
    // [^\s\p{L}\p{N}]: any flag set (so not past the end) but none of those three
    if (!(f2 & (F_WHITESPACE | F_LETTER | F_NUMBER)) && f2 !== 0) {
      pos += c === SPACE ? 1 : 0;
      while (!(f2 & (F_WHITESPACE | F_LETTER | F_NUMBER)) && f2 !== 0) f2 = fl(++pos);
      add(pos);
      continue;
    }
    let ws = 0;
    while (fl(pos + ws) & F_WHITESPACE) ws++;
    pos = whitespaceEnd(cp, pos, ws);
    add(pos);
  }
};

/**
 * Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
 */
export const splitLlama3: Splitter = (t, start, end, out) => {
  const { cp, fl } = accessors(t, start, end);
  const add = pieceAdder(start, out);
  for (let pos = start; pos < end; ) {
    const c = cp(pos);
    const f = fl(pos);
    const k = contraction(cp, pos, end, true);
    if (k > 0) {
      pos += add(pos + k);
      continue;
    }
    // [^\r\n\p{L}\p{N}]?\p{L}+
    if (!(c === CR || c === LF || f & F_NUMBER) && (f & F_LETTER || fl(pos + 1) & F_LETTER)) {
      pos++;
      while (fl(pos) & F_LETTER) pos++;
      add(pos);
      continue;
    }
    // \p{N}{1,3}
    if (f & F_NUMBER) {
      let ini = pos;
      while (fl(pos) & F_NUMBER) {
        if (++pos - ini >= 3) {
          add(pos);
          ini = pos;
        }
      }
      add(pos);
      continue;
    }
    // ' ?[^\s\p{L}\p{N}]+[\r\n]*' — llama.cpp tests the current character's flags for
    // "not past the end" here (not the next one's), so a lone trailing space lands here.
    let f2 = c === SPACE ? fl(pos + 1) : f;
    if (!(f2 & (F_WHITESPACE | F_LETTER | F_NUMBER)) && f !== 0) {
      pos += c === SPACE ? 1 : 0;
      while (!(f2 & (F_WHITESPACE | F_LETTER | F_NUMBER)) && f2 !== 0) f2 = fl(++pos);
      let c2 = cp(pos);
      while (c2 === CR || c2 === LF) c2 = cp(++pos);
      add(pos);
      continue;
    }
    let ws = 0;
    let lastNewline = 0;
    while (fl(pos + ws) & F_WHITESPACE) {
      const c2 = cp(pos + ws);
      if (c2 === CR || c2 === LF) lastNewline = pos + ws + 1;
      ws++;
    }
    if (lastNewline > 0) {
      // \s*[\r\n]+: everything up to the last line break of the run
      pos = lastNewline;
      add(pos);
      continue;
    }
    pos = whitespaceEnd(cp, pos, ws);
    add(pos);
  }
};

/** Stand-ins of the collapsed text, by category (llama.cpp's k_ucat_cpt). */
const STAND_IN: ReadonlyArray<[number, number]> = [
  [F_NUMBER, 0xd1],
  [F_LETTER, 0xd2],
  [F_PUNCTUATION, 0xd3],
  [F_MARK, 0xd4],
  [F_SYMBOL, 0xd5],
];

/** The collapsed copy of `cps`: one UTF-16 unit per code point. */
export function collapse(cps: Uint32Array): string {
  const units = new Uint16Array(cps.length);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    if (c < 128) {
      units[i] = c;
      continue;
    }
    const f = cpFlags(c);
    if (f & F_WHITESPACE) units[i] = 0x0b;
    else {
      const cat = f & 0xff;
      units[i] = STAND_IN.find(([k]) => k === cat)?.[1] ?? 0xd0;
    }
  }
  let s = '';
  for (let i = 0; i < units.length; i += 8192) s += String.fromCharCode(...units.subarray(i, i + 8192));
  return s;
}

/** `\p{…}` names llama.cpp rewrites, with the stand-in and the ASCII members (k_ucat_map). */
const CLASSES: Record<string, string> = (() => {
  const number = '\xd1' + '0-9';
  const letter = '\xd2' + 'A-Za-z';
  return {
    N: number,
    L: letter,
    Lu: letter,
    Ll: letter,
    Lt: letter,
    Lm: letter,
    Lo: letter,
    P: '\xd3' + '!-#%-*,-/:-;?-@\\[-\\]_\\{\\}',
    M: '\xd4',
    S: '\xd5' + '\\$\\+<->^`\\|',
  };
})();

/**
 * The collapsed form of a pattern, by llama.cpp's rewrite: `\p{X}` becomes
 * `[stand-in + ASCII members]`, without the brackets inside a character class.
 */
export function collapsePattern(pattern: string): string {
  let out = '';
  let inside = false;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '[' && (i === 0 || pattern[i - 1] !== '\\')) {
      out += '[';
      inside = true;
      continue;
    }
    if (inside && ch === ']' && pattern[i - 1] !== '\\') {
      out += ']';
      inside = false;
      continue;
    }
    if (ch === '\\' && pattern[i + 1] === 'p' && pattern[i + 2] === '{') {
      const close = pattern.indexOf('}', i + 3);
      const cls = close > 0 ? CLASSES[pattern.slice(i + 3, close)] : undefined;
      if (cls !== undefined) {
        out += inside ? cls : `[${cls}]`;
        i = close;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

/**
 * A splitter running `pattern` (llama.cpp's syntax: `\p{L}`-style classes, ECMAScript
 * otherwise) on the collapsed text. Patterns without `\p{…}` run there too: llama.cpp
 * would run them on the raw code points, which gives the same pieces for the only such
 * pattern we accept (`[0-9][0-9][0-9]`), since collapsing keeps every ASCII character.
 */
export function regexSplitter(pattern: string): Splitter {
  const re = new RegExp(collapsePattern(pattern), 'g');
  return (t, start, end, out) => {
    if (t.collapsed === undefined) t.collapsed = collapse(t.cps);
    // The pattern sees only the piece: lookaheads stop at its end, as std::regex_iterator's do.
    const s = t.collapsed.slice(start, end);
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(s); m !== null; m = re.exec(s)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      if (m.index > last) out.push(m.index - last);
      out.push(m[0].length);
      last = m.index + m[0].length;
    }
    if (last < s.length) out.push(s.length - last);
  };
}

/**
 * Splits `text` with the splitters in turn and returns the words (substrings of `text`,
 * lone surrogates already replaced by the caller). An empty text has no words.
 */
export function splitWords(text: string, splitters: readonly Splitter[]): string[] {
  const t: SplitText = { cps: codePoints(text) };
  const n = t.cps.length;
  let pieces: number[] = n > 0 ? [n] : [];
  for (const split of splitters) {
    const next: number[] = [];
    let start = 0;
    for (const len of pieces) {
      split(t, start, start + len, next);
      start += len;
    }
    pieces = next;
  }
  // Code-point offsets back to UTF-16 offsets, to slice the original string.
  const words: string[] = new Array(pieces.length);
  let u = 0;
  let p = 0;
  for (let w = 0; w < pieces.length; w++) {
    const from = u;
    for (let k = 0; k < pieces[w]; k++, p++) u += t.cps[p] > 0xffff ? 2 : 1;
    words[w] = text.slice(from, u);
  }
  return words;
}
