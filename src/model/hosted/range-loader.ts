/**
 * Fetches a set of tensors from a GGUF host by byte range: neighbours coalesced into one
 * request, a few requests in flight, retries with backoff, a timeout per request, and
 * every tensor checked against its manifest hash before it is handed on. Bytes that do
 * not match are discarded, their host is marked bad and the next URL is tried: nothing
 * runs on unchecked bytes when a manifest is given.
 */
import { KpcError, isKpcError } from '../../errors.js';
import { HttpSource } from '../../gguf/http.js';
import { describe } from '../../gguf/source.js';
import { sha256Hex } from './manifest.js';

/** One tensor to fetch. */
export interface TensorRange {
  /** Tensor name (events, errors). */
  readonly name: string;
  /** Absolute byte offset in the file. */
  readonly offset: number;
  /** Bytes. */
  readonly length: number;
  /** Expected SHA-256 (hex) from the manifest; undefined when the model is unverified. */
  readonly sha256?: string;
}

/** What the loader reports as it goes. */
export type LoaderEvent =
  | { type: 'retry'; url: string; attempt: number; delayMs: number; error: KpcError }
  | { type: 'timeout'; url: string; offset: number; length: number; timeoutMs: number }
  | { type: 'integrity'; url: string; tensor: string; expected: string; actual: string }
  | { type: 'source-bad'; url: string; error: KpcError };

/** Options of {@link RangeLoader}. */
export interface RangeLoaderOptions {
  /** The file's URLs, tried in order (mirrors of the same bytes). */
  urls: readonly string[];
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Requests in flight at once. Default 3. */
  concurrency?: number;
  /** Retries of a failed request on the same host before it is marked bad. Default 3. */
  retries?: number;
  /** First backoff, ms; doubled per retry. Default 250. */
  backoffMs?: number;
  /** A request (headers and body) slower than this is aborted and retried, ms. Default 30 000. */
  timeoutMs?: number;
  /** Tensors at most this far apart are fetched in one request (the gap is discarded). Default 64 KiB. */
  maxGapBytes?: number;
  /** Largest coalesced request, bytes. Default 16 MiB. */
  maxRequestBytes?: number;
  /** Progress and trouble. */
  onEvent?: (event: LoaderEvent) => void;
  /** Stops everything (KpcError `INFER_ABORTED`). */
  signal?: AbortSignal;
  /** Waits `ms` (tests make it instant). Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
}

/** Tensors fetched in one request. */
interface Run {
  start: number;
  end: number;
  tensors: TensorRange[];
}

/** Cuts tensors (sorted by offset) into runs of neighbours at most `maxGap` apart and `maxBytes` long. */
export function coalesce(tensors: readonly TensorRange[], maxGap: number, maxBytes: number): Run[] {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  const runs: Run[] = [];
  for (const t of sorted) {
    const last = runs[runs.length - 1];
    const end = t.offset + t.length;
    if (last && t.offset - last.end <= maxGap && end - last.start <= maxBytes) {
      last.end = Math.max(last.end, end);
      last.tensors.push(t);
    } else runs.push({ start: t.offset, end, tensors: [t] });
  }
  return runs;
}

/** A host error that retrying will not fix: it ignores Range, refuses (4xx), or changed the file. */
function permanent(err: KpcError): boolean {
  const status = typeof err.detail?.status === 'number' ? err.detail.status : undefined;
  if (status !== undefined && (status === 200 || (status >= 400 && status < 500 && status !== 408 && status !== 429))) return true;
  // A 206 without a readable Content-Range (not exposed by CORS) will not improve either.
  return status === 206 || /changed on the host|ignores Range/.test(err.message);
}

/** Fetches tensors of one file from its hosts (see the module comment). */
export class RangeLoader {
  /** Requests made (including retries). */
  requests = 0;
  /** Bytes received (including discarded gaps and refused bytes). */
  bytesFetched = 0;
  readonly #sources: HttpSource[];
  readonly #bad = new Set<string>();
  readonly #o: Required<Omit<RangeLoaderOptions, 'urls' | 'fetch' | 'onEvent' | 'signal'>> & Pick<RangeLoaderOptions, 'onEvent' | 'signal'>;

