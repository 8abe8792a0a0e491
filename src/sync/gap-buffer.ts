/**
 * Remote deltas that arrived ahead of a gap in their author's sequence, held in
 * memory (never persisted) until the gap fills. Bounded in count and bytes: an
 * overflowing peer gets `SYNC_BUFFER_FULL`, and the delta comes again later through
 * anti-entropy, once the gap is filled.
 */
import { KpcError } from '../errors.js';
import type { Delta } from './types.js';

/** A bounded author → seq → delta map. */
export class GapBuffer {
  readonly #byAuthor = new Map<string, Map<number, { delta: Delta; bytes: number }>>();
  #count = 0;
  #bytes = 0;

  /**
   * @param maxCount most deltas held.
   * @param maxBytes most encoded bytes held.
   */
  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  /** Deltas held. */
  get count(): number {
    return this.#count;
  }

  /** Encoded bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The held delta `seq` of `author`, if any. */
  get(author: string, seq: number): Delta | undefined {
    return this.#byAuthor.get(author)?.get(seq)?.delta;
  }

  /**
   * Holds `delta` (whose encoding takes `bytes`).
   * @throws KpcError `SYNC_BUFFER_FULL` if it would exceed either bound (nothing held).
   */
  add(delta: Delta, bytes: number): void {
    if (this.#count >= this.maxCount || this.#bytes + bytes > this.maxBytes) {
      throw new KpcError('SYNC_BUFFER_FULL', `out-of-order buffer full (${this.#count} deltas, ${this.#bytes} bytes)`, {
        author: delta.author,
        seq: delta.seq,
      });
    }
    let m = this.#byAuthor.get(delta.author);
    if (!m) this.#byAuthor.set(delta.author, (m = new Map()));
    m.set(delta.seq, { delta, bytes });
    this.#count++;
    this.#bytes += bytes;
  }

  /** Removes and returns the held delta `seq` of `author`, if any. */
  take(author: string, seq: number): Delta | undefined {
    const m = this.#byAuthor.get(author);
    const held = m?.get(seq);
    if (!m || !held) return undefined;
    m.delete(seq);
    if (m.size === 0) this.#byAuthor.delete(author);
    this.#count--;
    this.#bytes -= held.bytes;
    return held.delta;
  }
}
