/**
 * The work queue of the merge loops: a binary max-heap of candidate merges in two flat
 * Float64Arrays, so a 4 MB text's millions of candidates cost no object each.
 *
 * llama.cpp orders candidates by priority (the SPM token score, or the BPE merge rank,
 * lowest first), then by position (leftmost first). Both fit one number: {@link mergeKey}
 * packs a priority level and the left symbol index so that a larger key means "merge
 * first". Stale entries stay in the heap; the merge loops skip them when popped.
 */

const LEFT_SPAN = 2 ** 32;

/**
 * The heap key of a candidate: `level` (0 ≤ level < 2^21, higher merges first) and the
 * index of its left symbol (< 2^32, smaller merges first on equal levels).
 */
export function mergeKey(level: number, left: number): number {
  return level * LEFT_SPAN + (LEFT_SPAN - 1 - left);
}

/** The left symbol index of a key made by {@link mergeKey}. */
export function keyLeft(key: number): number {
  return LEFT_SPAN - 1 - (key % LEFT_SPAN);
}

/** Max-heap of (key, payload) numbers. */
export class MergeHeap {
  private keys = new Float64Array(1024);
  private payloads = new Float64Array(1024);
  private n = 0;

  /** Key and payload of the entry last returned by {@link pop}. */
  key = 0;
  payload = 0;

  /** Empties the heap, keeping its storage. */
  clear(): void {
    this.n = 0;
  }

  private reserve(n: number): void {
    if (n <= this.keys.length) return;
    const cap = Math.max(n, this.keys.length * 2);
    const k = new Float64Array(cap);
    k.set(this.keys.subarray(0, this.n));
    const p = new Float64Array(cap);
    p.set(this.payloads.subarray(0, this.n));
    this.keys = k;
    this.payloads = p;
  }

  /** Appends without restoring heap order: call {@link heapify} before popping. */
  append(key: number, payload: number): void {
    this.reserve(this.n + 1);
    this.keys[this.n] = key;
    this.payloads[this.n++] = payload;
  }

  /** Restores heap order after {@link append}s, in linear time. */
  heapify(): void {
    for (let i = (this.n >> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** Adds an entry. */
  push(key: number, payload: number): void {
    this.reserve(this.n + 1);
    const keys = this.keys;
    const pays = this.payloads;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] >= key) break;
      keys[i] = keys[parent];
      pays[i] = pays[parent];
      i = parent;
    }
    keys[i] = key;
    pays[i] = payload;
  }

  /** Removes the largest entry into {@link key}/{@link payload}; false when empty. */
  pop(): boolean {
    if (this.n === 0) return false;
    this.key = this.keys[0];
    this.payload = this.payloads[0];
    const last = --this.n;
    if (last > 0) {
      this.keys[0] = this.keys[last];
      this.payloads[0] = this.payloads[last];
      this.down(0);
    }
    return true;
  }

  private down(i: number): void {
    const keys = this.keys;
    const pays = this.payloads;
    const n = this.n;
    const key = keys[i];
    const pay = pays[i];
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] > keys[c]) c++;
      if (keys[c] <= key) break;
      keys[i] = keys[c];
      pays[i] = pays[c];
      i = c;
    }
    keys[i] = key;
    pays[i] = pay;
  }
}
