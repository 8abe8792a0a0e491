/**
 * Running a simulation end to end and reporting it: metrics, invariants, and a
 * printable summary whose every line is a function of the config (wall time is
 * reported separately), so two runs of one seed print byte-identical summaries.
 */
import { SimCluster, type SimConfig } from './cluster.js';
import { describeFault } from './faults.js';
import { DEFAULT_INVARIANTS, checkInvariants, isConverged, type Invariant, type InvariantResult } from './invariants.js';

/** Mean and maximum over nodes. */
export interface Spread {
  mean: number;
  max: number;
}

/** What became of the replicated state and of consensus. */
export interface StateReport {
  writes: { planned: number; acked: number; failed: number; skipped: number; pending: number };
  proposals: { planned: number; committed: number; skipped: number; pending: number; failed: Record<string, number> };
  /** Distinct slots honest nodes committed, and commit events on honest nodes (all lives). */
  decisions: number;
  commits: number;
  /** Remote deltas honest nodes applied (stored), in total and per node. */
  deltasApplied: number;
  deltasAppliedPerNode: Spread;
  /** Live entries on the first honest running node at the end. */
  entries: number;
  /** Virtual time of the last acknowledged write or fault: where convergence is measured from (null: neither). */
  settleFromMs: number | null;
  /** Virtual time every honest running node's state last changed, if they end identical (else null). */
  convergedAtMs: number | null;
  /** `convergedAtMs − settleFromMs` (0 if nothing changed after it), null if not converged. */
  convergenceMs: number | null;
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
  /** Data-channel messages plus signaling publishes per node, and their bytes. */
  msgsPerNode: Spread;
  bytesPerNode: Spread;
  /** Writes, proposals, decisions, sync and convergence. */
  state: StateReport;
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

/**
 * The `npm run simulate` command line that replays `config` (every knob the CLI has; a
 * config using hooks, explicit faults or network knobs beyond drop/duplicate/reorder
 * replays only in code, which the line then says).
 */
export function replayCommand(config: SimConfig): string {
  const a: string[] = ['npm run simulate --', `--seed ${JSON.stringify(String(config.seed)).replace(/^"([\w:.-]+)"$/, '$1')}`, `--nodes ${config.nodes}`];
  const opt = (flag: string, v: number | string | undefined) => v !== undefined && a.push(`--${flag} ${v}`);
  const on = (flag: string, v: boolean | undefined) => v && a.push(`--${flag}`);
  opt('duration', config.durationMs);
  opt('byzantine', config.byzantine);
  opt('byzantine-interval', config.byzantineIntervalMs);
  if (config.attacks) opt('attacks', config.attacks.join(','));
  opt('drop', config.network?.drop);
  opt('duplicate', config.network?.duplicate);
  opt('reorder', config.network?.reorder);
  opt('latency', config.latencyMs);
  opt('signaling-latency', config.signalingLatencyMs);
  on('partition', config.partition);
  on('partition-signaling', config.partitionSignaling);
  on('crash', config.crash);
  opt('crash-fraction', config.crashFraction);
  on('clock-step', config.clockStep);
  opt('skew', config.skewMs);
  on('signaling-outage', config.signalingOutage);
  opt('servers', config.signalingServers);
  opt('join', config.joinWindowMs);
  const w = config.workload;
  if (w === undefined || w === false) a.push('--no-workload');
  else if (typeof w === 'object') {
    opt('writes', w.writesPerNode);
    opt('proposals', w.proposals);
    opt('workload-until', w.untilMs);
  }
  const n = config.node ?? {};
  opt('heartbeat', n.heartbeatMs);
  opt('discovery', n.discoveryWindowMs);
  opt('connect-timeout', n.connectTimeoutMs);
  opt('min-peers', n.minPeers);
  opt('max-peers', n.maxPeers);
  const codeOnly = config.faults?.length || config.onNode || config.nodeOptions || config.storageFor || (typeof w === 'object' && (w.fromMs !== undefined || w.sharedKeys !== undefined || w.ownKeys !== undefined || w.sharedFraction !== undefined || w.burstFraction !== undefined));
  return a.join(' ') + (codeOnly ? '   (plus options only code can set: replay with runSimulation)' : '');
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
  const state = stateReport(sim);
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
    msgsPerNode: spread(tr.map((t) => t.linkMsgsOut + t.sigFramesOut)),
    bytesPerNode: spread(tr.map((t) => t.linkBytesOut + t.sigBytesOut)),
    state,
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

/** Writes, proposals, decisions, deltas applied and convergence of a finished run. */
export function stateReport(sim: SimCluster): StateReport {
  const wl = sim.workload;
  const count = <T extends { status: string }>(xs: readonly T[], s: string) => xs.filter((x) => x.status === s).length;
  const failed = new Map<string, number>();
  for (const p of wl.proposals) if (p.status === 'failed') failed.set(p.error ?? '?', (failed.get(p.error ?? '?') ?? 0) + 1);
  const honestCommits = wl.commits.filter((c) => !sim.nodes[c.node].byzantine);
  const honest = sim.nodes.filter((n) => !n.byzantine);
  const applied = honest.map((n) => sim.disk.stats.get(n.nodeId)?.remote ?? 0);
  const up = sim.honestUp();
  let entries = 0;
  try {
    entries = up[0]?.pi?.entries().length ?? 0;
  } catch {
    entries = 0;
  }
  const faultTimes = sim.faults.map((f) => f.at).filter((t) => t <= sim.cfg.durationMs);
  const marks = [...faultTimes, ...(wl.lastAckAt === null ? [] : [wl.lastAckAt])];
  const settleFromMs = marks.length ? Math.max(...marks) : null;
  let convergedAtMs: number | null = null;
  if (up.length > 0 && isConverged(sim)) {
    convergedAtMs = Math.max(...up.map((n) => wl.lastChangeAt[n.index] ?? 0));
  }
  return {
    writes: { planned: wl.writes.length, acked: count(wl.writes, 'acked'), failed: count(wl.writes, 'failed'), skipped: count(wl.writes, 'skipped'), pending: count(wl.writes, 'pending') },
    proposals: { planned: wl.proposals.length, committed: count(wl.proposals, 'committed'), skipped: count(wl.proposals, 'skipped'), pending: count(wl.proposals, 'pending'), failed: sortedCounts(failed) },
    decisions: new Set(honestCommits.map((c) => c.decision.slot)).size,
    commits: honestCommits.length,
    deltasApplied: applied.reduce((a, b) => a + b, 0),
    deltasAppliedPerNode: spread(applied),
    entries,
    settleFromMs,
    convergedAtMs,
    convergenceMs: convergedAtMs === null ? null : Math.max(0, convergedAtMs - (settleFromMs ?? 0)),
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
  kv('msgs/node (both)', `mean ${n0(r.msgsPerNode.mean)}, max ${n0(r.msgsPerNode.max)}; ${kb(r.bytesPerNode.mean)}/node`);
  const st = r.state;
  if (st.writes.planned > 0 || st.proposals.planned > 0) {
    const w = st.writes;
    kv('writes', `${n0(w.planned)} planned: acked ${n0(w.acked)}, failed ${n0(w.failed)}, skipped (node down) ${n0(w.skipped)}, pending ${n0(w.pending)}`);
    const p = st.proposals;
    const pf = Object.entries(p.failed).map(([k, v]) => `${k} ${v}`).join(', ');
    kv('proposals', `${p.planned} planned: committed ${p.committed}, failed ${pf || '0'}, skipped ${p.skipped}, pending ${p.pending}`);
  }
  kv('decisions', `${st.decisions} slot(s) committed; ${n0(st.commits)} commits on honest nodes`);
  kv('sync', `${n0(st.deltasApplied)} remote deltas applied (mean ${n0(st.deltasAppliedPerNode.mean)}/node, max ${n0(st.deltasAppliedPerNode.max)}); ${n0(st.entries)} live entries`);
  kv(
    'convergence',
    st.convergedAtMs === null
      ? 'not converged at the end'
      : `${ms(st.convergenceMs)} after the last write/fault at ${ms(st.settleFromMs)} (identical state from ${ms(st.convergedAtMs)})`,
  );
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
