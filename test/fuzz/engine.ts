/**
 * The fuzzing engine: runs a target's cases from a seed, classifies every outcome,
 * and records violations (escapes, unknown error codes, state changed by a
 * rejection, forged input accepted, slow cases, unhandled rejections).
 *
 * Case `i` of target `t` under seed `s` draws everything from
 * `new Rng(mix(s, hashString(t), i))`, so it replays exactly. Stateful targets keep
 * one state (a replica, a consensus engine) for `sessionLength` consecutive cases;
 * replaying case `i` re-runs its session from the start.
 */
import { KpcError } from '../../src/errors.js';
import { Rng, hashString, mix } from './prng.js';

/** Thrown by a target's checks: the decoder broke its contract. */
export class FuzzViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuzzViolation';
  }
}

/** What one case did: `outcome` is `ok…` or the rejection's error code. */
export interface CaseOutcome {
  /** One outcome, or one per message for cases that feed several (a frame of deltas). */
  outcome: string | readonly string[];
  /** The kind of input (e.g. `valid`, `bitflip+truncate`, `resigned:json:tweak`). */
  mutation: string;
}

/** A prepared target: pools of valid inputs are built once. */
export interface TargetInstance<S = unknown> {
  /** Fresh state for a session (stateless targets return undefined). */
  newSession(): S | Promise<S>;
  /** One case: builds an input from `rng`, feeds it, checks the outcome. */
  runCase(rng: Rng, session: S): CaseOutcome | Promise<CaseOutcome>;
  /** Releases a session's state. */
  closeSession?(session: S): void | Promise<void>;
  /** The case being run: set by `runCase` before it feeds its input, read when reporting. */
  readonly last: LastInput;
}

/** What the running case feeds: its kind, and its bytes for replays. */
export class LastInput {
  mutation = '';
  input: unknown = undefined;

  /** Records the input of the running case. */
  set(mutation: string, input: unknown): void {
    this.mutation = mutation;
    this.input = input;
  }

