// @ts-check
/**
 * Serves `*.gguf` files with HTTP Range support inside the browser test run, as a model
 * host must (kpc reads GGUF files by Range; @web/dev-server's static files ignore Range).
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { join, normalize, resolve } from 'node:path';
import { byteRange } from '../../scripts/static-server.mjs';

/**
 * Every `.gguf` request served: `{tag, path, range: [start, end] | null, status}`. Browser
 * tests read (and clear) it with `executeServerCommand('range-log')` to check which
 * bytes each node fetched.
 * @type {Array<{tag: string, path: string, range: [number, number] | null, status: number}>}
 */
const requestLog = [];

/** A web-test-runner plugin exposing the log: `range-log` returns the entries since the last call. */
export function rangeLogPlugin() {
  return {
    name: 'kpc-range-log',
    /** @param {{command: string, payload?: unknown}} arg */
    executeCommand({ command, payload }) {
      if (command !== 'range-log') return undefined;
      // Only the asking test's entries (by tag), taken out of the log.
      const tag = /** @type {{tag?: string} | undefined} */ (payload)?.tag ?? '';
      const mine = requestLog.filter((e) => e.tag === tag);
      for (let i = requestLog.length - 1; i >= 0; i--) if (requestLog[i].tag === tag) requestLog.splice(i, 1);
      return mine;
    },
  };
}

/**
 * `/via/<tag>/<path>`: the file at `<path>`, logged under `<tag>` (so a test finds its
 * own requests among those of tests running beside it); a tag `corrupt-<offset>` also
 * flips the byte at `<offset>` (a lying host).
 */
const VIA = /^\/via\/([\w-]+)(\/.*)$/;

/**
 * Koa middleware for web-test-runner's `middleware` option.
 * @param {string} root - folder the URLs are relative to
 */
export function ggufRangeMiddleware(root = '.') {
  const base = resolve(root);
  /** @param {any} ctx @param {() => Promise<void>} next */
  return async (ctx, next) => {
    if (!ctx.path.endsWith('.gguf')) return next();
    const via = ctx.path.match(VIA);
    const path = via ? via[2] : ctx.path;
    const lie = via?.[1].match(/^corrupt-(\d+)$/);
    const file = normalize(join(base, decodeURIComponent(path)));
    if (!file.startsWith(base)) return next();
    let size;
    try {
      size = (await stat(file)).size;
    } catch {
      return next();
    }
    const range = byteRange(ctx.get('range'), size);
    ctx.set('accept-ranges', 'bytes');
    ctx.set('cache-control', 'no-store');
    ctx.type = 'application/octet-stream';
    if (range === 'unsatisfiable') {
      ctx.status = 416;
      ctx.set('content-range', `bytes */${size}`);
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    const fh = await open(file, 'r');
    try {
      const body = Buffer.alloc(end - start + 1);
      await fh.read(body, 0, body.length, start);
      ctx.status = range ? 206 : 200;
      if (range) ctx.set('content-range', `bytes ${start}-${end}/${size}`);
      const flip = lie ? Number(lie[1]) : -1;
      if (flip >= start && flip <= end) body[flip - start] ^= 0xff;
      requestLog.push({ tag: via?.[1] ?? '', path, range: range ? [start, end] : null, status: ctx.status });
      ctx.body = body;
    } finally {
      await fh.close();
    }
  };
}
