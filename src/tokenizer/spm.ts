/**
 * SentencePiece BPE as llama.cpp runs it (llm_tokenizer_spm_session).
 *
 * The text (spaces already escaped to `▁`) starts as one symbol per code point. Every
 * pair of neighbours whose concatenation is a vocabulary token is a candidate; the
 * candidate whose token has the highest score merges first, ties going to the leftmost
 * pair; merging creates new candidates with the new neighbours. When no candidate is
 * left, each symbol is its token, or — a single character the vocabulary lacks — its
 * UTF-8 bytes as `<0xNN>` tokens (byte fallback).
 *
 * Unlike sentencepiece itself, any vocabulary entry can be a merge result, control and
 * byte tokens included (sentencepiece only merges into normal and user-defined pieces);
 * a text must spell such a token's text from pieces that exist for that to happen.
 */
import { type MergeHeap, keyLeft, mergeKey } from './heap.js';
import { utf8 } from './unicode.js';
import type { Vocab } from './vocab.js';
import { KpcError } from '../errors.js';

/** Per-vocabulary data of the SPM encoder. */
export interface SpmTables {
  /** Token of each byte value (`<0xNN>`, else a one-character token), or -1. */
  readonly byteToken: Int32Array;
  /** Each token's score as a level: the rank of its score among the distinct scores. */
  readonly level: Int32Array;
  /** UTF-16 length of each token's text. */
  readonly tokenLen: Int32Array;
  /** Merged token of two tokens (key `a * vocabSize + b`), -1 for none; filled as met. */
  readonly pairs: Map<number, number>;
}

/** Precomputes the per-vocabulary tables of `vocab`. */
export function spmTables(vocab: Vocab): SpmTables {
  const byteToken = new Int32Array(256).fill(-1);
  for (let b = 0; b < 256; b++) {
    const hex = `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
    const id = vocab.idOf.get(hex) ?? (b < 0x80 ? vocab.idOf.get(String.fromCharCode(b)) : undefined);
    if (id !== undefined) byteToken[b] = id;
  }
  // Equal scores must stay equal and order must follow the float32 scores exactly, so the
  // level is the index among the sorted distinct values (NaN, never ordered by llama.cpp's
  // comparisons, sorts lowest).
  const n = vocab.texts.length;
  const distinct = [...new Set(Array.from(vocab.scores, (x) => (Number.isNaN(x) ? -Infinity : x)))].sort((a, b) => a - b);
  const levelOf = new Map(distinct.map((v, i) => [v, i]));
  const level = new Int32Array(n);
  const tokenLen = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const sc = vocab.scores[i];
    level[i] = levelOf.get(Number.isNaN(sc) ? -Infinity : sc)!;
    tokenLen[i] = vocab.texts[i].length;
  }
  return { byteToken, level, tokenLen, pairs: new Map() };
}

/** Appends the tokens of `text` (already `▁`-escaped) to `out`. */
export function spmTokenize(text: string, vocab: Vocab, tables: SpmTables, heap: MergeHeap, out: number[]): void {
  // Symbols: a doubly linked list over code points, as UTF-16 [start, start + len), with
  // the token each one is (-1 for a single character the vocabulary lacks).
  let n = 0;
  for (let i = 0; i < text.length; i++, n++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) i++;
  }
  if (n === 0) return;
  const { idOf } = vocab;
  const { level, tokenLen, pairs } = tables;
  const V = vocab.texts.length;
  const start = new Int32Array(n);
  const len = new Int32Array(n);
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const sid = new Int32Array(n);
  for (let i = 0, s = 0; i < n; i++) {
    const c = text.charCodeAt(s);
    const l = c >= 0xd800 && c <= 0xdbff && s + 1 < text.length ? 2 : 1;
    start[i] = s;
    len[i] = l;
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
    sid[i] = idOf.get(l === 1 ? text[s] : text.slice(s, s + 2)) ?? -1;
    s += l;
  }

  // The token spelled by symbols l and r together, or -1. Two tokens' concatenation is
  // looked up once per vocabulary pair; a symbol that is no token needs the text.
  const merged = (l: number, r: number): number => {
    const a = sid[l];
    const b = sid[r];
    if (a < 0 || b < 0) return idOf.get(text.slice(start[l], start[l] + len[l] + len[r])) ?? -1;
    const key = a * V + b;
    let id = pairs.get(key);
    if (id === undefined) {
      id = idOf.get(vocab.texts[a] + vocab.texts[b]) ?? -1;
      pairs.set(key, id);
    }
    return id;
  };
  // Payload: right symbol and merged token, packed in one double (token < 2^21).
  const TOK = 2 ** 21;
  const tryAdd = (l: number, r: number) => {
    if (l < 0 || r < 0) return;
    const id = merged(l, r);
    if (id >= 0) heap.push(mergeKey(level[id], l), r * TOK + id);
  };

  heap.clear();
  for (let i = 1; i < n; i++) {
    const id = merged(i - 1, i);
    if (id >= 0) heap.append(mergeKey(level[id], i - 1), i * TOK + id);
  }
  heap.heapify();
  while (heap.pop()) {
    const l = keyLeft(heap.key);
    const id = heap.payload % TOK;
    const r = (heap.payload - id) / TOK;
    // A candidate is stale once either side merged into something else; lengths tell.
    if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== tokenLen[id]) continue;
    len[l] += len[r];
    len[r] = 0;
    sid[l] = id;
    next[l] = next[r];
    if (next[r] >= 0) prev[next[r]] = l;
    tryAdd(prev[l], l);
    tryAdd(l, next[l]);
  }

  for (let i = 0; i !== -1; i = next[i]) {
    if (sid[i] >= 0) out.push(sid[i]);
    else byteFallback(text.slice(start[i], start[i] + len[i]), vocab, tables, out);
  }
}

/**
 * The tokens of a character the vocabulary lacks: its UTF-8 bytes. Without byte tokens
 * llama.cpp would fail (it looks the byte up with `.at()`); we emit the unknown token for
 * the character instead, as sentencepiece does without byte fallback.
 */
function byteFallback(piece: string, vocab: Vocab, tables: SpmTables, out: number[]): void {
  const bytes = utf8(piece);
  let complete = true;
  for (const b of bytes) if (tables.byteToken[b] < 0) complete = false;
  if (complete) {
    for (const b of bytes) out.push(tables.byteToken[b]);
    return;
  }
  if (vocab.unk === null) {
    throw new KpcError('TOKENIZER_BAD_VOCAB', `no token, byte token or unknown token for '${piece}'`, { piece });
  }
  out.push(vocab.unk);
}
