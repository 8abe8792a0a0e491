// A minimal static file server for the demo and the benchmarks (no dependencies).
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';

/** @type {Record<string, string>} */
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.svg': 'image/svg+xml',
  '.gguf': 'application/octet-stream',
};

/**
 * The byte range a `Range: bytes=a-b` header asks of a `size`-byte file: `null` when it
 * asks none (or a form we do not serve, e.g. several ranges: the whole file then),
 * `'unsatisfiable'` when it starts past the end.
 * @param {string | undefined} header
 * @param {number} size
 * @returns {{ start: number, end: number } | 'unsatisfiable' | null}
 */
export function byteRange(header, size) {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return null;
  const start = Number(m[1]);
  const end = Math.min(size - 1, m[2] === '' ? size - 1 : Number(m[2]));
  return start >= size || end < start ? 'unsatisfiable' : { start, end };
}

/**
 * Serves `root` on host:port (port 0 = any free port; a busy port falls back to a free one).
 * @param {{root: string, host?: string, port?: number}} opts
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function startStaticServer({ root, host = '127.0.0.1', port = 0 }) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) throw new Error('outside root');
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      const type = TYPES[extname(file)] ?? 'application/octet-stream';
      // Byte ranges, as a model host must serve them (kpc reads GGUF files by Range).
      const range = byteRange(req.headers.range, body.length);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      if (range) {
        const { start, end } = range;
        res.writeHead(206, { 'content-type': type, 'content-range': `bytes ${start}-${end}/${body.length}`, 'accept-ranges': 'bytes', 'cache-control': 'no-store' });
        res.end(body.subarray(start, end + 1));
        return;
      }
      res.writeHead(200, { 'content-type': type, 'accept-ranges': 'bytes', 'cache-control': 'no-store' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    }
  });
  /** @param {number} p */
  const listen = (p) => new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(p, host, () => { server.off('error', fail); ok(undefined); });
  });
  try {
    await listen(port);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EADDRINUSE') throw err;
    await listen(0);
  }
  const addr = /** @type {import('node:net').AddressInfo} */ (server.address());
  return {
    url: `http://${host}:${addr.port}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok(undefined)); }),
  };
}
