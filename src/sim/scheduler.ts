/**
 * Virtual time for the simulator: one priority queue of events ordered by
 * (time, insertion order), and a {@link Runtime} per node whose timers are events
 * in that queue.
 *
 * The loop runs one event, then lets every microtask the event queued settle
 * before the next event (`await` of a `setImmediate` promise: Node drains the whole
 * microtask and `nextTick` queue before a check-phase callback). That is what a
 * browser does between tasks, so the node's promises, `queueMicrotask` and
 * EventTarget dispatches run exactly as they would for real. It costs ~2 µs per
 * event; nothing outside the simulation can interleave, since no real timer or
 * I/O is involved, so the order is a pure function of the seed.
 */
import type { Runtime, TimerHandle } from '../runtime.js';
import { TraceDigest } from './digest.js';
import type { Prng } from './prng.js';

/** Virtual wall clock at time zero: 2023-11-14T22:13:20Z (any fixed value works). */
export const SIM_EPOCH_MS = 1_700_000_000_000;

/** What an event callback may return: a check to run once the event's microtasks have settled. */
export type AfterSettle = (() => void) | void;

/** One queued event. */
export interface SimEvent {
  readonly time: number;
  readonly seq: number;
  /** Index of the node the event belongs to (−1: the simulator itself). */
  readonly owner: number;
  /** Short kind for the trace (`timer`, `link`, `sig`, `fault`, …). */
  readonly label: string;
  readonly fn: () => AfterSettle;
  cancelled: boolean;
}

/** An error thrown by node code: synchronously in an event, in a microtask, or an unhandled rejection. */
export interface SimError {
  readonly time: number;
  /** Node index whose event was running (−1: none). */
  readonly owner: number;
  readonly error: unknown;
}

const ERROR_EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

const settle = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The virtual-time event loop. Run one simulation at a time per process: while it runs
 * the loop owns the process's `uncaughtException`/`unhandledRejection` handlers.
 */
export class Scheduler {
  /** Virtual ms since the start of the run. */
  now = 0;
  /** Events executed so far. */
  executed = 0;
  /** Running digest of every executed event (time, owner, label) and of delivered payloads. */
  readonly digest = new TraceDigest();
  /** Errors node code threw while the loop ran. */
  readonly errors: SimError[] = [];
  /** Optional per-event trace sink (slow: only for debugging a seed). */
  trace: ((line: string) => void) | null = null;
  private heap: SimEvent[] = [];
  private seq = 0;
  /** Owner of the event running now (−1: none). */
  current = -1;

  /** Queues `fn` at virtual time `time` (clamped to now) for node `owner`. */
  at(time: number, fn: () => AfterSettle, owner = -1, label = 'event'): SimEvent {
    const ev: SimEvent = { time: Math.max(time, this.now), seq: this.seq++, owner, label, fn, cancelled: false };
    this.push(ev);
    return ev;
  }

  /** Queues `fn` after `delay` ms. */
  after(delay: number, fn: () => AfterSettle, owner = -1, label = 'event'): SimEvent {
    return this.at(this.now + Math.max(0, delay), fn, owner, label);
  }

  /** Cancels a queued event (lazily: it is skipped when it comes up). */
  cancel(ev: SimEvent | undefined | null): void {
    if (ev) ev.cancelled = true;
  }

  /** Events still queued (including cancelled ones not yet skipped). */
  get pending(): number {
    return this.heap.length;
  }

