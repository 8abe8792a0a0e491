// web-test-runner plugin: serves CommonJS, Node-flavoured packages (simple-peer 9)
// as one esbuild-built ES module each, and the regeneration Worker's source as
// the virtual module `virtual:kpc-regen-worker`.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';
import { WORKER_MODULE_ID, workerSourceModule } from '../../scripts/worker-source.mjs';

const shim = fileURLToPath(new URL('../../scripts/process-shim.js', import.meta.url));
const PREFIX = '/__bundled__/';
const WORKER_PATH = '/__kpc__/regen-worker.js';

export function bundleDeps(specs) {
  const cache = new Map();
  return {
    name: 'kpc-bundle-deps',
    resolveImport({ source }) {
      if (source === WORKER_MODULE_ID) return WORKER_PATH;
      if (specs.includes(source)) return PREFIX + encodeURIComponent(source) + '.js';
    },
    async serve(ctx) {
      // Rebuilt on every request so a watch-mode edit of the kernel is picked up.
      if (ctx.path === WORKER_PATH) return { body: await workerSourceModule(), type: 'js' };
      if (!ctx.path.startsWith(PREFIX)) return;
      const spec = decodeURIComponent(ctx.path.slice(PREFIX.length, -3));
      if (!cache.has(spec)) {
        cache.set(spec, esbuild.build({
          stdin: { contents: `export * from ${JSON.stringify(spec)}; export { default } from ${JSON.stringify(spec)};`, resolveDir: process.cwd() },
          bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022',
          conditions: ['browser'], mainFields: ['browser', 'module', 'main'],
          define: { global: 'globalThis', 'process.env.NODE_DEBUG': 'false' },
          inject: [shim], logLevel: 'warning',
        }).then((r) => r.outputFiles[0].text));
      }
      return { body: await cache.get(spec), type: 'js' };
    },
  };
}
