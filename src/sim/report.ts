/**
 * Running a simulation end to end and reporting it: metrics, invariants, and a
 * printable summary whose every line is a function of the config (wall time is
 * reported separately), so two runs of one seed print byte-identical summaries.
 */
import { SimCluster, type SimConfig } from './cluster.js';
import { describeFault } from './faults.js';
import { DEFAULT_INVARIANTS, checkInvariants, type Invariant, type InvariantResult } from './invariants.js';

/** Mean and maximum over nodes. */
export interface Spread {
  mean: number;
  max: number;
}

/** Everything a run produced. */
export interface SimReport {
  seed: string;
  nodes: number;
  byzantine: number;
  durationMs: number;
  faults: string[];
  /** Virtual ms until every honest running node was READY (first time / last time); null if never. */
  firstAllReadyMs: number | null;
  lastAllReadyMs: number | null;
  /** Per node life: virtual ms from start to its first READY (50th/95th percentile, max). */
  timeToReadyMs: { p50: number; p95: number; max: number; never: number };
  /** Per node over the whole run: data-channel messages sent and signaling frames published. */
  linkMsgsPerNode: Spread;
  linkBytesPerNode: Spread;
  sigFramesPerNode: Spread;
  sigBytesPerNode: Spread;
  /** Signaling frames the servers relayed to subscribers (fan-out included). */
  relayedFrames: number;
  linkMsgsLost: number;
  /** Rejected inputs at honest nodes, by error code. */
  rejections: Record<string, number>;
  /** Honest state transitions, `FROM→TO` → count. */
  transitions: Record<string, number>;
  attacks: { launched: Record<string, number>; rejected: number; ignored: number; accepted: number; triggered: number; acceptedBy: Record<string, number> };
  events: number;
  traceDigest: string;
  invariants: InvariantResult[];
  ok: boolean;
}

/** Options of {@link runSimulation}. */
export interface RunOptions {
  invariants?: readonly Invariant[];
  /** Called with the cluster before it runs (attach listeners, add faults). */
  setup?: (sim: SimCluster) => void;
  /** Called after every virtual second. */
  progress?: (virtualMs: number, sim: SimCluster) => void;
}

/** Builds, runs and checks one simulation. */
export async function runSimulation(config: SimConfig, options: RunOptions = {}): Promise<{ report: SimReport; sim: SimCluster }> {
  const sim = new SimCluster(config);
  options.setup?.(sim);
  await sim.run({ progress: options.progress && ((t) => options.progress!(t, sim)) });
  return { report: summarize(sim, options.invariants ?? DEFAULT_INVARIANTS), sim };
}

const spread = (xs: number[]): Spread => ({ mean: xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0, max: xs.length ? Math.max(...xs) : 0 });

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

