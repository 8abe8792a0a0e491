/**
 * PowSolver: solves proof-of-π puzzles in a dedicated Worker, with progress events,
 * and falls back to the calling thread where no Worker can run.
 *
 * **How the Worker is built (no bundler step).** The nonce search is the
 * self-contained function {@link createPowKernel} (kernel.ts) and the message loop is
 * the self-contained function `powWorkerMain` below. The Worker's script is just
 * `(powWorkerMain)(self, createPowKernel)` assembled from their `toString()` text
 * into a Blob and started as a *classic* Worker. So it needs no virtual module, no
 * build-tool plugin and no second file, works the same in the rollup bundles, web-test-
 * runner, Storybook and the benchmark, and the code running in the Worker is the very
 * function the Node tests exercise in-thread. The page computes the puzzle (π digits
 * and prefix); the Worker only hashes.
 *
 * Toolchains must leave those bodies self-contained. Plain transpiling and minifying
 * (esbuild, terser) do; esbuild's `keepNames` would wrap *named local functions* in a
 * helper call, so the kernel has none (its helpers are object methods); checked with
 * esbuild ± minify ± keepNames and terser. Coverage instrumentation would still insert
 * outside counters. If the Worker cannot start, throws or dies for any such reason
 * (or there is no `Worker`, as in Node, or a CSP forbids `blob:` workers), or answers a
 * nonce that does not check out, the solve continues in-thread
 * through {@link solveProof}, which yields to the event loop between chunks.
 * @packageDocumentation
 */
import { KpcError } from '../errors.js';
import { createPowKernel } from './kernel.js';
import { POW_VERSION, type PowProof } from './codec.js';
import { nonceZeros, preparePuzzle, solveProof, type PowProgress, type SolveParams } from './proof.js';

/** Messages from the Worker. */
type FromWorker =
  | { op: 'ready' }
  | { op: 'progress'; id: number; attempts: number }
  | { op: 'done'; id: number; nonce: number }
  | { op: 'error'; id: number; message: string };

/** Message to the Worker. */
interface SolveRequest {
  op: 'solve';
  id: number;
  prefix: Uint8Array;
  difficulty: number;
  chunk: number;
}

