/**
 * A {@link TensorStore} in the browser's Cache Storage, so a reload finds the tensors it
 * downloaded. Cache Storage rather than IndexedDB: it takes a `Response` body as is (no
 * structured clone of hundreds of megabytes), streams it to disk, and commits each put
 * whole or not at all — which is what "a failed put leaves no partial entry" needs.
 *
 * Every entry is a `Response` under a synthetic URL on the reserved `.invalid` domain
 * (RFC 6761): Cache Storage accepts any http(s) request URL whatever the page's origin,
 * and no such URL can ever be fetched, so an entry is never confused with a real one.
 * The key goes in the query string, not the path: the URL parser folds `.` and `..`
 * path segments (even as `%2E%2E`), so a path form would map some keys onto others.
 */
import { KpcError } from '../../errors.js';
import { IndexedTensorStore, type IndexedStoreOptions, type StoreBackend, type StoreIndexJson } from './store-index.js';
import type { TensorStore } from './tensor-store.js';

/** The cache name used unless another is given; bump the suffix when the entry format changes. */
export const DEFAULT_TENSOR_CACHE = 'kpc-tensors-v1';

const ORIGIN = 'https://kpc.invalid';
/** Where the index (keys, sizes, models, last use) is kept, beside the entries it describes. */
const INDEX_URL = `${ORIGIN}/index.json`;
const ENTRY_PATH = '/t';

/** The request URL of the entry for `key`. */
export function tensorEntryUrl(key: string): string {
  return `${ORIGIN}${ENTRY_PATH}?k=${encodeURIComponent(key)}`;
}

/** Options of a {@link CacheStorageTensorStore}. */
export interface CacheStorageTensorStoreOptions extends IndexedStoreOptions {
  /** The Cache Storage cache to use; default {@link DEFAULT_TENSOR_CACHE}. */
  cacheName?: string;
  /** The CacheStorage to use; default `globalThis.caches` (injectable for tests). */
  caches?: CacheStorage;
  /** Usage and quota for error messages; default `navigator.storage.estimate()` where it exists. */
  estimate?: () => Promise<StorageEstimate>;
}

/** A body the Response constructor takes: it refuses views of a SharedArrayBuffer, so those are copied. */
function body(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : bytes.slice();
}

class CacheBackend implements StoreBackend {
  readonly #caches: CacheStorage;
  readonly #name: string;
  readonly #estimate?: () => Promise<StorageEstimate>;
  #cache?: Promise<Cache>;

  constructor(caches: CacheStorage, name: string, estimate?: () => Promise<StorageEstimate>) {
    this.#caches = caches;
    this.#name = name;
    this.#estimate = estimate;
  }

  /** Opens the cache once; a failure is not remembered, so a later call can succeed. */
  #open(): Promise<Cache> {
    this.#cache ??= this.#caches.open(this.#name).catch((err: unknown) => {
      this.#cache = undefined;
      throw err;
    });
    return this.#cache;
  }

  async read(key: string): Promise<Uint8Array | undefined> {
    const res = await (await this.#open()).match(tensorEntryUrl(key));
    return res ? new Uint8Array(await res.arrayBuffer()) : undefined;
  }

  async write(key: string, bytes: Uint8Array): Promise<void> {
    const res = new Response(body(bytes), { headers: { 'content-type': 'application/octet-stream' } });
    await (await this.#open()).put(tensorEntryUrl(key), res);
  }

  async delete(key: string): Promise<void> {
    await (await this.#open()).delete(tensorEntryUrl(key));
  }

  async keys(): Promise<string[]> {
    const out: string[] = [];
    for (const req of await (await this.#open()).keys()) {
      const url = new URL(req.url);
      const key = url.origin === ORIGIN && url.pathname === ENTRY_PATH ? url.searchParams.get('k') : null;
      if (key !== null) out.push(key);
    }
    return out;
  }

  async loadIndex(): Promise<unknown> {
    const res = await (await this.#open()).match(INDEX_URL);
    // An unreadable index is as good as none: the store starts empty and the load deletes the unindexed bytes.
    return res ? res.json().catch(() => undefined) : undefined;
  }

  async saveIndex(json: StoreIndexJson): Promise<void> {
    const res = new Response(JSON.stringify(json), { headers: { 'content-type': 'application/json' } });
    await (await this.#open()).put(INDEX_URL, res);
  }

  async estimate(): Promise<{ usage?: number; quota?: number }> {
    if (this.#estimate) return this.#estimate();
    // Absent in Node and in insecure contexts, whatever the DOM typings say.
    const storage = (globalThis as { navigator?: { storage?: StorageManager } }).navigator?.storage;
    return typeof storage?.estimate === 'function' ? storage.estimate() : {};
  }
}

/**
 * Tensor bytes in Cache Storage (kind `'cache-storage'`), surviving reloads, with a soft
 * quota `maxBytes` on top of the browser's own and per-model LRU eviction: on a
 * `QuotaExceededError` from the browser, or when `maxBytes` would be passed, the least
 * recently used other models go first. Needs a secure context (`caches` is undefined
 * elsewhere): {@link openTensorStore} falls back to memory there.
 */
export class CacheStorageTensorStore extends IndexedTensorStore implements TensorStore {
  /** The Cache Storage cache holding the entries and the index. */
  readonly cacheName: string;

  constructor(options: CacheStorageTensorStoreOptions = {}) {
    const caches = options.caches ?? (globalThis as { caches?: CacheStorage }).caches;
    if (!caches) {
      throw new KpcError(
        'CONFIG_INVALID',
        'Cache Storage is not available here (it needs a secure context: https or localhost); use openTensorStore() to fall back to memory',
      );
    }
    const cacheName = options.cacheName ?? DEFAULT_TENSOR_CACHE;
    super('cache-storage', new CacheBackend(caches, cacheName, options.estimate), options);
    this.cacheName = cacheName;
  }
}
