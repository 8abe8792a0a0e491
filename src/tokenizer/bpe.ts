/**
 * Byte-level BPE as llama.cpp runs it (llm_tokenizer_bpe_session), for
 * `tokenizer.ggml.model = gpt2`.
 *
 * The text is cut into words by the model's pre-tokenizer; each word's UTF-8 bytes are
 * spelled with GPT-2's printable byte characters; then, inside each word, the adjacent
 * pair with the lowest merge rank (`tokenizer.ggml.merges` order) merges first, ties going
 * to the leftmost pair, until no listed pair remains. Each final symbol is its token; one
 * the vocabulary lacks falls back to single-character tokens for its ASCII characters and
 * drops the rest, as llama.cpp does. With `ignoreMerges` (Llama 3), a word that is a token
 * as a whole is that token.
 */
import { MergeHeap, keyLeft, mergeKey } from './heap.js';
import { splitWords } from './pretokenize.js';
import { byteEncode } from './unicode.js';
import type { Vocab } from './vocab.js';

/** Words are short; the cache of their tokens makes running text ~free after warm-up. */
const CACHE_LIMIT = 50_000;

/** An encoder bound to one vocabulary, with scratch space reused across words. */
export class BpeEncoder {
  private readonly heap = new MergeHeap();
  private start = new Int32Array(64);
  private len = new Int32Array(64);
  private prev = new Int32Array(64);
  private next = new Int32Array(64);
  private readonly cache = new Map<string, readonly number[]>();

  constructor(private readonly vocab: Vocab) {}

  /** Appends the tokens of `text` (one raw-text fragment) to `out`. */
  encode(text: string, out: number[]): void {
    const pre = this.vocab.preTokenizer!;
    for (const raw of splitWords(text, pre.splitters)) {
      const word = byteEncode(raw);
      let ids = this.cache.get(word);
      if (ids === undefined) {
        ids = this.encodeWord(word, pre.ignoreMerges);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  private ensure(n: number): void {
    if (this.start.length >= n) return;
    const cap = Math.max(n, this.start.length * 2);
    this.start = new Int32Array(cap);
    this.len = new Int32Array(cap);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  /** Tokens of one byte-encoded word. */
  private encodeWord(word: string, ignoreMerges: boolean): number[] {
    const { idOf, ranks } = this.vocab;
    if (ignoreMerges) {
      const whole = idOf.get(word);
      if (whole !== undefined) return [whole];
    }
    // Every byte character is one UTF-16 unit (U+0021..U+0143), so symbol i starts at i.
    const n = word.length;
    this.ensure(n);
    const { start, len, prev, next, heap } = this;
    for (let i = 0; i < n; i++) {
      start[i] = i;
      len[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // Key: lower rank first, then leftmost. Payload: right symbol and merged length (a
    // merged symbol is a token, so lengths stay far below 2^21).
    const levels = ranks.size + 1;
    const SIZE = 2 ** 21;
    const tryAdd = (l: number, r: number) => {
      if (l < 0 || r < 0) return;
      const key = word.slice(start[l], start[l] + len[l]) + ' ' + word.slice(start[r], start[r] + len[r]);
      const rank = ranks.get(key);
      if (rank !== undefined) heap.push(mergeKey(levels - rank, l), r * SIZE + len[l] + len[r]);
    };
    heap.clear();
    for (let i = 1; i < n; i++) tryAdd(i - 1, i);
    while (heap.pop()) {
      const l = keyLeft(heap.key);
      const size = heap.payload % SIZE;
      const r = (heap.payload - size) / SIZE;
      // Stale when either side changed since the pair was queued (llama.cpp compares the
      // texts; with contiguous symbols, comparing lengths is the same test).
      if (len[l] === 0 || len[r] === 0 || len[l] + len[r] !== size) continue;
      len[l] += len[r];
      len[r] = 0;
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      tryAdd(prev[l], l);
      tryAdd(l, next[l]);
    }
    const ids: number[] = [];
    for (let i = n > 0 ? 0 : -1; i !== -1; i = next[i]) {
      const sym = word.slice(start[i], start[i] + len[i]);
      const id = idOf.get(sym);
      if (id !== undefined) {
        ids.push(id);
        continue;
      }
      // llama.cpp looks each UTF-8 byte of the symbol up as a one-byte token: only the
      // ASCII byte characters can match; the others are dropped.
      for (let k = 0; k < sym.length; k++) {
        if (sym.charCodeAt(k) >= 0x80) continue;
        const b = idOf.get(sym[k]);
        if (b !== undefined) ids.push(b);
      }
    }
    return ids;
  }
}