interface WorkerScope {
  onmessage: ((ev: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

/**
 * The Worker's whole program. Self-contained (its source text is shipped), so it
 * may use nothing but its parameters and standard globals.
 */
function powWorkerMain(scope: WorkerScope, makeKernel: typeof createPowKernel): void {
  const kernel = makeKernel();
  scope.onmessage = (ev: MessageEvent) => {
    const m = ev.data as SolveRequest;
    if (!m || m.op !== 'solve') return;
    try {
      for (let start = 0; start <= Number.MAX_SAFE_INTEGER; ) {
        const count = Math.min(m.chunk, Number.MAX_SAFE_INTEGER - start + 1);
        const nonce = kernel.search(m.prefix, m.difficulty, start, count);
        if (nonce >= 0) {
          scope.postMessage({ op: 'done', id: m.id, nonce });
          return;
        }
        start += count;
        scope.postMessage({ op: 'progress', id: m.id, attempts: start });
      }
      scope.postMessage({ op: 'error', id: m.id, message: 'nonce space exhausted' });
    } catch (err) {
      scope.postMessage({ op: 'error', id: m.id, message: String((err as Error)?.message ?? err) });
    }
  };
  scope.postMessage({ op: 'ready' });
}

/** The classic-Worker script: both self-contained functions, then the call. */
export const POW_WORKER_SOURCE = `"use strict";(${powWorkerMain.toString()})(self, ${createPowKernel.toString()});`;

/** Options of {@link PowSolver}. */
export interface PowSolverOptions {
  /** Hashes between progress events in the Worker; default 32768 (~10 ms). */
  chunk?: number;
  /** Set false to always solve in-thread (tests, environments without Worker). */
  useWorker?: boolean;
}

interface Running {
  id: number;
  prefix: Uint8Array;
  difficulty: number;
  resolve: (nonce: number) => void;
  reject: (err: unknown) => void;
  progress: (attempts: number) => void;
}

/**
 * Solves proof-of-π puzzles off the main thread. One solve runs at a time; later
 * calls wait their turn. Aborting a running solve terminates its Worker (a tight
 * hash loop cannot be interrupted otherwise); the next solve starts a fresh one.
 */
export class PowSolver {
  /** Called with every progress report of every solve (in addition to `params.onProgress`). */
  onprogress: ((progress: PowProgress) => void) | null = null;

  #chunk: number;
  #workerBroken: boolean;
  #worker: Worker | null = null;
  #url: string | null = null;
  #running: Running | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #terminated = false;
  #inThreadAbort: AbortController | null = null;

  constructor(options: PowSolverOptions = {}) {
    const chunk = options.chunk ?? 32768;
    if (!Number.isSafeInteger(chunk) || chunk < 1) throw new KpcError('POW_BAD_PARAMS', 'chunk must be a positive integer');
    this.#chunk = chunk;
    this.#workerBroken = options.useWorker === false || typeof Worker === 'undefined';
  }

  /** True when solves run on the calling thread (no Worker, or it failed to run). */
  get inThread(): boolean {
    return this.#workerBroken;
  }

  /**
   * Finds a proof for `params` (see {@link solveProof}; `chunk` there only applies in-thread).
   * @throws KpcError `POW_BAD_PARAMS`, `POW_ABORTED` (signal or {@link PowSolver.terminate})
   */
  solve(params: SolveParams): Promise<PowProof> {
    const run = this.#queue.then(() => this.#solveNow(params));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Stops the Worker; running and queued solves reject with `POW_ABORTED`. */
  terminate(): void {
    this.#terminated = true;
    this.#inThreadAbort?.abort();
    this.#stopWorker();
  }

  async #solveNow(params: SolveParams): Promise<PowProof> {
    if (this.#terminated || params.signal?.aborted) throw aborted();
    const report = (p: PowProgress) => {
      params.onProgress?.(p);
      this.onprogress?.(p);
    };
    if (!this.#workerBroken) {
      const { prefix, difficulty } = preparePuzzle(params);
      const expectedAttempts = 2 ** difficulty;
      try {
        const nonce = await this.#solveInWorker(prefix, difficulty, params.signal, (attempts) =>
          report({ attempts, difficulty, expectedAttempts }),
        );
        report({ attempts: nonce + 1, difficulty, expectedAttempts });
        const { publicKey, clusterId, epoch } = params;
        return { version: POW_VERSION, publicKey: Uint8Array.from(publicKey), clusterId, epoch, difficulty, nonce };
      } catch (err) {
        if (!(err instanceof WorkerUnavailable)) throw err;
        this.#workerBroken = true; // fall through: solve in-thread from scratch
      }
    }
    // In-thread: abort on the caller's signal or on terminate().
    const ctrl = new AbortController();
    const forward = () => ctrl.abort();
    params.signal?.addEventListener('abort', forward, { once: true });
    this.#inThreadAbort = ctrl;
    try {
      return await solveProof({ ...params, signal: ctrl.signal, onProgress: report });
    } finally {
      params.signal?.removeEventListener('abort', forward);
      this.#inThreadAbort = null;
    }
  }

  #solveInWorker(prefix: Uint8Array, difficulty: number, signal: AbortSignal | undefined, progress: (n: number) => void): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = this.#startWorker();
      } catch {
        reject(new WorkerUnavailable());
        return;
      }
      const cleanup = () => {
        signal?.removeEventListener('abort', onAbort);
        if (this.#running === running) this.#running = null;
      };
      const id = this.#nextId++;
      const running: Running = {
        id,
        prefix,
        difficulty,
        progress,
        resolve: (n) => (cleanup(), resolve(n)),
        reject: (e) => (cleanup(), reject(e)),
      };
      // A Worker busy hashing cannot read a "stop" message: terminate it instead.
      const onAbort = () => {
        this.#stopWorker();
        running.reject(aborted());
      };
      this.#running = running;
      signal?.addEventListener('abort', onAbort, { once: true });
      const request: SolveRequest = { op: 'solve', id, prefix, difficulty, chunk: this.#chunk };
      worker.postMessage(request);
    });
  }

  #startWorker(): Worker {
    if (this.#worker) return this.#worker;
    const url = URL.createObjectURL(new Blob([POW_WORKER_SOURCE], { type: 'text/javascript' }));
    this.#url = url;
    let worker: Worker;
    try {
      worker = new Worker(url, { name: 'kpc-pow' });
    } catch (err) {
      this.#revoke();
      throw err;
    }
    worker.onmessage = (ev: MessageEvent<FromWorker>) => this.#onMessage(ev.data);
    worker.onerror = (ev: ErrorEvent) => {
      ev.preventDefault();
      this.#failWorker();
    };
    worker.onmessageerror = () => this.#failWorker();
    this.#worker = worker;
    return worker;
  }

  #onMessage(msg: FromWorker): void {
    if (msg.op === 'ready') return this.#revoke();
    const run = this.#running;
    if (!run || msg.id !== run.id) return;
    if (msg.op === 'progress') run.progress(msg.attempts);
    else if (msg.op === 'error') this.#failWorker();
    else {
      // Trust, but check with the independent SHA-256: one hash.
      const ok = Number.isSafeInteger(msg.nonce) && msg.nonce >= 0 && nonceZeros(run.prefix, msg.nonce) >= run.difficulty;
      if (ok) run.resolve(msg.nonce);
      else this.#failWorker();
    }
  }

  /** The Worker failed to load, crashed or misbehaved: drop it; the running solve continues in-thread. */
  #failWorker(): void {
    this.#stopWorker();
    this.#running?.reject(new WorkerUnavailable());
  }

  #stopWorker(): void {
    this.#worker?.terminate();
    this.#worker = null;
    this.#revoke();
    if (this.#terminated) this.#running?.reject(aborted());
  }

  #revoke(): void {
    if (this.#url) URL.revokeObjectURL(this.#url);
    this.#url = null;
  }
}

/** Internal signal: the Worker cannot do the job; solve in-thread instead. */
class WorkerUnavailable extends Error {}

function aborted(): KpcError {
  return new KpcError('POW_ABORTED', 'proof-of-π solve aborted');
}
