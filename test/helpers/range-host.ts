/**
 * An in-memory HTTP host for Node tests of hosted models: serves files by `Range` like a
 * real static host (206 + Content-Range), logs every request, and can be made to lie
 * (a flipped byte), ignore Range (200 with the whole body) or fail a few times.
 */

/** One logged request. */
export interface HostRequest {
  path: string;
  /** [start, end] inclusive, or null for a whole-file request. */
  range: [number, number] | null;
}

/** Options of {@link rangeHost}. */
export interface RangeHostOptions {
  /** Answers range requests with 200 and the whole file. */
  ignoreRange?: boolean;
  /** Flips the byte at `offset` of `path` in every response covering it. */
  corrupt?: { path: string; offset: number };
  /** The first N requests fail with a network error (TypeError, as fetch does). */
  failFirst?: number;
}

/** A fetch over `files` (path → bytes), with its request log. */
export function rangeHost(files: Record<string, Uint8Array>, opts: RangeHostOptions = {}) {
  const log: HostRequest[] = [];
  let failures = opts.failFirst ?? 0;
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input), 'http://host.test/');
    const headers = new Headers(init?.headers);
    const m = headers.get('range')?.match(/^bytes=(\d+)-(\d+)$/);
    log.push({ path: url.pathname, range: m ? [Number(m[1]), Number(m[2])] : null });
    if (failures > 0) {
      failures--;
      throw new TypeError('fetch failed');
    }
    const file = files[url.pathname];
    if (!file) return new Response('not found', { status: 404 });
    const body = file.slice();
    if (opts.corrupt?.path === url.pathname) body[opts.corrupt.offset] ^= 0xff;
    if (!m || opts.ignoreRange) return new Response(body, { status: 200, headers: { 'content-length': String(body.length) } });
    const start = Number(m[1]);
    const end = Math.min(Number(m[2]), body.length - 1);
    return new Response(body.subarray(start, end + 1), {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) },
    });
  };
  /** Makes the next `n` requests fail with a network error. */
  const failNext = (n: number) => {
    failures = n;
  };
  return { fetch: fetch as typeof globalThis.fetch, log, failNext };
}