  /** Hex (bytes), JSON (strings) or a short type description. */
  describe(): string {
    const v = this.input;
    if (v instanceof Uint8Array) return `${v.length} bytes: ${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
    if (typeof v === 'string') return `${v.length} chars: ${JSON.stringify(v)}`;
    if (Array.isArray(v)) return `[${v.map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : JSON.stringify(x))).join(', ')}]`;
    return `${Object.prototype.toString.call(v)} ${String(v)}`;
  }
}

/** One decoder under fuzz. */
export interface FuzzTarget {
  /** Short name, used on the command line and in seeds. */
  name: string;
  /** What is fuzzed and where it lives. */
  decoder: string;
  /** Error codes a rejection may carry; anything else is a violation. */
  codes: readonly string[];
  /** Cases sharing one state; 1 (default) for stateless decoders. */
  sessionLength?: number;
  /** Cases run by the test suite (test/fuzz/fuzz.node.test.ts). */
  testCases: number;
  prepare(): Promise<TargetInstance<unknown>>;
}

/** A violation with what is needed to replay it. */
export interface Failure {
  index: number;
  mutation: string;
  message: string;
}

/** Result of {@link runTarget}. */
export interface TargetReport {
  name: string;
  seed: number;
  cases: number;
  ms: number;
  prepareMs: number;
  outcomes: Record<string, number>;
  /** First edit of each case's label, counted. */
  mutations: Record<string, number>;
  slowest: { index: number; ms: number };
  failures: Failure[];
}

/** Options of {@link runTarget}. */
export interface RunOptions {
  cases: number;
  seed: number;
  /** Stop after this many violations. Default 10. */
  maxFailures?: number;
  /** A case slower than this is a violation (a decoder must not stall). Default 2000 ms. */
  slowMs?: number;
  /** Called before each case (the CLI reports progress and spots hangs with it). */
  onCase?: (index: number) => void;
}

/** Seed of case `index` of `target` under run seed `seed`. */
export function caseSeed(seed: number, target: string, index: number): number {
  return mix(seed, hashString(target), index);
}

/**
 * Calls `fn` and classifies what happened: the value, or the code of a KpcError
 * listed in `codes`. Any other exception, or an unlisted code, is a violation.
 */
export function typed<T>(codes: readonly string[], fn: () => T): { ok: true; value: T } | { ok: false; code: string; error: KpcError } {
  try {
    return { ok: true, value: fn() };
  } catch (err) {
    return classify(codes, err);
  }
}

/** {@link typed} for async decoders (a rejection is treated like a throw). */
export async function typedAsync<T>(codes: readonly string[], fn: () => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; code: string; error: KpcError }> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    return classify(codes, err);
  }
}

function classify(codes: readonly string[], err: unknown): { ok: false; code: string; error: KpcError } {
  if (err instanceof FuzzViolation) throw err;
  if (!(err instanceof KpcError)) {
    const what = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
    throw new FuzzViolation(`escape: not a KpcError: ${what}`);
  }
  if (!codes.includes(err.code)) throw new FuzzViolation(`unexpected error code ${err.code}: ${err.message}`);
  return { ok: false, code: err.code, error: err };
}

/** Throws a violation unless `cond`. */
export function check(cond: unknown, message: string): asserts cond {
  if (!cond) throw new FuzzViolation(message);
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1;
}

/** Lets queued promise callbacks and timers of the current turn run. */
export function macrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Runs `cases` cases of `target` from case 0. */
export async function runTarget(target: FuzzTarget, opts: RunOptions): Promise<TargetReport> {
  const maxFailures = opts.maxFailures ?? 10;
  const slowMs = opts.slowMs ?? 2000;
  const t0 = performance.now();
  const inst = await target.prepare();
  const prepareMs = performance.now() - t0;
  const report: TargetReport = {
    name: target.name, seed: opts.seed, cases: 0, ms: 0, prepareMs, outcomes: {}, mutations: {}, slowest: { index: -1, ms: 0 }, failures: [],
  };
  const L = Math.max(1, target.sessionLength ?? 1);
  let current = -1;
  const fail = (index: number, mutation: string, message: string) => {
    if (report.failures.length < maxFailures) report.failures.push({ index, mutation, message });
  };
  // Anything escaping asynchronously (a promise nobody awaited) is charged to the running case.
  const onAsync = (err: unknown) => fail(current, inst.last.mutation, `escape: unhandled ${err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err)}`);
  process.on('unhandledRejection', onAsync);
  process.on('uncaughtException', onAsync);
  const start = performance.now();
  let session: unknown;
  let open = false;
  try {
    for (let i = 0; i < opts.cases && report.failures.length < maxFailures; i++) {
      if (i % L === 0) {
        if (open) {
          await inst.closeSession?.(session);
          await macrotask();
        }
        session = await inst.newSession();
        open = true;
      }
      current = i;
      opts.onCase?.(i);
      const rng = new Rng(caseSeed(opts.seed, target.name, i));
      const c0 = performance.now();
      try {
        const r = await inst.runCase(rng, session);
        for (const o of typeof r.outcome === 'string' ? [r.outcome] : r.outcome) bump(report.outcomes, o);
        bump(report.mutations, r.mutation.split('+')[0]);
      } catch (err) {
        const message = err instanceof FuzzViolation ? err.message : `harness error: ${err instanceof Error ? err.stack : String(err)}`;
        fail(i, inst.last.mutation, message);
        bump(report.outcomes, 'VIOLATION');
        // The state may now be anything: start a new session.
        if (L > 1) {
          await inst.closeSession?.(session);
          session = await inst.newSession();
        }
      }
      const dt = performance.now() - c0;
      if (dt > report.slowest.ms) report.slowest = { index: i, ms: dt };
      if (dt > slowMs) fail(i, inst.last.mutation, `slow: case took ${dt.toFixed(0)} ms (limit ${slowMs} ms)`);
      report.cases++;
    }
    if (open) await inst.closeSession?.(session);
    await macrotask();
  } finally {
    process.off('unhandledRejection', onAsync);
    process.off('uncaughtException', onAsync);
  }
  report.ms = performance.now() - start;
  return report;
}

/**
 * Replays case `index` (and the cases of its session before it, silently) and
 * returns its outcome, its input description and any violation.
 */
export async function replayCase(target: FuzzTarget, seed: number, index: number): Promise<{ outcome?: CaseOutcome; input: string; violation?: string }> {
  const inst = await target.prepare();
  const L = Math.max(1, target.sessionLength ?? 1);
  const first = index - (index % L);
  const session = await inst.newSession();
  try {
    for (let i = first; i < index; i++) {
      try {
        await inst.runCase(new Rng(caseSeed(seed, target.name, i)), session);
      } catch {
        // Earlier cases' violations are reported by their own replays.
      }
    }
    try {
      const outcome = await inst.runCase(new Rng(caseSeed(seed, target.name, index)), session);
      return { outcome, input: inst.last.describe() };
    } catch (err) {
      const violation = err instanceof FuzzViolation ? err.message : `harness error: ${err instanceof Error ? err.stack : String(err)}`;
      return { input: inst.last.describe(), violation };
    }
  } finally {
    await inst.closeSession?.(session);
  }
}

/** The instance of a stateless target: no sessions; `runCase` records its input in `last`. */
export function stateless(runCase: (rng: Rng, last: LastInput) => CaseOutcome): TargetInstance<unknown> {
  const last = new LastInput();
  return { last, newSession: () => undefined, runCase: (rng) => runCase(rng, last) };
}
