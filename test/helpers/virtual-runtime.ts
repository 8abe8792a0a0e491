/**
 * A {@link Runtime} whose clock moves only when a test says so: timers run in
 * (time, creation) order. No real timers, so a test run is a function of its inputs.
 */
import type { Runtime, TimerHandle } from '../../src/runtime.js';

interface Timer {
  at: number;
  fn: () => void;
  every?: number;
}

/** Lets every pending promise callback run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
}

/** Virtual time for tests. */
export class VirtualRuntime implements Runtime {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  /** @param start - the virtual clock's start @param random - the source of `random()` */
  constructor(start: number, readonly random: () => number) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    this.#timers.set(++this.#seq, { at: this.#now + Math.max(0, ms), fn });
    return this.#seq;
  }
  setInterval(fn: () => void, ms: number): TimerHandle {
    this.#timers.set(++this.#seq, { at: this.#now + Math.max(1, ms), fn, every: Math.max(1, ms) });
    return this.#seq;
  }
  clearTimeout(handle: TimerHandle | undefined): void {
    this.#timers.delete(handle as number);
  }
  /** Timers still scheduled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Runs the next timer due by `end`; false when there is none. */
  #runNext(end: number): boolean {
    let nextId = -1;
    let next: Timer | undefined;
    for (const [id, t] of this.#timers) if (t.at <= end && (!next || t.at < next.at)) [nextId, next] = [id, t];
    if (!next) return false;
    this.#timers.delete(nextId);
    this.#now = next.at;
    if (next.every) this.#timers.set(nextId, { ...next, at: next.at + next.every });
    next.fn();
    return true;
  }

  /** Runs every timer due within `ms`, without waiting for promises in between. */
  advanceSync(ms: number): void {
    const end = this.#now + ms;
    while (this.#runNext(end));
    this.#now = end;
  }

  /** Runs every timer due within `ms`, settling promises after each. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms;
    while (this.#runNext(end)) await settle();
    this.#now = end;
    await settle();
  }
}
