/**
 * Test harness for the consensus engine: virtual time, a seeded flooding network
 * (delays, drops, duplicates), deterministic identities and a register executor.
 * No real timers anywhere, so runs are exact functions of their seed.
 */
import { ConsensusEngine, type ConsensusOptions, type Decision, type Executor } from '../../src/consensus/index.js';
import { identityFromSecretKey, type Identity } from '../../src/crypto/identity.js';
import { KpcError } from '../../src/errors.js';
import { mulberry32 } from '../../src/infer/sampler.js';
import type { JsonValue } from '../../src/protocol/canonical-json.js';
import { VirtualRuntime as BaseVirtualRuntime, settle } from '../helpers/virtual-runtime.js';

export { settle };

/** Virtual epoch of every test. */
export const T0 = 1_700_000_000_000;

/** The seeded PRNG the sampler uses (mulberry32): plenty for choosing delays. */
export const prng = mulberry32;

/** Virtual time starting at {@link T0}, `random()` from a seed. */
export class VirtualRuntime extends BaseVirtualRuntime {
  constructor(seed = 1) {
    super(T0, prng(seed));
  }
}

/** Delivery behaviour of a {@link FakeNetwork}. */
export interface NetOptions {
  seed?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /** Probability that one delivery is lost. */
  drop?: number;
  /** Probability that one delivery happens twice. */
  duplicate?: number;
}

/** Full mesh flooding: every `send` goes to every other live node after a random delay. */
export class FakeNetwork {
  readonly receivers: Array<((bytes: Uint8Array, from: string) => void) | undefined> = [];
  readonly ids: string[] = [];
  /** Nodes cut off: they neither send nor receive. */
  readonly down = new Set<number>();
  /** Everything a receiver threw (honest traffic should throw nothing). */
  readonly errors: unknown[] = [];
  /** Every message sent, by sender index. */
  readonly sent: Array<Uint8Array[]> = [];
  readonly #rand: () => number;

  constructor(
    readonly rt: VirtualRuntime,
    readonly opts: NetOptions = {},
  ) {
    this.#rand = prng(opts.seed ?? 7);
  }

  send(from: number, bytes: Uint8Array): void {
    (this.sent[from] ??= []).push(bytes);
    if (this.down.has(from)) return;
    const { minDelayMs = 1, maxDelayMs = 20, drop = 0, duplicate = 0 } = this.opts;
    for (let to = 0; to < this.receivers.length; to++) {
      if (to === from || !this.receivers[to]) continue;
      if (this.#rand() < drop) continue;
      const copies = this.#rand() < duplicate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        const delay = minDelayMs + Math.floor(this.#rand() * (maxDelayMs - minDelayMs + 1));
        this.rt.setTimeout(() => this.deliver(to, from, bytes), delay);
      }
    }
  }

  deliver(to: number, from: number, bytes: Uint8Array): void {
    if (this.down.has(to)) return;
    try {
      this.receivers[to]?.(bytes, this.ids[from]);
    } catch (err) {
      this.errors.push(err);
    }
  }
}

/** An integer register; `set` stores the payload, and negative payloads fail half-way through. */
export class Register {
  value: JsonValue = 0;
  readonly snapshots: unknown[] = [];
  readonly restored: unknown[] = [];

  executor(): Executor<number> {
    return {
      validate: (payload) => {
        if (typeof payload !== 'number' || !Number.isSafeInteger(payload)) throw new KpcError('CONFIG_INVALID', 'payload must be an integer');
        return payload;
      },
      snapshot: () => {
        const s = { value: this.value };
        this.snapshots.push(s);
        return s;
      },
      execute: async (n) => {
        this.value = n; // applied first, so the rollback has something to undo
        await Promise.resolve();
        if (n < 0) throw new Error(`cannot set ${n}`);
      },
      restore: (s) => {
        this.restored.push(s);
        this.value = (s as { value: JsonValue }).value;
      },
    };
  }
}

/** Deterministic identity number `i`. */
export function identity(i: number): Identity {
  return identityFromSecretKey(new Uint8Array(32).fill(i + 1));
}

/** One node of a test cluster. */
export interface TestNode {
  readonly index: number;
  readonly identity: Identity;
  readonly engine: ConsensusEngine;
  readonly register: Register;
  readonly commits: Decision[];
}

/** Options of {@link makeCluster}. */
export interface ClusterOptions extends NetOptions {
  /** Member count (default 4). */
  n?: number;
  /** Indices of members that run an engine (default all). The others are silent. */
  active?: readonly number[];
  timeoutMs?: number;
  engine?: Partial<ConsensusOptions>;
  /** The `set` executor of node `index` (default: its register's). */
  executor?: (index: number, register: Register) => Executor<number>;
}

/** A cluster of `n` members on one virtual clock and one fake network. */
export function makeCluster(opts: ClusterOptions = {}) {
  const n = opts.n ?? 4;
  const rt = new VirtualRuntime(opts.seed ?? 1);
  const net = new FakeNetwork(rt, opts);
  const identities = Array.from({ length: n }, (_, i) => identity(i));
  const members = identities.map((id) => id.nodeId).sort();
  net.ids.push(...identities.map((id) => id.nodeId));
  const active = opts.active ?? identities.map((_, i) => i);
  const nodes: TestNode[] = [];
  for (const i of active) {
    const register = new Register();
    const engine = new ConsensusEngine({
      identity: identities[i],
      runtime: rt,
      timeoutMs: opts.timeoutMs ?? 1000,
      executors: { set: opts.executor?.(i, register) ?? register.executor() },
      members: () => members,
      send: (bytes) => net.send(i, bytes),
      ...opts.engine,
    });
    const commits: Decision[] = [];
    engine.addEventListener('commit', (e) => commits.push(e.detail));
    net.receivers[i] = (bytes, from) => engine.receive(bytes, from);
    nodes.push({ index: i, identity: identities[i], engine, register, commits });
  }
  return { rt, net, nodes, members, identities };
}

/** Awaits a promise's outcome without letting a rejection go unhandled while virtual time runs. */
export function outcome<T>(p: Promise<T>): { done: () => boolean; value: () => T | undefined; error: () => unknown } {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => ((done = true), (value = v)),
    (e) => ((done = true), (error = e)),
  );
  return { done: () => done, value: () => value, error: () => error };
}

/** The committed log of a node as comparable (slot, id) pairs. */
export function logOf(node: TestNode): Array<[number, string]> {
  return node.engine.decisions.map((d) => [d.slot, d.id]);
}
