/**
 * {@link SyncStorage} on IndexedDB (browser; via `idb`).
 *
 * One object store, `sync-deltas`, holds the encoded deltas of every log in the
 * database, keyed by `[name, author, seq]`; `name` (e.g. `${clusterId}/${nodeId}`)
 * separates the logs of several replicas sharing a database. An append is one
 * read-write transaction with `durability: 'strict'` by default, and resolves on
 * the transaction's `complete` event: the delta is on disk when the replica acks.
 *
 * Like the identity store, this module never assumes it owns the database schema:
 * it opens the current version and, only if its store is missing, re-opens one
 * version higher to add it. Its connection closes itself on `versionchange`
 * (another module upgrading) and re-opens on the next call.
 */
import type { IDBPDatabase } from 'idb';
import { openWithStore } from '../crypto/idb-open.js';
import { KpcError } from '../errors.js';
import { decodeStoredDelta, encodeDelta } from './delta.js';
import type { SyncStorage } from './storage.js';
import type { Delta } from './types.js';

/** The object store holding encoded deltas, keyed by `[name, author, seq]`. */
export const SYNC_DELTA_STORE = 'sync-deltas';

/** Where an {@link IndexedDbStorage} keeps its log. */
export interface IndexedDbStorageOptions {
  /** IndexedDB database name. Default `'kpc'` (shared with the identity store). */
  dbName?: string;
  /** Log name inside the database, e.g. `${clusterId}/${nodeId}`. Non-empty. */
  name: string;
  /**
   * Transaction durability of appends. Default `'strict'`: flushed to disk before
   * `complete`, which is what an ack promises. `'relaxed'` is faster and survives a
   * tab crash but maybe not an OS crash or power loss.
   */
  durability?: 'strict' | 'relaxed';
}

function storageError(message: string, err?: unknown): KpcError {
  return new KpcError('SYNC_STORAGE_FAILED', err === undefined ? message : `${message}: ${String(err)}`, {
    cause: err,
  });
}

/** Opens `dbName` with the delta store present, adding the store if needed. */
async function openSyncDb(dbName: string, onBlocking: () => void): Promise<IDBPDatabase> {
  // Another module may race to add its own store to the same database.
  const db = await openWithStore(dbName, SYNC_DELTA_STORE, { blocking: onBlocking, terminated: onBlocking });
  if (!db) throw storageError(`could not create the ${SYNC_DELTA_STORE} store in database ${dbName}`);
  return db;
}

/**
 * A persistent delta log in IndexedDB.
 *
 * @example
 * const storage = new IndexedDbStorage({ name: `${clusterId}/${identity.nodeId}` });
 * const replica = await Replica.open({ identity, storage });
 */
export class IndexedDbStorage implements SyncStorage {
  readonly #dbName: string;
  readonly #name: string;
  readonly #durability: 'strict' | 'relaxed';
  #db: Promise<IDBPDatabase> | undefined;
  #closed = false;

  /** @throws KpcError `CONFIG_INVALID` for an empty `name` or `dbName`. */
  constructor(opts: IndexedDbStorageOptions) {
    const dbName = opts?.dbName ?? 'kpc';
    if (typeof dbName !== 'string' || dbName.length === 0) throw new KpcError('CONFIG_INVALID', 'dbName must be a non-empty string');
    if (typeof opts.name !== 'string' || opts.name.length === 0) throw new KpcError('CONFIG_INVALID', 'name must be a non-empty string');
    this.#dbName = dbName;
    this.#name = opts.name;
    this.#durability = opts.durability ?? 'strict';
  }

  /** Every key of this log: `[name]` < `[name, author, seq]` < `[name, []]` (arrays sort after strings). */
  #range(): IDBKeyRange {
    return IDBKeyRange.bound([this.#name], [this.#name, []]);
  }

  async #open(): Promise<IDBPDatabase> {
    if (this.#closed) throw new KpcError('SYNC_CLOSED', 'storage is closed');
    if (!this.#db) {
      const opening = openSyncDb(this.#dbName, () => {
        // Let another module upgrade the schema; re-open lazily on the next call.
        void opening.then((db) => db.close(), () => undefined);
        if (this.#db === opening) this.#db = undefined;
      });
      this.#db = opening;
      opening.catch(() => {
        if (this.#db === opening) this.#db = undefined;
      });
    }
    return this.#db;
  }

  /** Runs `fn`, turning anything but a KpcError into `SYNC_STORAGE_FAILED`. */
  async #guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KpcError) throw err;
      throw storageError(`IndexedDB ${what} failed`, err);
    }
  }

  /** @inheritdoc */
  load(): Promise<Delta[]> {
    return this.#guard('load', async () => {
      const db = await this.#open();
      const records: unknown[] = await db.getAll(SYNC_DELTA_STORE, this.#range());
      return records.map((r) => {
        if (!(r instanceof Uint8Array)) throw new KpcError('SYNC_BAD_DELTA', 'stored delta record is not bytes');
        return decodeStoredDelta(r);
      });
    });
  }

  /** @inheritdoc */
  append(delta: Delta): Promise<void> {
    return this.#guard('append', async () => {
      const bytes = encodeDelta(delta);
      const db = await this.#open();
      const tx = db.transaction(SYNC_DELTA_STORE, 'readwrite', { durability: this.#durability });
      tx.done.catch(() => undefined); // awaited below; avoid an unhandled rejection if put throws first
      await tx.store.put(bytes, [this.#name, delta.author, delta.seq]);
      await tx.done;
    });
  }

  /** @inheritdoc */
  clear(): Promise<void> {
    return this.#guard('clear', async () => {
      const db = await this.#open();
      const tx = db.transaction(SYNC_DELTA_STORE, 'readwrite', { durability: this.#durability });
      tx.done.catch(() => undefined);
      await tx.store.delete(this.#range());
      await tx.done;
    });
  }

  /** @inheritdoc Pending transactions still complete (IndexedDB semantics). */
  close(): void {
    this.#closed = true;
    const db = this.#db;
    this.#db = undefined;
    void db?.then((d) => d.close(), () => undefined);
  }
}
