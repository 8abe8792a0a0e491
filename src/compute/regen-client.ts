/**
 * RegenWorker: the page-side handle of the regeneration Worker (src/compute/regen.worker.ts).
 *
 * The Worker is built from the bundled source string `virtual:kpc-regen-worker` (the build
 * tooling inlines it), so the single-file `<script>` build needs no second file and no
 * `import.meta.url`. Where `Worker` does not exist (Node), layers are computed in-thread:
 * same function, same bits.
 */
import workerSource from 'virtual:kpc-regen-worker';
import { KpcError, type KpcErrorCode } from '../errors.js';
import { generateLayer, type LayerSpec } from '../math/index.js';
import type { RegenReady, RegenRequest, RegenResponse } from './protocol.js';

interface Pending {
  resolve: (layer: Float32Array) => void;
  reject: (err: unknown) => void;
}

/**
 * Generates layers in a dedicated module Worker.
 *
 * Requests are matched to answers by id, so several may be in flight. If the Worker
 * fails (load error, crash, unreadable message) every pending request rejects with
 * KpcError `COMPUTE_WORKER_FAILED` and the next request starts a fresh Worker (the
 * "reset math engine" step of spec §7 is just that). After {@link RegenWorker.terminate}
 * every request rejects.
 */
export class RegenWorker {
  #worker: Worker | null = null;
  #url: string | null = null;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #terminated = false;

  /** True when layers are computed on the calling thread because `Worker` is unavailable (Node). */
  readonly inThread: boolean = typeof Worker === 'undefined';

  /** Number of requests sent and not yet answered. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Generates one layer (see `generateLayer` in src/math) off the main thread. The
   * returned array owns the buffer the Worker transferred: nothing is copied.
   * @throws KpcError `MATH_INVALID_SHAPE` (bad spec), `COMPUTE_WORKER_FAILED` (Worker died or terminated)
   */
  generateLayer(spec: LayerSpec): Promise<Float32Array> {
    if (this.#terminated) return Promise.reject(new KpcError('COMPUTE_WORKER_FAILED', 'RegenWorker was terminated'));
    if (this.inThread) {
      return new Promise((resolve) => resolve(generateLayer(spec)));
    }
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      const request: RegenRequest = { id, op: 'layer', spec };
      let worker: Worker;
      try {
        worker = this.#start();
        this.#pending.set(id, { resolve, reject });
        worker.postMessage(request);
      } catch (err) {
        // e.g. a spec that cannot be structured-cloned
        this.#pending.delete(id);
        reject(new KpcError('COMPUTE_WORKER_FAILED', `cannot send the request: ${(err as Error)?.message ?? err}`));
      }
    });
  }

  /** Stops the Worker; pending and later requests reject with `COMPUTE_WORKER_FAILED`. */
  terminate(): void {
    this.#terminated = true;
    this.#fail('RegenWorker was terminated');
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
    const worker = new Worker(url, { type: 'module', name: 'kpc-regen' });
    this.#url = url;
    worker.onmessage = (ev: MessageEvent<RegenResponse | RegenReady>) => this.#onMessage(ev.data);
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#fail(`regeneration worker failed: ${ev.message || 'load or runtime error'}`);
    };
    worker.onmessageerror = () => this.#fail('regeneration worker sent an unreadable message');
    this.#worker = worker;
    return worker;
  }

  #onMessage(msg: RegenResponse | RegenReady): void {
    if ('op' in msg) {
      // The module is loaded: the blob URL is no longer needed.
      this.#revoke();
      return;
    }
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if (msg.ok) pending.resolve(new Float32Array(msg.buffer));
    else pending.reject(new KpcError(msg.code as KpcErrorCode, msg.message));
  }

  /** Discards the Worker and rejects everything pending. */
  #fail(message: string): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#revoke();
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new KpcError('COMPUTE_WORKER_FAILED', message));
  }

  #revoke(): void {
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = null;
  }
}
