/**
 * What every {@link TensorStore} shares: the index (which keys belong to which models,
 * their sizes, when each model was last used) and the put/get/evict logic over it — the
 * soft quota, least-recently-used eviction by model, `MODEL_STORAGE_FULL`. The Cache
 * Storage and memory stores differ only in where the bytes go (a {@link StoreBackend}),
 * so the eviction rules cannot drift apart between the browser and Node.
 */
import { KpcError } from '../../errors.js';
import type { StoredModelUsage, TensorStore } from './tensor-store.js';

/** Version of the persisted index; an index of another version is ignored (its bytes are re-downloaded). */
const INDEX_VERSION = 1;
/** Keys of this form name their bytes (tensor-store.ts): a second put of the same size needs no rewrite. */
const CONTENT_ADDRESSED = 'sha256:';

/** The index as persisted (JSON). */
export interface StoreIndexJson {
  readonly v: number;
  /** The last use sequence number handed out; orders models when clocks tie or step back. */
  readonly seq: number;
  readonly entries: Record<string, { readonly bytes: number; readonly models: readonly string[] }>;
  readonly models: Record<string, { readonly lastUsed: number; readonly seq: number }>;
}

interface Entry { bytes: number; models: Set<string> }
interface ModelInfo { lastUsed: number; seq: number; keys: Set<string> }

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * Pure bookkeeping: entries (key → size, referencing models) and models (keys, last use).
 * Invariant: every model holds at least one key and every entry at least one model, so
 * an entry is deleted exactly when its last model lets go of it.
 */
export class StoreIndex {
  readonly #entries = new Map<string, Entry>();
  readonly #models = new Map<string, ModelInfo>();
  #seq = 0;
  #total = 0;

