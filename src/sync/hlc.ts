/**
 * Hybrid logical clock (Kulkarni et al., 2014), the timestamp source of the CRDT.
 *
 * A timestamp is `(wall, counter)`: `wall` follows the physical clock in ms, and
 * `counter` (0..65535) orders events inside one millisecond or while the physical
 * clock lags behind a timestamp already seen. Timestamps a node issues are strictly
 * increasing even if its physical clock steps backwards, and every timestamp issued
 * after observing a remote one is greater than it, so causally later writes win
 * last-write-wins merges.
 *
 * Skew safety: a peer with a clock far in the future could otherwise drag every
 * clock in the cluster forward with it (and make its writes unbeatable).
 * {@link HybridClock.observe} therefore rejects a remote timestamp more than
 * `maxSkewMs` ahead of the local physical clock, with `SYNC_CLOCK_SKEW`, and changes
 * nothing. The bound also caps how far the logical wall can lead the physical one.
 */
import { KpcError } from '../errors.js';

/** Largest counter value; on overflow the clock moves its wall forward by 1 ms. */
export const HLC_MAX_COUNTER = 0xffff;
/** Default bound on how far ahead of the local clock a remote timestamp may be. */
export const DEFAULT_MAX_SKEW_MS = 60_000;

/** A hybrid logical clock reading. Totally ordered by {@link compareHlc}. */
export interface HlcTimestamp {
  /** Milliseconds since the Unix epoch (a non-negative safe integer). */
  readonly wall: number;
  /** Logical counter within `wall`, 0..65535. */
  readonly counter: number;
}

/** Negative, zero or positive as `a` is before, equal to or after `b` (wall first, then counter). */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  if (a.counter !== b.counter) return a.counter < b.counter ? -1 : 1;
  return 0;
}

/** Whether `ts` is a well-formed timestamp: safe non-negative integer wall, counter 0..65535. */
export function isHlcTimestamp(ts: unknown): ts is HlcTimestamp {
  if (typeof ts !== 'object' || ts === null) return false;
  const { wall, counter } = ts as { wall?: unknown; counter?: unknown };
  return (
    Number.isSafeInteger(wall) &&
    (wall as number) >= 0 &&
    Number.isInteger(counter) &&
    (counter as number) >= 0 &&
    (counter as number) <= HLC_MAX_COUNTER
  );
}

/** Options of a {@link HybridClock}. */
export interface HybridClockOptions {
  /** How far (ms) a remote timestamp may lead the local clock. Default 60 000. */
  maxSkewMs?: number;
}

/**
 * A hybrid logical clock over an injectable physical clock.
 *
 * @example
 * const clock = new HybridClock(() => Date.now());
 * const ts = clock.tick();            // stamp a local write
 * clock.observe(remoteTs);            // merge a peer's timestamp (may throw SYNC_CLOCK_SKEW)
 */
export class HybridClock {
  readonly #now: () => number;
  readonly #maxSkewMs: number;
  #wall = 0;
  #counter = 0;

  /**
   * @param now physical clock in ms since the epoch (e.g. `Date.now` or a runtime's `now`);
   *   fractional values are floored, negative or non-finite ones count as 0.
   * @throws KpcError `CONFIG_INVALID` if `maxSkewMs` is not a non-negative number.
   */
  constructor(now: () => number, opts: HybridClockOptions = {}) {
    const maxSkewMs = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    if (typeof now !== 'function') throw new KpcError('CONFIG_INVALID', 'HybridClock needs a now() function');
    if (typeof maxSkewMs !== 'number' || !(maxSkewMs >= 0)) {
      throw new KpcError('CONFIG_INVALID', 'maxSkewMs must be a non-negative number', { maxSkewMs });
    }
    this.#now = now;
    this.#maxSkewMs = maxSkewMs;
  }

  /** The physical clock, sanitized to a safe non-negative integer. */
  #physical(): number {
    const t = Math.floor(this.#now());
    return Number.isSafeInteger(t) && t > 0 ? t : 0;
  }

  /** The greatest timestamp issued or observed so far (`{0, 0}` initially). */
  get last(): HlcTimestamp {
    return { wall: this.#wall, counter: this.#counter };
  }

  /**
   * A timestamp for a local event: strictly greater than every timestamp this
   * clock has issued, observed or been advanced to, and at least the physical time.
   */
  tick(): HlcTimestamp {
    const pt = this.#physical();
    if (pt > this.#wall) {
      this.#wall = pt;
      this.#counter = 0;
    } else if (this.#counter < HLC_MAX_COUNTER) {
      this.#counter++;
    } else {
      // Counter exhausted within one ms: borrow the next millisecond. Needs more than
      // 65 536 events in one ms to happen, and the lead stays within skew bounds.
      this.#wall++;
      this.#counter = 0;
    }
    return Object.freeze({ wall: this.#wall, counter: this.#counter });
  }

  /**
   * Throws unless `remote` is well formed and at most `maxSkewMs` ahead of the
   * physical clock. Changes nothing (the check half of {@link observe}).
   * @throws KpcError `SYNC_CLOCK_SKEW` if too far ahead; `SYNC_BAD_DELTA` if malformed.
   */
  check(remote: HlcTimestamp): void {
    if (!isHlcTimestamp(remote)) throw new KpcError('SYNC_BAD_DELTA', 'malformed HLC timestamp');
    const pt = this.#physical();
    if (remote.wall > pt + this.#maxSkewMs) {
      throw new KpcError('SYNC_CLOCK_SKEW', `remote timestamp is ${remote.wall - pt} ms ahead of the local clock`, {
        remoteWall: remote.wall,
        localWall: pt,
        maxSkewMs: this.#maxSkewMs,
      });
    }
  }

  /**
   * Merges a remote timestamp: later {@link tick}s return greater timestamps.
   * @throws KpcError `SYNC_CLOCK_SKEW` if `remote.wall > now() + maxSkewMs` (the clock is unchanged).
   */
  observe(remote: HlcTimestamp): void {
    this.check(remote);
    this.advance(remote);
  }

  /**
   * Moves the clock up to `ts` without a skew check: for timestamps already
   * accepted earlier (the node's own persisted log on restart). Never moves back.
   * @throws KpcError `SYNC_BAD_DELTA` if `ts` is malformed.
   */
  advance(ts: HlcTimestamp): void {
    if (!isHlcTimestamp(ts)) throw new KpcError('SYNC_BAD_DELTA', 'malformed HLC timestamp');
    if (compareHlc(ts, this.last) > 0) {
      this.#wall = ts.wall;
      this.#counter = ts.counter;
    }
  }
}
