/**
 * A GGUF file behind HTTP(S), read with `Range` requests: the header costs a few requests
 * and each tensor one, never the whole file. What a host must do (and what a cross-origin
 * host must allow) is in docs/gguf.md "Reading over HTTP".
 */
import { KpcError } from '../errors.js';
import { ProgressCounter, checkReadArgs, clampedEnd, describe, type ByteSource, type SourceOptions } from './source.js';

/** Options of {@link HttpSource}. */
export interface HttpSourceOptions extends SourceOptions {
  /** The fetch to use (default: the global one), e.g. to add credentials or route through a proxy. */
  fetch?: typeof fetch;
  /** Extra request headers (e.g. `Authorization`); `Range` is set by the source. */
  headers?: Record<string, string>;
  /** Aborts every request of this source. */
  signal?: AbortSignal;
}

const CONTENT_RANGE = /^\s*bytes\s+(\d+)-(\d+)\s*\/\s*(\d+|\*)\s*$/i;
const UNSATISFIED_RANGE = /^\s*bytes\s+\*\s*\/\s*(\d+)\s*$/i;

/**
 * Reads `url` with one `Range: bytes=a-b` request per read. The total size comes from the
 * `Content-Range` of the first response. A host that answers a range with the whole file
 * (status 200), a failed fetch (often CORS), a non-2xx status or a short body is a
 * `GGUF_SOURCE_FAILED` saying which.
 */
export class HttpSource implements ByteSource {
  /** The file's address. */
  readonly url: string;
  /** Requests made so far. */
  requests = 0;
  #size: number | undefined;
  #etag: string | null | undefined;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #signal?: AbortSignal;
  readonly #progress: ProgressCounter;

  constructor(url: string | URL, options: HttpSourceOptions = {}) {
    this.url = String(url);
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#headers = options.headers ?? {};
    this.#signal = options.signal;
    this.#progress = new ProgressCounter(options.onProgress);
  }

  /** The file's size, known after the first read. */
  get size(): number | undefined {
    return this.#size;
  }

  /** Bytes read so far (bodies of successful responses). */
  get bytesRead(): number {
    return this.#progress.bytesRead;
  }

  /**
   * The bytes `[offset, offset + length)`, fewer only at the end of the file.
   * @param signal - aborts this read only (e.g. a per-request timeout), besides the source's own signal
   */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    checkReadArgs(offset, length);
    let end = offset + length;
    if (this.#size !== undefined) end = clampedEnd(offset, length, this.#size);
    if (end === offset) return new Uint8Array(0);
    const first = await this.#readOnce(offset, end, signal);
    // The first response of a source tells its size: only now is the real end known.
    end = Math.min(end, this.#size ?? end);
    if (first.byteLength >= end - offset) return first;
    const out = new Uint8Array(end - offset);
    out.set(first);
    // A host may send less than asked (some CDNs cap a range's size): ask again for the rest.
    for (let filled = first.byteLength; filled < out.byteLength; ) {
      const part = await this.#readOnce(offset + filled, end, signal);
      if (part.byteLength === 0) throw this.#fail(`short read: the host sent no bytes at ${offset + filled}`, offset + filled);
      out.set(part, filled);
      filled += part.byteLength;
    }
    return out;
  }

  /** One request for `[start, end)`; returns what the host sent (possibly less). */
  async #readOnce(start: number, end: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const response = await this.#request(start, end, signal);
    const contentRange = response.headers.get('content-range');
    if (response.status === 416) {
      await cancel(response);
      const total = contentRange?.match(UNSATISFIED_RANGE);
      if (total) {
        this.#size = Number(total[1]);
        if (start >= this.#size) return new Uint8Array(0);
      }
      throw this.#fail(`HTTP 416 Range Not Satisfiable for bytes ${start}-${end - 1}`, start, response.status);
    }
    if (response.status === 200) {
      await cancel(response);
      throw this.#fail(
        'the host ignores Range requests: it answered 200 with the whole file instead of 206 Partial Content; ' +
          'serve the file from a host that supports byte ranges (or download it and use a BlobSource)',
        start,
        200,
      );
    }
    if (response.status !== 206) {
      await cancel(response);
      const text = response.statusText ? ` ${response.statusText}` : '';
      throw this.#fail(`HTTP ${response.status}${text}`, start, response.status);
    }
    const range = contentRange?.match(CONTENT_RANGE);
    if (!range) {
      await cancel(response);
      throw this.#fail(
        contentRange === null
          ? 'the 206 response has no Content-Range header (a cross-origin host must expose it: Access-Control-Expose-Headers: Content-Range)'
          : `unreadable Content-Range "${contentRange}"`,
        start,
        206,
      );
    }
    const [first, last] = [Number(range[1]), Number(range[2])];
    if (range[3] === '*') {
      if (this.#size === undefined) {
        await cancel(response);
        throw this.#fail('the host does not report the file size (Content-Range ends in "/*")', start, 206);
      }
    } else {
      const total = Number(range[3]);
      if (this.#size !== undefined && total !== this.#size) {
        await cancel(response);
        throw this.#fail(`the file changed on the host: its size went from ${this.#size} to ${total} bytes`, start, 206);
      }
      this.#size = total;
    }
    if (first !== start || last < first || last >= end) {
      await cancel(response);
      throw this.#fail(`the host sent bytes ${first}-${last} for a request of ${start}-${end - 1}`, start, 206);
    }
    this.#checkEtag(response.headers.get('etag'), start);
    const body = await this.#body(response, start);
    if (body.byteLength !== last - first + 1) {
      throw this.#fail(`short read: ${body.byteLength} bytes where Content-Range announced ${last - first + 1}`, start, 206);
    }
    this.#progress.add(body.byteLength, this.#size);
    return body;
  }

  async #request(start: number, end: number, signal: AbortSignal | undefined): Promise<Response> {
    this.requests++;
    const signals = [this.#signal, signal].filter((s): s is AbortSignal => s !== undefined);
    try {
      return await this.#fetch(this.url, {
        headers: { ...this.#headers, Range: `bytes=${start}-${end - 1}` },
        signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0],
      });
    } catch (err) {
      if (err instanceof TypeError) {
        throw this.#fail(
          `fetch failed (${err.message}): the host may be unreachable, or (cross-origin) not allow this page: ` +
            'it must send Access-Control-Allow-Origin, allow the Range request header ' +
            '(Access-Control-Allow-Headers: Range) and expose Content-Range (Access-Control-Expose-Headers: Content-Range)',
          start,
        );
      }
      throw this.#fail(`fetch failed: ${describe(err)}`, start);
    }
  }

  async #body(response: Response, start: number): Promise<Uint8Array> {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (err) {
      throw this.#fail(`reading the response body failed: ${describe(err)}`, start, response.status);
    }
  }

  /** A file replaced on the host between two reads would mix two files' bytes: refuse it. */
  #checkEtag(etag: string | null, start: number): void {
    if (this.#etag === undefined) this.#etag = etag;
    else if (etag !== null && this.#etag !== null && etag !== this.#etag) {
      throw this.#fail(`the file changed on the host between reads (ETag ${this.#etag} → ${etag})`, start, 206);
    }
  }

  #fail(reason: string, offset: number, status?: number): KpcError {
    return new KpcError('GGUF_SOURCE_FAILED', `${this.url}: ${reason}`, { url: this.url, offset, ...(status === undefined ? {} : { status }) });
  }
}

/** Stops downloading a body we will not use (a 200 to a range request may be the whole model). */
async function cancel(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to do: the body is abandoned either way.
  }
}