  /** Rebuilds an index from its JSON; anything malformed is dropped rather than trusted (`get` re-checks sizes anyway). */
  static fromJSON(json: unknown): StoreIndex {
    const index = new StoreIndex();
    if (!isRecord(json) || json.v !== INDEX_VERSION || !isRecord(json.entries) || !isRecord(json.models)) return index;
    index.#seq = isCount(json.seq) ? json.seq : 0;
    for (const [id, m] of Object.entries(json.models)) {
      if (!isRecord(m) || !isCount(m.seq) || typeof m.lastUsed !== 'number' || !Number.isFinite(m.lastUsed)) continue;
      index.#models.set(id, { lastUsed: m.lastUsed, seq: m.seq, keys: new Set() });
      index.#seq = Math.max(index.#seq, m.seq);
    }
    for (const [key, e] of Object.entries(json.entries)) {
      if (!isRecord(e) || !isCount(e.bytes) || !Array.isArray(e.models)) continue;
      const models = e.models.filter((id): id is string => typeof id === 'string' && index.#models.has(id));
      if (models.length === 0) continue;
      index.#entries.set(key, { bytes: e.bytes, models: new Set(models) });
      index.#total += e.bytes;
      for (const id of models) index.#models.get(id)?.keys.add(key);
    }
    for (const [id, m] of index.#models) if (m.keys.size === 0) index.#models.delete(id);
    return index;
  }

  /** The JSON to persist. */
  toJSON(): StoreIndexJson {
    const entries: Record<string, { bytes: number; models: string[] }> = {};
    for (const [key, e] of this.#entries) entries[key] = { bytes: e.bytes, models: [...e.models] };
    const models: Record<string, { lastUsed: number; seq: number }> = {};
    for (const [id, m] of this.#models) models[id] = { lastUsed: m.lastUsed, seq: m.seq };
    return { v: INDEX_VERSION, seq: this.#seq, entries, models };
  }

  /** An independent copy, to plan evictions on or to roll back to. */
  clone(): StoreIndex {
    return StoreIndex.fromJSON(this.toJSON());
  }

  /** Bytes of all entries, each counted once however many models share it. */
  get totalBytes(): number {
    return this.#total;
  }

  /** The recorded size of `key`, or undefined when it is not held. */
  size(key: string): number | undefined {
    return this.#entries.get(key)?.bytes;
  }

  /** Every key held. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /** Marks a known model as used at `now`; false (and no change) for a model with no entries. */
  touch(modelId: string, now: number): boolean {
    const m = this.#models.get(modelId);
    if (!m) return false;
    m.lastUsed = now;
    m.seq = ++this.#seq;
    return true;
  }

  /** Records `key` (of `bytes` bytes) as held for `modelId`, replacing its size, and marks the model used. */
  add(key: string, bytes: number, modelId: string, now: number): void {
    const e = this.#entries.get(key);
    if (e) {
      this.#total += bytes - e.bytes;
      e.bytes = bytes;
      e.models.add(modelId);
    } else {
      this.#entries.set(key, { bytes, models: new Set([modelId]) });
      this.#total += bytes;
    }
    let m = this.#models.get(modelId);
    if (!m) this.#models.set(modelId, (m = { lastUsed: now, seq: 0, keys: new Set() }));
    m.keys.add(key);
    this.touch(modelId, now);
  }

  /** Forgets `key` for every model (its bytes are gone or wrong). */
  removeKey(key: string): void {
    const e = this.#entries.get(key);
    if (!e) return;
    this.#entries.delete(key);
    this.#total -= e.bytes;
    for (const id of e.models) {
      const m = this.#models.get(id);
      m?.keys.delete(key);
      if (m?.keys.size === 0) this.#models.delete(id);
    }
  }

  /** Forgets a model; returns the keys no other model references, whose bytes must now be deleted. */
  removeModel(modelId: string): string[] {
    const m = this.#models.get(modelId);
    if (!m) return [];
    this.#models.delete(modelId);
    const orphaned: string[] = [];
    for (const key of m.keys) {
      const e = this.#entries.get(key);
      if (!e) continue;
      e.models.delete(modelId);
      if (e.models.size > 0) continue;
      this.#entries.delete(key);
      this.#total -= e.bytes;
      orphaned.push(key);
    }
    return orphaned;
  }

  /** Models other than `modelId`, least recently used first: the eviction order. */
  lruOthers(modelId: string): string[] {
    return [...this.#models].filter(([id]) => id !== modelId).sort((a, b) => a[1].seq - b[1].seq).map(([id]) => id);
  }

  /** Per-model usage, most recently used first (shared entries count for each of their models). */
  usage(): StoredModelUsage[] {
    return [...this.#models].sort((a, b) => b[1].seq - a[1].seq).map(([modelId, m]) => {
      let bytes = 0;
      for (const key of m.keys) bytes += this.#entries.get(key)?.bytes ?? 0;
      return { modelId, bytes, entries: m.keys.size, lastUsed: m.lastUsed };
    });
  }

  /** Total bytes once `key` holds `bytes` bytes. */
  totalAfterPut(key: string, bytes: number): number {
    return this.#total - (this.size(key) ?? 0) + bytes;
  }
}

/** Where a store keeps its bytes and its index: the only part that differs between stores. */
export interface StoreBackend {
  /** The bytes under `key`, or undefined. */
  read(key: string): Promise<Uint8Array | undefined>;
  /** Stores `bytes` under `key`, all or nothing; a full storage rejects with a `QuotaExceededError`. */
  write(key: string, bytes: Uint8Array): Promise<void>;
  /** Deletes `key` (no error when absent). */
  delete(key: string): Promise<void>;
  /** Every key holding bytes, to reconcile with the index after a crash between the two writes. */
  keys(): Promise<string[]>;
  /** The persisted index JSON, or undefined (none, unreadable, or not persisted at all). */
  loadIndex(): Promise<unknown>;
  /** Persists the index. */
  saveIndex(json: StoreIndexJson): Promise<void>;
  /** The origin's usage and quota where the platform tells them (for error messages). */
  estimate(): Promise<{ usage?: number; quota?: number }>;
}

/** Options shared by every store. */
export interface IndexedStoreOptions {
  /** A soft quota on the bytes of all entries, enforced by the store itself; default unlimited. */
  maxBytes?: number;
  /** The clock for `lastUsed` (ms since the epoch); default `Date.now`. */
  now?: () => number;
}

/** True for the error a storage API throws when the origin's quota is exhausted. */
export function isQuotaError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'QuotaExceededError';
}

// Megabytes as people read them; small sizes keep enough digits not to print as 0.0.
const mb = (n: number): string => `${(n / 1e6).toFixed(n < 1e5 ? 3 : 1)} MB`;

/**
 * A {@link TensorStore} over a {@link StoreBackend}. Puts and evictions run one at a time
 * (quota arithmetic and rollback need a stable index); gets read concurrently. The index
 * is written after each change through one promise chain, so an older snapshot never
 * lands after a newer one.
 */
export class IndexedTensorStore implements TensorStore {
  /** A short name for messages and docs. */
  readonly kind: string;
  /** The soft quota in bytes (`Infinity` when unlimited). */
  readonly maxBytes: number;
  readonly #backend: StoreBackend;
  readonly #now: () => number;
  #index = new StoreIndex();
  #ready?: Promise<void>;
  #lock: Promise<void> = Promise.resolve();
  #saveChain: Promise<void> = Promise.resolve();
  #savePending = false;

  constructor(kind: string, backend: StoreBackend, options: IndexedStoreOptions = {}) {
    const maxBytes = options.maxBytes ?? Infinity;
    if (typeof maxBytes !== 'number' || Number.isNaN(maxBytes) || maxBytes < 0) throw new KpcError('CONFIG_INVALID', `maxBytes must be a non-negative number, got ${String(maxBytes)}`, { maxBytes });
    this.kind = kind;
    this.maxBytes = maxBytes;
    this.#backend = backend;
    this.#now = options.now ?? Date.now;
  }

  /** The bytes under `key`, or undefined (also when the stored bytes do not have the recorded length). */
  async get(key: string, modelId: string): Promise<Uint8Array | undefined> {
    await this.#load();
    const size = this.#index.size(key);
    let bytes = size === undefined ? undefined : await this.#backend.read(key);
    if (size !== undefined && bytes?.byteLength !== size) bytes = await this.#exclusive(() => this.#recheck(key));
    if (this.#index.touch(modelId, this.#now())) {
      // Recency only steers eviction: not worth failing (or delaying) a read over.
      this.#save().catch(() => {});
    }
    return bytes;
  }

  /** Stores `bytes` under `key` for `modelId`, evicting least recently used other models when full. */
  put(key: string, bytes: Uint8Array, modelId: string): Promise<void> {
    if (typeof key !== 'string' || key === '' || typeof modelId !== 'string' || modelId === '' || !(bytes instanceof Uint8Array)) {
      return Promise.reject(new KpcError('CONFIG_INVALID', 'put needs a non-empty key, a Uint8Array and a non-empty model id', { key, modelId }));
    }
    return this.#exclusive(async () => {
      await this.#load();
      const size = bytes.byteLength;
      await this.#makeRoom(key, size, modelId);
      for (;;) {
        const before = this.#index.clone();
        const old = before.size(key);
        let written = false;
        try {
          // A content-addressed key already held at this size holds these very bytes: only add the reference.
          if (!(old === size && key.startsWith(CONTENT_ADDRESSED))) {
            await this.#backend.write(key, bytes);
            written = true;
          }
          this.#index.add(key, size, modelId, this.#now());
          await this.#save();
          return;
        } catch (err) {
          this.#index = before;
          // Leave no bytes the index does not describe: a new key goes; replaced bytes cannot be restored, so they go too.
          if (old === undefined || written) {
            this.#index.removeKey(key);
            await this.#backend.delete(key).catch(() => {});
            if (old !== undefined) await this.#save().catch(() => {});
          }
          if (!isQuotaError(err)) throw err;
          const victim = this.#index.lruOthers(modelId)[0];
          if (victim === undefined) throw await this.#quotaFull(size);
          await this.#evictNow(victim);
        }
      }
    });
  }

  /** Per-model usage, most recently used first. */
  async models(): Promise<StoredModelUsage[]> {
    await this.#load();
    return this.#index.usage();
  }

  /** Drops every entry of a model; entries shared with other models stay for them. */
  evict(modelId: string): Promise<void> {
    return this.#exclusive(async () => {
      await this.#load();
      await this.#evictNow(modelId);
    });
  }

