// Bundles the regeneration Worker into one self-contained ES module string.
// Every toolchain (rollup, web-test-runner, Storybook's Vite) exposes that string
// as the virtual module `virtual:kpc-regen-worker`, so the single-file <script>
// build needs no second file and no import.meta.url.
import * as esbuild from 'esbuild';
import { fileURLToPath } from 'node:url';

export const WORKER_MODULE_ID = 'virtual:kpc-regen-worker';
const entry = fileURLToPath(new URL('../src/compute/regen.worker.ts', import.meta.url));

/** @param {{minify?: boolean}} [opts] @returns {Promise<string>} the worker's JS source */
export async function buildWorkerSource(opts = {}) {
  const r = await esbuild.build({
    entryPoints: [entry], bundle: true, write: false, format: 'esm', platform: 'browser',
    target: 'es2022', minify: !!opts.minify, logLevel: 'warning',
  });
  return r.outputFiles[0].text;
}

/** The JS module text that default-exports the worker source. @param {{minify?: boolean}} [opts] */
export async function workerSourceModule(opts) {
  return `export default ${JSON.stringify(await buildWorkerSource(opts))};`;
}
