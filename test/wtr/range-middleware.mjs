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
      ctx.body = body;
    } finally {
      await fh.close();
    }
  };
}