  /** Bytes of all entries, shared entries counted once (what `maxBytes` limits). */
  async totalBytes(): Promise<number> {
    await this.#load();
    return this.#index.totalBytes;
  }

  /** Resolves once every index write scheduled so far has landed; rejects if the last one failed. */
  flush(): Promise<void> {
    return this.#saveChain;
  }

  /** Runs `fn` after every earlier exclusive operation, whatever their outcome. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn);
    const settled = (): void => {};
    this.#lock = run.then(settled, settled);
    return run;
  }

  /** Loads the index once, dropping what the backend no longer holds and deleting bytes the index never recorded. */
  #load(): Promise<void> {
    this.#ready ??= (async () => {
      const index = StoreIndex.fromJSON(await this.#backend.loadIndex());
      const held = new Set(await this.#backend.keys());
      const missing = index.keys().filter((key) => !held.has(key));
      for (const key of missing) index.removeKey(key);
      // Bytes written just before a crash, whose index write never landed.
      for (const key of held) if (index.size(key) === undefined) await this.#backend.delete(key);
      this.#index = index;
      if (missing.length > 0) await this.#save();
    })().catch((err: unknown) => {
      this.#ready = undefined; // let the next call try again
      throw err;
    });
    return this.#ready;
  }

  /** Schedules an index write; calls made while one is waiting share it (it snapshots when it starts). */
  #save(): Promise<void> {
    if (this.#savePending) return this.#saveChain;
    this.#savePending = true;
    this.#saveChain = this.#saveChain.catch(() => {}).then(() => {
      this.#savePending = false;
      return this.#backend.saveIndex(this.#index.toJSON());
    });
    return this.#saveChain;
  }

  /** Under the lock: the bytes of `key` if they now match the index, else drops the key everywhere. */
  async #recheck(key: string): Promise<Uint8Array | undefined> {
    const size = this.#index.size(key);
    if (size === undefined) return undefined;
    const bytes = await this.#backend.read(key);
    if (bytes?.byteLength === size) return bytes;
    this.#index.removeKey(key);
    // A failed delete leaves bytes the index no longer names: the next load deletes them.
    await this.#backend.delete(key).catch(() => {});
    await this.#save().catch(() => {});
    return undefined;
  }

  /** Evicts one model now: its unshared bytes first, then the index (a crash in between leaves only stale index rows, dropped at load). */
  async #evictNow(modelId: string): Promise<void> {
    const keys = this.#index.removeModel(modelId);
    for (const key of keys) await this.#backend.delete(key);
    await this.#save();
  }

  /** Enforces `maxBytes`: plans evictions on a copy first, so a put that cannot fit evicts nothing. */
  async #makeRoom(key: string, size: number, modelId: string): Promise<void> {
    if (this.#index.totalAfterPut(key, size) <= this.maxBytes) return;
    const plan = this.#index.clone();
    const victims: string[] = [];
    for (const id of this.#index.lruOthers(modelId)) {
      if (plan.totalAfterPut(key, size) <= this.maxBytes) break;
      plan.removeModel(id);
      victims.push(id);
    }
    if (plan.totalAfterPut(key, size) > this.maxBytes) {
      const available = mb(Math.max(0, this.maxBytes - plan.totalAfterPut(key, 0)));
      const message = `Not enough room to keep this model's tensors: ${mb(size)} needed, ${available} available under the ` +
        `${mb(this.maxBytes)} storage limit even after evicting every other model. Raise maxBytes or use a smaller model.`;
      throw new KpcError('MODEL_STORAGE_FULL', message, { needed: size, usage: this.#index.totalBytes, quota: this.maxBytes });
    }
    for (const id of victims) await this.#evictNow(id);
  }

  /** The error for a browser quota that still refuses the write with nothing left to evict. */
  async #quotaFull(size: number): Promise<KpcError> {
    const { usage, quota } = await this.#backend.estimate().catch(() => ({}) as { usage?: number; quota?: number });
    const known = usage !== undefined && quota !== undefined;
    const available = known ? `${mb(Math.max(0, quota - usage))} available (${mb(usage)} used of ${mb(quota)})` : 'the browser does not say how much is available';
    const message = `The browser's storage quota is full: ${mb(size)} needed, ${available}, and no other model is left to evict. ` +
      'Free site storage in the browser settings or use a smaller model.';
    return new KpcError('MODEL_STORAGE_FULL', message, { needed: size, usage, quota });
  }
}
