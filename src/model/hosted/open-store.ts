/**
 * Picks the tensor store for the platform: Cache Storage where the page may use it, so
 * a reload does not download the model again; memory elsewhere (Node, insecure
 * contexts, browsers that refuse storage), so loading still works, only without reuse.
 */
import { CacheStorageTensorStore, type CacheStorageTensorStoreOptions } from './cache-storage-store.js';
import { MemoryTensorStore } from './memory-store.js';
import type { TensorStore } from './tensor-store.js';

/** Options of {@link openTensorStore}: those of the Cache Storage store; the memory fallback uses `maxBytes` and `now`. */
export type OpenTensorStoreOptions = CacheStorageTensorStoreOptions;

/**
 * A {@link CacheStorageTensorStore} when Cache Storage exists (`options.caches` or
 * `globalThis.caches`) and opens, else a {@link MemoryTensorStore} with the same
 * `maxBytes`. Asynchronous because `caches` can exist and still refuse to open (Firefox
 * private windows, sandboxed frames reject with a SecurityError): that is only known by
 * trying. Check `store.kind` to tell the user whether downloads will be kept.
 */
export async function openTensorStore(options: OpenTensorStoreOptions = {}): Promise<TensorStore> {
  const caches = options.caches ?? (globalThis as { caches?: CacheStorage }).caches;
  if (caches) {
    try {
      const store = new CacheStorageTensorStore({ ...options, caches });
      await store.models(); // opens the cache and loads the index: fails here rather than on first use
      return store;
    } catch {
      // Fall through: storage refused, keep working in memory.
    }
  }
  return new MemoryTensorStore({ maxBytes: options.maxBytes, now: options.now });
}

let shared: Promise<TensorStore> | undefined;

/**
 * The page's one tensor store (opened on first use): every node of a page shares it,
 * so four nodes in one tab neither download a tensor twice nor overwrite each other's
 * index.
 */
export function sharedTensorStore(): Promise<TensorStore> {
  return (shared ??= openTensorStore());
}
