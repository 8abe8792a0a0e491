// @ts-check
/**
 * Serves `*.gguf` files with HTTP Range support inside the browser test run, as a model
 * host must (kpc reads GGUF files by Range; @web/dev-server's static files ignore Range).
 * @module
 */
import { open, stat } from 'node:fs/promises';
import { join, normalize, resolve } from 'node:path';

/**
 * Koa middleware for web-test-runner's `middleware` option.
 * @param {string} root - folder the URLs are relative to
 */
export function ggufRangeMiddleware(root = '.') {
  const base = resolve(root);
  /** @param {any} ctx @param {() => Promise<void>} next */
  return async (ctx, next) => {
    if (!ctx.path.endsWith('.gguf')) return next();
    const file = normalize(join(base, decodeURIComponent(ctx.path)));
    if (!file.startsWith(base)) return next();
    let size;
    try {
      size = (await stat(file)).size;
    } catch {
      return next();
    }
    const m = /^bytes=(\d+)-(\d*)$/.exec(ctx.get('range') ?? '');
    ctx.set('accept-ranges', 'bytes');
    ctx.set('cache-control', 'no-store');
    ctx.type = 'application/octet-stream';
    const start = m ? Number(m[1]) : 0;
    const end = m ? Math.min(size - 1, m[2] === '' ? size - 1 : Number(m[2])) : size - 1;
    if (m && (start >= size || end < start)) {
      ctx.status = 416;
      ctx.set('content-range', `bytes */${size}`);
      return;
    }
    const fh = await open(file, 'r');
    try {
      const body = Buffer.alloc(end - start + 1);
      await fh.read(body, 0, body.length, start);
      ctx.status = m ? 206 : 200;
      if (m) ctx.set('content-range', `bytes ${start}-${end}/${size}`);
      ctx.body = body;
    } finally {
      await fh.close();
    }
  };
}
