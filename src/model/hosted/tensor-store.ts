/**
 * Where a node keeps the tensor bytes it downloaded, so a reload (or another model with
 * the same tensors) does not download them again. The interface is what the range
 * loader needs; implementations live beside it (Cache Storage in browsers, memory for
 * Node and tests).
 *
 * Keys are opaque strings chosen by the loader: `sha256:<hex>` for bytes verified
 * against a manifest (content-addressed, so shared across models), else
 * `<modelId>/<tensor name>`. Every entry belongs to one or more models (`model`), which
 * is the unit of least-recently-used eviction.
 */

/** Bytes used and entries held by one model in a store. */
export interface StoredModelUsage {
  /** The model's id (SHA-256 of its GGUF header, hex). */
  readonly modelId: string;
  /** Bytes of its entries. */
  readonly bytes: number;
  /** Entries held. */
  readonly entries: number;
  /** Last time the model was read or written (ms since the epoch). */
  readonly lastUsed: number;
}

/** A persistent (or not) key → bytes store with per-model LRU eviction. */
export interface TensorStore {
  /** A short name for messages and docs (`'cache-storage'`, `'memory'`). */
  readonly kind: string;
  /** The bytes under `key`, or undefined; marks `modelId` as used now. */
  get(key: string, modelId: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `bytes` under `key` for `modelId`. When the browser's quota is exceeded, the
   * least recently used *other* models are evicted whole, oldest first, and the write
   * is retried; when nothing is left to evict it rejects with KpcError
   * `MODEL_STORAGE_FULL` whose detail says how many bytes were needed
   * (`{needed, usage, quota}` where known). A failed put changes nothing.
   */
  put(key: string, bytes: Uint8Array, modelId: string): Promise<void>;
  /** Per-model usage, most recently used first. */
  models(): Promise<StoredModelUsage[]>;
  /** Drops every entry of a model (entries shared with other models stay for them). */
  evict(modelId: string): Promise<void>;
}
