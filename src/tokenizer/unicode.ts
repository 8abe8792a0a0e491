/**
 * Unicode facts the tokenizers need, with llama.cpp's definitions (src/unicode.cpp):
 *
 * - a code point's category flags (letter, number, punctuation, …) — the classes its
 *   pre-tokenizers call `\p{L}`, `\p{N}`, …;
 * - its whitespace set: the 25 code points of the Unicode `White_Space` property. That
 *   is not JavaScript's `\s`, which lacks U+0085 (NEXT LINE) and has U+FEFF (a format
 *   character), so no pattern here uses `\s` on raw text;
 * - UTF-8 helpers, and GPT-2's byte ↔ printable-character map.
 *
 * Categories come from the engine's ICU (`\p{…}` property escapes). llama.cpp's table is
 * generated from Unicode 15.1, so a character assigned later (Unicode 16+) can be a letter
 * here and "undefined" there; nothing older differs.
 */

/** Category bits, one per Unicode general category class (as llama.cpp's `unicode_cpt_flags`). */
export const F_UNDEFINED = 0x01; // Cn: unassigned
export const F_NUMBER = 0x02; // \p{N}
export const F_LETTER = 0x04; // \p{L}
export const F_SEPARATOR = 0x08; // \p{Z}
export const F_MARK = 0x10; // \p{M}
export const F_PUNCTUATION = 0x20; // \p{P}
export const F_SYMBOL = 0x40; // \p{S}
export const F_CONTROL = 0x80; // \p{C} other than Cn
/** Helper flag: member of the `White_Space` property. */
export const F_WHITESPACE = 0x100;

/** The code points of Unicode's White_Space property (llama.cpp's `unicode_set_whitespace`). */
const WHITESPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
  0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
];
const WHITESPACE_SET = new Set(WHITESPACE);

const RE_L = /\p{L}/u;
const RE_N = /\p{N}/u;
const RE_Z = /\p{Z}/u;
const RE_M = /\p{M}/u;
const RE_P = /\p{P}/u;
const RE_S = /\p{S}/u;
const RE_CN = /\p{Cn}/u;

/**
 * Memo of flags, filled on first use: bit 0x8000 marks a computed entry. A 2.2 MB table
 * beats seven regex tests per character on a 4 MB text, and only the code points a text
 * actually uses are ever computed.
 */
let table: Uint16Array | undefined;
const COMPUTED = 0x8000;

function compute(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let f: number;
  if (RE_L.test(ch)) f = F_LETTER;
  else if (RE_N.test(ch)) f = F_NUMBER;
  else if (RE_P.test(ch)) f = F_PUNCTUATION;
  else if (RE_S.test(ch)) f = F_SYMBOL;
  else if (RE_M.test(ch)) f = F_MARK;
  else if (RE_Z.test(ch)) f = F_SEPARATOR;
  else if (RE_CN.test(ch)) f = F_UNDEFINED;
  else f = F_CONTROL; // Cc, Cf, Co, Cs
  if (WHITESPACE_SET.has(cp)) f |= F_WHITESPACE;
  return f;
}

/**
 * Flags of code point `cp`; 0 for anything outside 0..0x10FFFF (llama.cpp's "out of
 * range", which its splitters use as the end-of-text sentinel).
 */
export function cpFlags(cp: number): number {
  if (cp < 0 || cp > 0x10ffff) return 0;
  if (table === undefined) table = new Uint16Array(0x110000);
  const v = table[cp];
  if (v & COMPUTED) return v & ~COMPUTED;
  const f = compute(cp);
  table[cp] = f | COMPUTED;
  return f;
}

/**
 * The code points of `text`. A lone surrogate becomes U+FFFD, as `TextEncoder` does:
 * llama.cpp sees the text's UTF-8, where a lone surrogate cannot exist.
 */
export function codePoints(text: string): Uint32Array {
  const out = new Uint32Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else c = 0xfffd;
    } else if (c >= 0xdc00 && c <= 0xdfff) c = 0xfffd;
    out[n++] = c;
  }
  return out.subarray(0, n);
}

/** `text` with every lone surrogate replaced by U+FFFD (what its UTF-8 encoding means). */
export function wellFormed(text: string): string {
  // Fast path: almost every text has no lone surrogate.
  return /[\ud800-\udfff]/.test(text)
    ? text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    : text;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of `text` (lone surrogates as U+FFFD). */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * GPT-2's byte → character map: printable Latin-1 bytes map to themselves, the other 68
 * (controls, space, soft hyphen, …) to U+0100.. in byte order, so every byte of a text
 * becomes a visible, non-space character that BPE merges can name.
 */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out: string[] = new Array(256);
  const direct = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(direct(b) ? b : 256 + n++);
  return out;
})();

/** Inverse of {@link BYTE_TO_CHAR}: character code → byte, or -1. */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const out = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => (out[ch.charCodeAt(0)] = b));
  return out;
})();

/** The GPT-2 byte-level form of `text`: one mapped character per UTF-8 byte. */
export function byteEncode(text: string): string {
  const bytes = utf8(text);
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}