function sortedCounts(m: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Metrics and invariant results of a finished run. */
export function summarize(sim: SimCluster, invariants: readonly Invariant[] = DEFAULT_INVARIANTS): SimReport {
  const honest = sim.nodes.filter((n) => !n.byzantine);
  const tr = sim.nodes.map((n) => n.ep.traffic);
  const rejections = new Map<string, number>();
  const transitions = new Map<string, number>();
  const ready: number[] = [];
  let never = 0;
  for (const n of honest) {
    n.rejects.forEach((v, k) => rejections.set(k, (rejections.get(k) ?? 0) + v));
    for (const life of n.lives) for (const c of life) transitions.set(`${c.from}→${c.to}`, (transitions.get(`${c.from}→${c.to}`) ?? 0) + 1);
    n.readyAt.forEach((t, k) => (t === null ? never++ : ready.push(t - n.startedAt[k])));
  }
  ready.sort((a, b) => a - b);
  const results = checkInvariants(sim, invariants);
  const adv = sim.adversary;
  return {
    seed: sim.cfg.seed,
    nodes: sim.nodes.length,
    byzantine: sim.nodes.length - honest.length,
    durationMs: sim.cfg.durationMs,
    faults: sim.faults.map(describeFault),
    firstAllReadyMs: sim.firstAllReadyAt,
    lastAllReadyMs: sim.lastAllReadyAt,
    timeToReadyMs: { p50: percentile(ready, 0.5), p95: percentile(ready, 0.95), max: ready.length ? ready[ready.length - 1] : 0, never },
    linkMsgsPerNode: spread(tr.map((t) => t.linkMsgsOut)),
    linkBytesPerNode: spread(tr.map((t) => t.linkBytesOut)),
    sigFramesPerNode: spread(tr.map((t) => t.sigFramesOut)),
    sigBytesPerNode: spread(tr.map((t) => t.sigBytesOut)),
    relayedFrames: sim.servers.reduce((a, s) => a + s.relayedFrames, 0),
    linkMsgsLost: tr.reduce((a, t) => a + t.linkLost, 0),
    rejections: sortedCounts(rejections),
    transitions: sortedCounts(transitions),
    attacks: {
      ...sim.byzantineOutcomes,
      launched: sortedCounts(new Map(Object.entries(adv?.launched ?? {}))),
      acceptedBy: sortedCounts(new Map(Object.entries(sim.byzantineOutcomes.acceptedBy))),
    },
    events: sim.sched.executed,
    traceDigest: sim.sched.digest.hex(),
    invariants: results,
    ok: results.every((r) => r.ok),
  };
}

const ms = (v: number | null): string => (v === null ? 'never' : `${(v / 1000).toFixed(3)}s`);
const n0 = (v: number): string => Math.round(v).toLocaleString('en-US');
const kb = (v: number): string => `${(v / 1024).toFixed(1)} KiB`;

/** The printable summary (deterministic: no wall-clock figures). */
export function formatSummary(r: SimReport, header = ''): string {
  const lines: string[] = [];
  const kv = (k: string, v: string) => lines.push(`${k.padEnd(22)} ${v}`);
  if (header) lines.push(header);
  kv('seed', `${r.seed}  (${r.nodes} nodes, ${r.byzantine} byzantine, ${ms(r.durationMs)} virtual)`);
  kv('faults', r.faults.length ? r.faults.join('; ') : 'none');
  kv('all READY (first)', ms(r.firstAllReadyMs));
  kv('all READY (last)', ms(r.lastAllReadyMs));
  kv('node → READY', `p50 ${ms(r.timeToReadyMs.p50)}, p95 ${ms(r.timeToReadyMs.p95)}, max ${ms(r.timeToReadyMs.max)}, never ${r.timeToReadyMs.never}`);
  kv('link msgs/node', `mean ${n0(r.linkMsgsPerNode.mean)}, max ${n0(r.linkMsgsPerNode.max)}  (${n0(r.linkMsgsLost)} lost)`);
  kv('link bytes/node', `mean ${kb(r.linkBytesPerNode.mean)}, max ${kb(r.linkBytesPerNode.max)}`);
  kv('signaling pubs/node', `mean ${n0(r.sigFramesPerNode.mean)}, max ${n0(r.sigFramesPerNode.max)}; ${kb(r.sigBytesPerNode.mean)}/node; server relayed ${n0(r.relayedFrames)}`);
  const rej = Object.entries(r.rejections);
  kv('rejections (honest)', rej.length ? rej.map(([k, v]) => `${k} ${v}`).join(', ') : 'none');
  kv('transitions', Object.entries(r.transitions).map(([k, v]) => `${k} ${v}`).join(', '));
  if (r.byzantine > 0) {
    const b = r.attacks;
    kv('byzantine attacks', Object.entries(b.launched).map(([k, v]) => `${k} ${v}`).join(', ') || 'none');
    const by = Object.entries(b.acceptedBy).map(([k, v]) => `${k} ${v}`).join(', ');
    kv('byzantine deliveries', `rejected ${b.rejected} (state change due anyway: ${b.triggered}), no effect ${b.ignored}, accepted ${b.accepted}${by ? ` (${by})` : ''}`);
  }
  kv('events', `${n0(r.events)}  trace digest ${r.traceDigest}`);
  for (const inv of r.invariants) {
    kv(`invariant`, `${inv.name}: ${inv.ok ? 'OK' : `FAILED (${inv.failures.length})`}`);
    for (const f of inv.failures.slice(0, 10)) lines.push(`    - ${f.message}`);
    if (inv.failures.length > 10) lines.push(`    … ${inv.failures.length - 10} more`);
  }
  kv('result', r.ok ? 'OK' : `FAILED — replay with --seed ${r.seed}`);
  return lines.join('\n') + '\n';
}
