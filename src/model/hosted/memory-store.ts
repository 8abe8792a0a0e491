/**
 * A {@link TensorStore} in memory: for Node (the CLI, the simulator) and tests. Nothing
 * survives the process, but quota and eviction follow the same rules as the browser
 * store, since both run the bookkeeping in ./store-index.ts.
 */
import { IndexedTensorStore, type IndexedStoreOptions, type StoreBackend } from './store-index.js';
import type { TensorStore } from './tensor-store.js';

/** Options of a {@link MemoryTensorStore}. */
export type MemoryTensorStoreOptions = IndexedStoreOptions;

/** Bytes in a Map. Copies go in and out, so a caller writing to its buffer cannot change what is stored. */
class MemoryBackend implements StoreBackend {
  readonly #bytes = new Map<string, Uint8Array>();

  async read(key: string): Promise<Uint8Array | undefined> {
    return this.#bytes.get(key)?.slice();
  }
  async write(key: string, bytes: Uint8Array): Promise<void> {
    this.#bytes.set(key, bytes.slice());
  }
  async delete(key: string): Promise<void> {
    this.#bytes.delete(key);
  }
  async keys(): Promise<string[]> {
    return [...this.#bytes.keys()];
  }
  // The index lives only in the store's memory, like the bytes.
  async loadIndex(): Promise<unknown> {
    return undefined;
  }
  async saveIndex(): Promise<void> {}
  async estimate(): Promise<{ usage?: number; quota?: number }> {
    return {};
  }
}

/**
 * Tensor bytes in memory, with the soft quota `maxBytes` and per-model LRU eviction of
 * every store (`MODEL_STORAGE_FULL` when a put cannot fit even after evicting the others).
 */
export class MemoryTensorStore extends IndexedTensorStore implements TensorStore {
  constructor(options: MemoryTensorStoreOptions = {}) {
    super('memory', new MemoryBackend(), options);
  }
}
