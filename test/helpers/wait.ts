/** Waiting helpers for browser tests: conditions, not clocks. */

/** Resolves once `cond()` holds (polled every 10 ms); rejects with `label` after `timeoutMs`. */
export function waitFor(cond: () => boolean, label: string, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      let ok = false;
      try {
        ok = cond();
      } catch {
        ok = false;
      }
      if (ok) return resolve();
      if (Date.now() - t0 > timeoutMs) return reject(new Error(`timed out waiting for: ${label}`));
      setTimeout(tick, 10);
    };
    tick();
  });
}

/** A cluster id no other test shares. */
export function uniqueCluster(prefix = 't'): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
