/** Helpers shared by the browser benchmarks. */

/** Median of a non-empty sample, rounded to 0.1. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  const v = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  return Math.round(v * 10) / 10;
}

/** Polls `cond` every 5 ms until it holds; rejects after `timeoutMs`. */
export function waitFor(cond: () => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const tick = () => {
      if (cond()) return resolve();
      if (performance.now() - t0 > timeoutMs) return reject(new Error(`benchmark condition not met in ${timeoutMs} ms`));
      setTimeout(tick, 5);
    };
    tick();
  });
}
