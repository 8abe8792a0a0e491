/**
 * The seeded workload: what the application does with the cluster while the faults
 * happen, and what the state invariants compare the end of the run against.
 *
 * - **Writes**: honest nodes `put` at random virtual times, half to keys every node
 *   writes (`w/shared/<k>`, so last-write-wins settles real conflicts; some of those
 *   writes come in bursts from 2–3 nodes at the same instant) and half to the
 *   writer's own keys (`w/n<index>/<k>`). Each write whose promise resolved is
 *   *acknowledged*: the record keeps its entry (value, ts, writer).
 * - **Proposals**: a few `propose('model-spec', …)` from random honest nodes (the
 *   `kpc-tiny` preset with a different `seed` each), some raced by a second proposer at
 *   the same instant, with their outcome.
 * - **Observation** of every node life (byzantine ones too): the committed
 *   decisions (`consensus-commit`), and when its visible state last changed.
 *
 * Byzantine nodes never write or propose in this model: every entry they author,
 * and every decision they propose, would be forged (see `byzantine-powerless` in
 * invariants.ts). Times and choices are drawn from the `workload` fork of the seed.
 */
import type { Decision } from '../consensus/index.js';
import { isKpcError } from '../errors.js';
import { MODEL_PRESETS } from '../infer/index.js';
import type { PiNode } from '../node.js';
import type { JsonValue } from '../protocol/index.js';
import type { HlcTimestamp } from '../sync/index.js';
import type { Prng } from './prng.js';
import type { Scheduler } from './scheduler.js';

/** What the workload does. Every field has a default; `writesPerNode: 0, proposals: 0` turns it off. */
export interface WorkloadConfig {
  /** Mean writes per honest node over the write window. Default 3. */
  writesPerNode?: number;
  /** Keys every node writes. Default 8. */
  sharedKeys?: number;
  /** Fraction of writes that go to shared keys; the rest to the writer's own keys. Default 0.5. */
  sharedFraction?: number;
  /**
   * Fraction of shared writes joined, at the same instant, by 1–2 other nodes on the same key,
   * and of proposals raced by another node's proposal. Default 0.25.
   */
  burstFraction?: number;
  /** Own keys per node. Default 3. */
  ownKeys?: number;
  /** `model-spec` proposals from random honest nodes. Default 3. */
  proposals?: number;
  /** Writes and proposals happen in [fromMs, untilMs) of virtual time. Default: join window + 3 s. */
  fromMs?: number;
  /** Default: 60 % of the run, leaving the rest to settle. */
  untilMs?: number;
}

/** {@link WorkloadConfig} with the defaults filled in. */
export type ResolvedWorkload = Required<WorkloadConfig>;

/** Fills in the workload defaults for a run of `durationMs` with the given join window. */
export function resolveWorkload(w: WorkloadConfig | boolean | undefined, durationMs: number, joinWindowMs: number): ResolvedWorkload {
  const on = w !== undefined && w !== false;
  const c: WorkloadConfig = typeof w === 'object' ? w : {};
  const fromMs = c.fromMs ?? Math.min(joinWindowMs + 3_000, durationMs * 0.3);
  return {
    writesPerNode: on ? (c.writesPerNode ?? 3) : 0,
    sharedKeys: c.sharedKeys ?? 8,
    sharedFraction: c.sharedFraction ?? 0.5,
    burstFraction: c.burstFraction ?? 0.25,
    ownKeys: c.ownKeys ?? 3,
    proposals: on ? (c.proposals ?? 3) : 0,
    fromMs,
    untilMs: Math.max(fromMs, c.untilMs ?? durationMs * 0.6),
  };
}

/** One planned write and what became of it. */
export interface WriteRecord {
  readonly id: number;
  /** Virtual time it was issued. */
  readonly at: number;
  /** Node index of the writer. */
  readonly node: number;
  readonly key: string;
  readonly value: JsonValue;
  /** `skipped`: the node was down (or not booted) then; `failed`: the put rejected. */
  status: 'planned' | 'pending' | 'acked' | 'failed' | 'skipped';
  /** Virtual time of the acknowledgement. */
  ackAt?: number;
  /** The acknowledged entry's timestamp and writer. */
  ts?: HlcTimestamp;
  writer?: string;
  error?: string;
}

/** One planned proposal and what became of it. */
export interface ProposalRecord {
  readonly at: number;
  readonly node: number;
  readonly kind: string;
  readonly payload: JsonValue;
  status: 'planned' | 'pending' | 'committed' | 'failed' | 'skipped';
  /** The committed decision, as the proposer's `propose` resolved it. */
  decision?: { slot: number; id: string; status: string };
  /** Error code of a failed proposal. */
  error?: string;
  doneAt?: number;
}

/** A decision a node life committed (`consensus-commit`). */
export interface CommitRecord {
  readonly node: number;
  readonly life: number;
  readonly at: number;
  readonly decision: Decision;
}

/** What the workload needs of the cluster (kept structural to avoid an import cycle). */
export interface WorkloadHost {
  readonly sched: Scheduler;
  readonly nodes: readonly { readonly index: number; readonly byzantine: boolean; readonly nodeId: string; pi: PiNode | null; up: boolean }[];
}

const errorCode = (err: unknown): string => (isKpcError(err) ? err.code : err instanceof Error ? err.name : 'UNKNOWN');

/** The workload of one run, and the observations the state invariants check. */
export class Workload {
  readonly cfg: ResolvedWorkload;
  readonly writes: WriteRecord[] = [];
  readonly proposals: ProposalRecord[] = [];
  readonly commits: CommitRecord[] = [];
  /** Per node index: last virtual time a live entry of its current life changed (null: never). */
  readonly lastChangeAt: (number | null)[];

