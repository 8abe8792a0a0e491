// Injected by esbuild into bundled CommonJS dependencies that reference Node's `process`.
export const process = { env: {}, browser: true, version: '', versions: {}, nextTick: (fn, ...a) => queueMicrotask(() => fn(...a)) };
