// Injected by esbuild into bundled CommonJS dependencies that reference Node's `process`.
export const process = {
  env: {},
  browser: true,
  version: '',
  versions: {},
  /** @param {(...args: unknown[]) => void} fn @param {...unknown} args */
  nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
};