  constructor(
    private readonly host: WorkloadHost,
    rng: Prng,
    cfg: ResolvedWorkload,
  ) {
    this.cfg = cfg;
    this.lastChangeAt = host.nodes.map(() => null);
    const honest = host.nodes.filter((n) => !n.byzantine).map((n) => n.index);
    if (honest.length === 0) return;
    const r = rng.fork('writes');
    const span = () => r.range(cfg.fromMs, cfg.untilMs);
    const total = Math.round(cfg.writesPerNode * honest.length);
    const plan = (at: number, node: number, key: string) => {
      const id = this.writes.length;
      this.writes.push({ id, at, node, key, value: { w: id, by: node }, status: 'planned' });
    };
    for (let k = 0; k < total; k++) {
      const at = span();
      const node = r.pick(honest);
      if (r.chance(cfg.sharedFraction)) {
        const key = `w/shared/${r.int(cfg.sharedKeys)}`;
        plan(at, node, key);
        if (honest.length > 1 && r.chance(cfg.burstFraction)) {
          const others = r.shuffle(honest.filter((i) => i !== node)).slice(0, 1 + r.int(2));
          for (const o of others) plan(at, o, key);
        }
      } else {
        plan(at, node, `w/n${node}/${r.int(cfg.ownKeys)}`);
      }
    }
    const p = rng.fork('proposals');
    const preset = MODEL_PRESETS['kpc-tiny'];
    const propose = (at: number, node: number) => {
      const payload = { ...preset, seed: (preset.seed + 1 + this.proposals.length) >>> 0 } as unknown as JsonValue;
      this.proposals.push({ at, node, kind: 'model-spec', payload, status: 'planned' });
    };
    for (let k = 0; k < cfg.proposals; k++) {
      const at = p.range(cfg.fromMs, cfg.untilMs);
      const node = p.pick(honest);
      propose(at, node);
      // A race: another node proposes something else for the same slot at the same instant.
      if (honest.length > 1 && p.chance(cfg.burstFraction)) propose(at, p.pick(honest.filter((i) => i !== node)));
    }
  }

  /** Whether the workload does anything. */
  get active(): boolean {
    return this.writes.length > 0 || this.proposals.length > 0;
  }

  private scheduled = false;

  /** Queues every write and proposal (the cluster calls it when the run starts). */
  schedule(): void {
    this.scheduled = true;
    const s = this.host.sched;
    for (const w of this.writes) s.at(w.at, () => this.write(w), w.node, 'write');
    for (const p of this.proposals) s.at(p.at, () => this.propose(p), p.node, 'propose');
  }

  /**
   * An explicit write, on top of the drawn ones: node `node` puts `value` under `key` at
   * virtual time `at` (any node, byzantine ones too). Its record is checked like the others.
   */
  addWrite(at: number, node: number, key: string, value: JsonValue): WriteRecord {
    const w: WriteRecord = { id: this.writes.length, at, node, key, value, status: 'planned' };
    this.writes.push(w);
    if (this.scheduled) this.host.sched.at(at, () => this.write(w), node, 'write');
    return w;
  }

  /** Observes one node life: its commits, and when its visible state changes. */
  observe(pi: PiNode, index: number, life: number, current: () => boolean): void {
    pi.addEventListener('change', () => {
      if (current()) this.lastChangeAt[index] = this.host.sched.now;
    });
    pi.addEventListener('consensus-commit', (ev) => {
      const decision = (ev as CustomEvent<Decision>).detail;
      this.commits.push({ node: index, life, at: this.host.sched.now, decision });
    });
  }

  /** A life (re)started: its state appears now. */
  started(index: number): void {
    this.lastChangeAt[index] = this.host.sched.now;
  }

  private write(w: WriteRecord): void {
    const n = this.host.nodes[w.node];
    const pi = n.pi;
    if (!n.up || !pi) {
      w.status = 'skipped';
      w.error = 'down';
      return;
    }
    let done: Promise<{ ts: HlcTimestamp; writer: string }>;
    try {
      done = pi.put(w.key, w.value);
    } catch (err) {
      w.status = 'skipped'; // not booted yet
      w.error = errorCode(err);
      return;
    }
    w.status = 'pending';
    done.then(
      (entry) => {
        w.status = 'acked';
        w.ackAt = this.host.sched.now;
        w.ts = entry.ts;
        w.writer = entry.writer;
      },
      (err) => {
        w.status = 'failed';
        w.error = errorCode(err);
      },
    );
  }

  private propose(p: ProposalRecord): void {
    const n = this.host.nodes[p.node];
    if (!n.up || !n.pi) {
      p.status = 'skipped';
      p.error = 'down';
      return;
    }
    p.status = 'pending';
    n.pi.propose(p.kind, p.payload).then(
      (d) => {
        p.status = 'committed';
        p.decision = { slot: d.slot, id: d.id, status: d.status };
        p.doneAt = this.host.sched.now;
      },
      (err) => {
        p.status = 'failed';
        p.error = errorCode(err);
        p.doneAt = this.host.sched.now;
      },
    );
  }

  /** Acknowledged writes. */
  acked(): WriteRecord[] {
    return this.writes.filter((w) => w.status === 'acked');
  }

  /** Virtual time of the last acknowledged write (null: none). */
  get lastAckAt(): number | null {
    let t: number | null = null;
    for (const w of this.writes) if (w.ackAt !== undefined && (t === null || w.ackAt > t)) t = w.ackAt;
    return t;
  }
}
