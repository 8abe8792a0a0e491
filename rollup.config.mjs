// Bundles of the SDK. TypeScript is transpiled by esbuild (TS 7 has no JS API);
// `tsc` only type-checks and writes the .d.ts files (npm run build:types).
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import esbuild from 'rollup-plugin-esbuild';
import nodePolyfills from 'rollup-plugin-polyfill-node';
import { WORKER_MODULE_ID, workerSourceModule } from './scripts/worker-source.mjs';

/** Inlines the regeneration Worker as a string module, so no bundle needs a second file. */
const regenWorker = () => ({
  name: 'kpc-regen-worker',
  resolveId: (id) => (id === WORKER_MODULE_ID ? '\0' + WORKER_MODULE_ID : null),
  load: (id) => (id === '\0' + WORKER_MODULE_ID ? workerSourceModule({ minify: true }) : null),
});

// simple-peer 9 is CommonJS written for Node streams: bundle it with browser polyfills
// (readable-stream, buffer) so apps need no Node polyfills of their own.
const plugins = () => [
  regenWorker(),
  nodeResolve({ browser: true, preferBuiltins: false, extensions: ['.ts', '.js'] }),
  commonjs(),
  nodePolyfills(),
  esbuild({ tsconfig: './tsconfig.json', target: 'es2022' }),
];

const onwarn = (warning, warn) => {
  // readable-stream's circular requires are known and harmless.
  if (warning.code === 'CIRCULAR_DEPENDENCY' && /node_modules|polyfill-node/.test(warning.message)) return;
  if (warning.code === 'THIS_IS_UNDEFINED') return;
  warn(warning);
};

export default [
  // For apps and bundlers: lit stays external (a peer of the app) so it is deduped.
  {
    input: { index: 'src/index.ts', 'components/index': 'components/index.ts' },
    external: [/^lit($|\/)/, /^@lit\//],
    plugins: plugins(),
    onwarn,
    output: { dir: 'dist/esm', format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
  },
  // Drop-in single files for a <script> tag: core + elements + lit, self-registering.
  // Single files cannot load a chunk later, so the chat template engine (a dynamic
  // import elsewhere) is inlined here (+15 KB gzip; splitting the CDN build is issue #15's).
  {
    input: 'components/kpc.ts',
    plugins: plugins(),
    onwarn,
    output: [
      { file: 'dist/cdn/kpc.js', format: 'es', sourcemap: true, inlineDynamicImports: true, plugins: [terser()] },
      { file: 'dist/cdn/kpc.iife.js', format: 'iife', name: 'kpc', sourcemap: true, inlineDynamicImports: true, plugins: [terser()] },
    ],
  },
  // For Node, plain JS: proof-of-π verification with noble bundled in, so
  // `kpc-signal --admission-difficulty N` loads no TypeScript (server/admission.mjs), and
  // the model CLIs (`kpc-generate`, `kpc-model`), which cli/launch.mjs runs from here
  // when built and from the TypeScript source (through tsx) in a fresh clone.
  {
    input: { pow: 'src/pow/index.ts', 'cli/generate': 'cli/generate.ts', 'cli/model': 'cli/model.ts' },
    external: [/^node:/],
    plugins: [nodeResolve({ preferBuiltins: true, extensions: ['.ts', '.js'] }), esbuild({ tsconfig: './tsconfig.json', target: 'es2022' })],
    onwarn,
    output: { dir: 'dist/node', format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
  },
];