  /**
   * Runs events up to and including virtual time `t`, then advances the clock to `t`.
   * Stops early (clock left at the last event) when `stop()` returns true after an event.
   */
  async runUntil(t: number, stop?: () => boolean): Promise<void> {
    const onError = (error: unknown) => this.errors.push({ time: this.now, owner: this.current, error });
    // While the loop runs, errors escaping node code are the simulation's to record (a browser
    // reports them and carries on); other handlers (a test runner's) get them back afterwards.
    const saved = ERROR_EVENTS.map((ev) => process.listeners(ev as 'uncaughtException'));
    for (const ev of ERROR_EVENTS) {
      process.removeAllListeners(ev);
      process.on(ev, onError);
    }
    try {
      await settle();
      while (this.heap.length > 0 && this.heap[0].time <= t) {
        const ev = this.pop();
        if (ev.cancelled) continue;
        this.now = ev.time;
        this.executed++;
        this.current = ev.owner;
        this.digest.num(ev.time).word(ev.owner + 1).str(ev.label);
        this.trace?.(`${ev.time.toFixed(3)} #${ev.owner} ${ev.label}`);
        let after: AfterSettle = undefined;
        try {
          after = ev.fn();
        } catch (error) {
          onError(error);
        }
        await settle();
        if (after) {
          try {
            after();
          } catch (error) {
            onError(error);
          }
        }
        this.current = -1;
        if (stop?.()) return;
      }
      if (this.now < t) this.now = t;
    } finally {
      this.current = -1;
      ERROR_EVENTS.forEach((ev, k) => {
        process.off(ev, onError);
        for (const l of saved[k]) process.on(ev, l);
      });
    }
  }

  /** Runs until `cond()` holds after an event, the queue is empty, or `maxTime` is reached; returns `cond()`. */
  async runUntilIdle(cond: () => boolean = () => false, maxTime = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (cond()) return true;
    await this.runUntil(maxTime, cond);
    return cond();
  }

  private push(ev: SimEvent): void {
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(ev, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = ev;
  }

  private pop(): SimEvent {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.time < y.time || (x.time === y.time && x.seq < y.seq);
}

/** A timer of a {@link SimRuntime}: the handle the core holds. */
interface SimTimer {
  ev: SimEvent | null;
  cancelled: boolean;
}

/**
 * The {@link Runtime} of one simulated node: wall clock = epoch + virtual time +
 * the node's clock offset (skew, steps); timers are scheduler events owned by the
 * node; `random()` is the node's own PRNG stream. {@link SimRuntime.kill} (a crash)
 * cancels every timer and ignores new ones: a dead tab runs no code.
 */
export class SimRuntime implements Runtime {
  /** Wall-clock offset of this node, ms (clock skew; a step fault changes it). */
  offsetMs: number;
  private alive = true;
  private readonly timers = new Set<SimTimer>();

  constructor(
    private readonly sched: Scheduler,
    /** Node index (event owner). */
    readonly owner: number,
    private readonly rng: Prng,
    offsetMs = 0,
  ) {
    this.offsetMs = offsetMs;
  }

  /** Whether the node is still running (not crashed). */
  get running(): boolean {
    return this.alive;
  }

  now(): number {
    return Math.floor(SIM_EPOCH_MS + this.sched.now + this.offsetMs);
  }

  /** Virtual time without the node's clock offset: skew and steps do not move it. */
  monotonic(): number {
    return this.sched.now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { ev: null, cancelled: false };
    if (!this.alive) return t;
    this.timers.add(t);
    t.ev = this.sched.after(clampDelay(ms, 0), () => {
      this.timers.delete(t);
      fn();
    }, this.owner, 'timer');
    return t;
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    const t: SimTimer = { ev: null, cancelled: false };
    if (!this.alive) return t;
    const period = clampDelay(ms, 1);
    const tick = () => {
      if (t.cancelled) return;
      t.ev = this.sched.after(period, tick, this.owner, 'interval');
      fn();
    };
    this.timers.add(t);
    t.ev = this.sched.after(period, tick, this.owner, 'interval');
    return t;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    const t = handle as SimTimer | undefined;
    if (!t || typeof t !== 'object' || !('cancelled' in t)) return;
    t.cancelled = true;
    this.sched.cancel(t.ev);
    this.timers.delete(t);
  }

  random(): number {
    return this.rng.next();
  }

  /** Seeded, so link keys (and so every tagged byte) replay exactly. Never secret. */
  keyBytes(n: number): Uint8Array {
    return this.rng.bytes(n);
  }

  /** Timers currently armed. */
  get armedTimers(): number {
    return this.timers.size;
  }

  /** Crash: cancels every timer; later timer calls are no-ops. */
  kill(): void {
    this.alive = false;
    for (const t of this.timers) {
      t.cancelled = true;
      this.sched.cancel(t.ev);
    }
    this.timers.clear();
  }
}

/** Browsers treat negative, NaN and missing delays as 0. */
function clampDelay(ms: number, min: number): number {
  return Number.isFinite(ms) && ms > min ? ms : min;
}