  /** @param opts - hosts, limits and callbacks */
  constructor(opts: RangeLoaderOptions) {
    if (opts.urls.length === 0) throw new KpcError('INFER_BAD_INPUT', 'a model needs at least one URL');
    this.#sources = opts.urls.map((url) => new HttpSource(url, { fetch: opts.fetch }));
    this.#o = {
      concurrency: opts.concurrency ?? 3, retries: opts.retries ?? 3, backoffMs: opts.backoffMs ?? 250,
      timeoutMs: opts.timeoutMs ?? 30_000, maxGapBytes: opts.maxGapBytes ?? 64 * 1024, maxRequestBytes: opts.maxRequestBytes ?? 16 * 1024 * 1024,
      onEvent: opts.onEvent, signal: opts.signal,
      sleep: opts.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  /** URLs found serving wrong bytes or refusing range requests. */
  get badSources(): readonly string[] {
    return [...this.#bad];
  }

  /**
   * Fetches `tensors` and calls `onTensor` with each one's checked bytes (a copy of its
   * own, at offset 0), in no particular order.
   * @throws KpcError `MODEL_INTEGRITY` (every host served wrong bytes for a tensor),
   *   `MODEL_DOWNLOAD_FAILED` (every host failed; the last host error is in `cause`),
   *   `INFER_ABORTED`
   */
  async load(tensors: readonly TensorRange[], onTensor: (t: TensorRange, bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    const queue = coalesce(tensors, this.#o.maxGapBytes, this.#o.maxRequestBytes);
    let failure: unknown;
    const worker = async () => {
      while (queue.length > 0 && failure === undefined) {
        const run = queue.shift()!;
        try {
          await this.#fetchRun(run, onTensor);
        } catch (err) {
          failure ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.#o.concurrency, queue.length)) }, worker));
    if (failure !== undefined) throw failure;
  }

  /** One run, from the first good host; a wrong tensor or a dead host moves it to the next. */
  async #fetchRun(run: Run, onTensor: (t: TensorRange, bytes: Uint8Array) => void | Promise<void>): Promise<void> {
    let lastError: KpcError | undefined;
    let integrity: KpcError | undefined;
    for (const source of this.#sources) {
      if (this.#bad.has(source.url)) continue;
      let bytes: Uint8Array;
      try {
        bytes = await this.#read(source, run);
      } catch (err) {
        if (isKpcError(err, 'INFER_ABORTED')) throw err;
        lastError = isKpcError(err) ? err : new KpcError('MODEL_DOWNLOAD_FAILED', describe(err));
        this.#markBad(source.url, lastError);
        continue;
      }
      const checked: Array<[TensorRange, Uint8Array]> = [];
      for (const t of run.tensors) {
        const own = bytes.slice(t.offset - run.start, t.offset - run.start + t.length);
        const actual = t.sha256 === undefined ? undefined : sha256Hex(own);
        if (actual !== undefined && actual !== t.sha256) {
          this.#o.onEvent?.({ type: 'integrity', url: source.url, tensor: t.name, expected: t.sha256!, actual });
          integrity = new KpcError('MODEL_INTEGRITY', `${source.url} served bytes for tensor "${t.name}" that do not match the manifest`, { url: source.url, tensor: t.name });
          break;
        }
        checked.push([t, own]);
      }
      if (checked.length < run.tensors.length) {
        // The whole run is discarded, even tensors that matched: this host is not trusted any more.
        this.#markBad(source.url, integrity!);
        continue;
      }
      for (const [t, own] of checked) await onTensor(t, own);
      return;
    }
    if (integrity) throw new KpcError('MODEL_INTEGRITY', `no host served tensor bytes matching the manifest (${integrity.message})`, { tried: this.#sources.map((s) => s.url) });
    throw new KpcError('MODEL_DOWNLOAD_FAILED', `every host of the model failed: ${lastError?.message ?? 'all were marked bad earlier'}`, {
      tried: this.#sources.map((s) => s.url), cause: lastError,
    });
  }

  /** The run's bytes from one host, with retries and a timeout per attempt. */
  async #read(source: HttpSource, run: Run): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      this.#checkAborted();
      const timeout = new AbortController();
      const signals = this.#o.signal ? [timeout.signal, this.#o.signal] : [timeout.signal];
      const timer = setTimeout(() => timeout.abort(), this.#o.timeoutMs);
      this.requests++;
      try {
        const bytes = await source.read(run.start, run.end - run.start, signals.length > 1 ? AbortSignal.any(signals) : signals[0]);
        if (bytes.byteLength !== run.end - run.start) {
          throw new KpcError('GGUF_SOURCE_FAILED', `${source.url}: the file ends at ${run.start + bytes.byteLength}, before byte ${run.end}`, { url: source.url });
        }
        this.bytesFetched += bytes.byteLength;
        return bytes;
      } catch (err) {
        this.#checkAborted();
        const error = isKpcError(err) ? err : new KpcError('GGUF_SOURCE_FAILED', `${source.url}: ${describe(err)}`, { url: source.url });
        if (timeout.signal.aborted) {
          this.#o.onEvent?.({ type: 'timeout', url: source.url, offset: run.start, length: run.end - run.start, timeoutMs: this.#o.timeoutMs });
        } else if (permanent(error)) throw error;
        if (attempt >= this.#o.retries) throw error;
        const delayMs = this.#o.backoffMs * 2 ** attempt;
        this.#o.onEvent?.({ type: 'retry', url: source.url, attempt: attempt + 1, delayMs, error });
        await this.#o.sleep(delayMs);
      } finally {
        clearTimeout(timer);
      }
    }
  }

  #markBad(url: string, error: KpcError): void {
    if (this.#bad.has(url)) return;
    this.#bad.add(url);
    this.#o.onEvent?.({ type: 'source-bad', url, error });
  }

  #checkAborted(): void {
    const s = this.#o.signal;
    if (s?.aborted) throw new KpcError('INFER_ABORTED', 'model download was aborted', { reason: String(s.reason) });
  }
}
