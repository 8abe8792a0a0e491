/**
 * Where a replica keeps its log of deltas: the {@link SyncStorage} contract, and an
 * in-memory backend for tests and the deterministic simulator.
 *
 * The log holds encoded deltas (own and remote) keyed by `(author, seq)`. A replica
 * appends each delta before merging it into memory and acknowledges a local write
 * only once its append resolved, so a backend's `append` must resolve only once the
 * delta would survive a crash. Backends store canonical encodings and hand back
 * decoded deltas; they are trusted (signatures are checked once, on receipt).
 * The IndexedDB backend lives in `./idb-storage.ts` and is re-exported here.
 */
import { KpcError } from '../errors.js';
import { decodeStoredDelta, encodeDelta } from './delta.js';
import type { Delta } from './types.js';

export { IndexedDbStorage, SYNC_DELTA_STORE, type IndexedDbStorageOptions } from './idb-storage.js';

/** A durable, append-only log of deltas. */
export interface SyncStorage {
  /** Every delta appended (and not cleared), in any order. */
  load(): Promise<Delta[]>;
  /**
   * Stores `delta` under `(delta.author, delta.seq)` (replacing an equal key).
   * Resolves only once the delta is durable; rejects if it is not stored.
   */
  append(delta: Delta): Promise<void>;
  /** Removes every delta of this log. */
  clear(): Promise<void>;
  /** Releases resources; later calls fail with `SYNC_CLOSED`. */
  close(): void;
}

/** What a {@link MemoryStorage} durably holds: encoded deltas in append order. */
export type MemorySnapshot = readonly Uint8Array[];

function closedError(): KpcError {
  return new KpcError('SYNC_CLOSED', 'storage is closed');
}

/**
 * A {@link SyncStorage} in memory. An append becomes "durable" some microtask turns
 * after the call (like a real backend, not synchronously), so a {@link snapshot} taken
 * between a write and its acknowledgement shows what a crash at that moment would
 * keep. Simulate crash + restart with `MemoryStorage.fromSnapshot(old.snapshot())`.
 *
 * @example
 * const disk = new MemoryStorage();
 * const replica = await Replica.open({ identity, storage: disk });
 * await replica.put('k', 1);                        // acked: durable
 * const after = MemoryStorage.fromSnapshot(disk.snapshot()); // "reboot"
 */
export class MemoryStorage implements SyncStorage {
  readonly #records = new Map<string, Uint8Array>();
  readonly #latencyTurns: number;
  #closed = false;

  /**
   * @param opts.latencyTurns microtask turns an append takes to become durable
   *   (default 1); larger values widen the window a simulated crash can hit.
   */
  constructor(opts: { latencyTurns?: number } = {}) {
    this.#latencyTurns = Math.max(0, Math.floor(opts.latencyTurns ?? 1));
  }

  /** A storage holding exactly the deltas of `snapshot` (e.g. taken at a simulated crash). */
  static fromSnapshot(snapshot: MemorySnapshot): MemoryStorage {
    const s = new MemoryStorage();
    for (const bytes of snapshot) {
      const d = decodeStoredDelta(bytes);
      s.#records.set(`${d.author}/${d.seq}`, bytes.slice());
    }
    return s;
  }

  /** Copies of the encoded deltas durably stored right now, in append order. Works after close. */
  snapshot(): MemorySnapshot {
    return Array.from(this.#records.values(), (b) => b.slice());
  }

  /** Number of deltas stored. */
  get size(): number {
    return this.#records.size;
  }

  /** @inheritdoc */
  async load(): Promise<Delta[]> {
    if (this.#closed) throw closedError();
    return Array.from(this.#records.values(), (b) => decodeStoredDelta(b));
  }

  /** @inheritdoc */
  async append(delta: Delta): Promise<void> {
    if (this.#closed) throw closedError();
    const bytes = encodeDelta(delta);
    for (let i = 0; i < this.#latencyTurns; i++) await Promise.resolve();
    if (this.#closed) throw closedError();
    this.#records.set(`${delta.author}/${delta.seq}`, bytes);
  }

  /** @inheritdoc */
  async clear(): Promise<void> {
    if (this.#closed) throw closedError();
    this.#records.clear();
  }

  /** @inheritdoc */
  close(): void {
    this.#closed = true;
  }
}
