/**
 * Fault schedules: what goes wrong, and when, in virtual time.
 *
 * A schedule is a plain list of {@link FaultEvent}s (node indices, not ids, so a
 * schedule reads the same for every seed). {@link planFaults} draws one from the
 * seed for the CLI's `--partition`, `--crash`, `--clock-step` and
 * `--signaling-outage` switches. Every generated fault ends by half of the run, so
 * the second half shows recovery, which is what the invariants check at the end.
 */
import type { Prng } from './prng.js';

/** One scheduled fault. */
export type FaultEvent =
  | {
      at: number;
      kind: 'partition';
      /** Node indices per side; unlisted nodes join group 0. */
      groups: number[][];
      /** The group that keeps the signaling servers; by default every group reaches them. */
      signalingGroup?: number;
    }
  | { at: number; kind: 'heal' }
  /** The node stops without a goodbye; its timers, links and signaling connections die. */
  | { at: number; kind: 'crash'; node: number }
  /** A new PiNode with the same identity and persisted storage. */
  | { at: number; kind: 'restart'; node: number }
  /** The node's wall clock jumps by `deltaMs` (NTP step, suspend/resume). */
  | { at: number; kind: 'clock-step'; node: number; deltaMs: number }
  | { at: number; kind: 'signaling-down'; server: number }
  | { at: number; kind: 'signaling-up'; server: number };

/** Which fault families to draw. */
export interface FaultPlanOptions {
  durationMs: number;
  nodes: number;
  /** Indices eligible for crashes and clock steps (honest nodes). */
  honest: readonly number[];
  partition?: boolean;
  /** Cut the minority side off the signaling servers too (default: servers reachable from both). */
  partitionSignaling?: boolean;
  crash?: boolean;
  /** Fraction of honest nodes that crash (default 0.1, at least one). */
  crashFraction?: number;
  clockStep?: boolean;
  signalingOutage?: boolean;
  servers?: number;
}

/** Draws a fault schedule from `rng` (sorted by time). */
export function planFaults(rng: Prng, o: FaultPlanOptions): FaultEvent[] {
  const d = o.durationMs;
  const out: FaultEvent[] = [];
  if (o.partition && o.nodes > 1) {
    const r = rng.fork('partition');
    const order = r.shuffle([...Array(o.nodes).keys()]);
    const cut = Math.max(1, Math.round(o.nodes * r.range(0.3, 0.5)));
    const at = d * r.range(0.15, 0.25);
    out.push({ at, kind: 'partition', groups: [order.slice(cut), order.slice(0, cut)], signalingGroup: o.partitionSignaling ? 0 : undefined });
    out.push({ at: d * r.range(0.4, 0.5), kind: 'heal' });
  }
  if (o.crash && o.honest.length > 0) {
    const r = rng.fork('crash');
    const count = Math.max(1, Math.round(o.honest.length * (o.crashFraction ?? 0.1)));
    for (const node of r.shuffle(o.honest).slice(0, count)) {
      const at = d * r.range(0.15, 0.35);
      out.push({ at, kind: 'crash', node });
      out.push({ at: Math.min(d * 0.5, at + r.range(2_000, 10_000)), kind: 'restart', node });
    }
  }
  if (o.clockStep && o.honest.length > 0) {
    const r = rng.fork('clock-step');
    const count = Math.max(1, Math.round(o.honest.length * 0.1));
    for (const node of r.shuffle(o.honest).slice(0, count)) {
      const sign = r.chance(0.5) ? 1 : -1;
      out.push({ at: d * r.range(0.15, 0.45), kind: 'clock-step', node, deltaMs: sign * Math.round(r.range(5_000, 60_000)) });
    }
  }
  if (o.signalingOutage) {
    const r = rng.fork('signaling-outage');
    const server = r.int(o.servers ?? 1);
    const at = d * r.range(0.15, 0.3);
    out.push({ at, kind: 'signaling-down', server });
    out.push({ at: at + d * r.range(0.05, 0.15), kind: 'signaling-up', server });
  }
  return out.sort((a, b) => a.at - b.at);
}

/** One line per fault, for the summary. */
export function describeFault(f: FaultEvent): string {
  const t = `${(f.at / 1000).toFixed(1)}s`;
  switch (f.kind) {
    case 'partition':
      return `${t} partition ${f.groups.map((g) => g.length).join('/')}${f.signalingGroup !== undefined ? ` (signaling: group ${f.signalingGroup})` : ''}`;
    case 'heal':
      return `${t} heal`;
    case 'crash':
    case 'restart':
      return `${t} ${f.kind} #${f.node}`;
    case 'clock-step':
      return `${t} clock-step #${f.node} ${f.deltaMs > 0 ? '+' : ''}${f.deltaMs}ms`;
    default:
      return `${t} ${f.kind} server ${f.server}`;
  }
}
