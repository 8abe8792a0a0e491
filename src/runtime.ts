/**
 * The clock, timers and randomness the core runs on.
 *
 * Browsers and Node use {@link systemRuntime}. The deterministic simulator passes a
 * virtual one, so the same node logic runs in virtual time from a seed and a run
 * can be replayed exactly. Core code never calls `Date.now`, `setTimeout` or
 * `Math.random` directly.
 */

/** Opaque timer handle. */
export type TimerHandle = unknown;

/** What the core needs from its environment for time and chance. */
export interface Runtime {
  /** Wall-clock time, ms since the Unix epoch (may be skewed in a simulation). */
  now(): number;
  /**
   * Time that only moves forward, ms from an arbitrary origin: for durations (liveness,
   * round trips, rate limits, bans), so a wall-clock step cannot drop links or lift a
   * ban. Absent: {@link Runtime.now} stands in (see {@link monotonicNow}).
   */
  monotonic?(): number;
  /** Runs `fn` once after `ms`. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a {@link Runtime.setTimeout} or {@link Runtime.setInterval}; ignores `undefined`. */
  clearTimeout(handle: TimerHandle | undefined): void;
  /** Runs `fn` every `ms`. Cancel with {@link Runtime.clearTimeout}. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** A uniform number in [0, 1): jitter, nonces, session ids. Not for keys. */
  random(): number;
  /**
   * `n` bytes for ephemeral key material. Absent (the default): the platform's
   * CSPRNG. Only a simulation sets it, to a seeded stream, so its runs replay exactly.
   */
  keyBytes?(n: number): Uint8Array;
}

/** The real thing: `Date.now`, `performance.now`, global timers, `Math.random`. */
export const systemRuntime: Runtime = Object.freeze({
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn: () => void, ms: number) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h: TimerHandle | undefined) => {
    if (h !== undefined) {
      globalThis.clearTimeout(h as ReturnType<typeof globalThis.setTimeout>);
      globalThis.clearInterval(h as ReturnType<typeof globalThis.setInterval>);
    }
  },
  setInterval: (fn: () => void, ms: number) => globalThis.setInterval(fn, ms),
  random: () => Math.random(),
});

/** The runtime's monotonic time, or its wall clock where it has none. */
export function monotonicNow(rt: Runtime): number {
  return rt.monotonic ? rt.monotonic() : rt.now();
}

/** Resolves after `ms` on the given runtime. */
export function sleep(rt: Runtime, ms: number): Promise<void> {
  return new Promise((resolve) => rt.setTimeout(resolve, ms));
}

/** 64 random bits from the runtime as 16 hex digits: session ids and nonces, not secrets. */
export function randomHex64(rt: Runtime): string {
  const part = () => Math.floor(rt.random() * 0x100000000).toString(16).padStart(8, '0');
  return part() + part();
}
