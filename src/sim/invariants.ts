/**
 * Invariants checked after every simulation run.
 *
 * An {@link Invariant} looks at the finished {@link SimCluster} and returns what is
 * wrong (nothing when it holds). The list is an extension point: pass
 * `invariants: [...DEFAULT_INVARIANTS, mine]` to {@link runSimulation}. Each failure
 * names the seed, so `npm run simulate -- --seed <seed> …` replays it.
 */
import { isKpcError } from '../errors.js';
import { canTransition } from '../state/machine.js';
import type { SimCluster } from './cluster.js';

/** One thing an invariant found wrong. */
export interface Violation {
  /** Node id concerned, if any. */
  node?: string;
  message: string;
}

/** A property every run must have. */
export interface Invariant {
  /** Short kebab-case name, printed in summaries. */
  readonly name: string;
  /** What is wrong at the end of the run; empty when the property holds. */
  check(sim: SimCluster): Violation[];
}

/** A failed invariant with the seed that reproduces it. */
export interface InvariantFailure extends Violation {
  invariant: string;
  seed: string;
}

/** Result of one invariant. */
export interface InvariantResult {
  name: string;
  ok: boolean;
  failures: InvariantFailure[];
}

/**
 * Every honest node that is up ends READY with at least `min(minPeers, honest others up)`
 * open links to running nodes. Skipped while a partition or a signaling outage is
 * still in force at the end (the run then shows the fault, not the recovery).
 */
export const readyAfterHeal: Invariant = {
  name: 'ready-after-heal',
  check(sim) {
    if (sim.net.partitioned || sim.servers.some((s) => !s.up)) return [];
    const up = sim.honestUp();
    const live = new Set(sim.nodes.filter((n) => n.up).map((n) => n.nodeId));
    const need = Math.min(sim.cfg.node.minPeers, up.length - 1);
    const out: Violation[] = [];
    for (const n of up) {
      const state = n.pi?.state ?? 'OFFLINE';
      const peers = (n.pi?.peers ?? []).filter((p) => live.has(p.nodeId)).length;
      if (state !== 'READY') out.push({ node: n.nodeId, message: `#${n.index} ends ${state} (${peers} live peers)` });
      else if (peers < need) out.push({ node: n.nodeId, message: `#${n.index} is READY with ${peers} live peers, needs ${need}` });
    }
    return out;
  },
};

/**
 * No honest node attempted a transition spec §3 forbids, and every recorded history is a
 * valid chain (a PiNode restarting its own lifecycle after OFFLINE begins again at BOOTSTRAP).
 */
export const validTransitions: Invariant = {
  name: 'valid-transitions',
  check(sim) {
    const out: Violation[] = [];
    for (const e of sim.sched.errors) {
      if (!isKpcError(e.error, 'STATE_INVALID_TRANSITION')) continue;
      const n = sim.nodes[e.owner];
      if (n?.byzantine) continue;
      out.push({ node: n?.nodeId, message: `#${e.owner} at ${e.time.toFixed(0)}ms: ${e.error.message}` });
    }
    for (const n of sim.nodes) {
      if (n.byzantine) continue;
      n.lives.forEach((changes, life) => {
        let prev = 'BOOTSTRAP';
        for (const c of changes) {
          // After OFFLINE a PiNode may start a new lifecycle (a new machine, from BOOTSTRAP).
          if (prev === 'OFFLINE' && c.from === 'BOOTSTRAP') prev = 'BOOTSTRAP';
          if (c.from !== prev || !canTransition(c.from, c.to)) {
            out.push({ node: n.nodeId, message: `#${n.index} life ${life + 1}: recorded ${c.from} → ${c.to} after ${prev}` });
          }
          prev = c.to;
        }
      });
    }
    return out;
  },
};

/** No exception escaped node code (other than invalid transitions, reported above). */
export const noUncaughtErrors: Invariant = {
  name: 'no-uncaught-errors',
  check(sim) {
    return sim.sched.errors
      .filter((e) => !isKpcError(e.error, 'STATE_INVALID_TRANSITION') && !sim.nodes[e.owner]?.byzantine)
      .map((e) => ({
        node: sim.nodes[e.owner]?.nodeId,
        message: `#${e.owner} at ${e.time.toFixed(0)}ms: ${e.error instanceof Error ? `${e.error.name}: ${e.error.message}` : String(e.error)}`,
      }));
  },
};

/** Byzantine input never cost an honest node an honest link, nor changed its state by itself. */
export const byzantineContained: Invariant = {
  name: 'byzantine-contained',
  check(sim) {
    return sim.violations.map((v) => ({ node: v.node, message: `${v.node.slice(0, 8)} at ${v.time.toFixed(0)}ms via ${v.via}: ${v.what}` }));
  },
};

/**
 * Strict (opt-in): every byzantine input reaching an honest node was rejected or had
 * no visible effect; none made it start a link (e.g. a replayed announce).
 */
export const byzantineRejected: Invariant = {
  name: 'byzantine-rejected',
  check(sim) {
    const n = sim.byzantineOutcomes.accepted;
    return n === 0 ? [] : [{ message: `${n} byzantine input(s) were accepted (a link attempt or state change followed)` }];
  },
};

/** The invariants every run checks by default. */
export const DEFAULT_INVARIANTS: readonly Invariant[] = Object.freeze([readyAfterHeal, validTransitions, noUncaughtErrors, byzantineContained]);

/** Runs `invariants` against a finished run. */
export function checkInvariants(sim: SimCluster, invariants: readonly Invariant[] = DEFAULT_INVARIANTS): InvariantResult[] {
  return invariants.map((inv) => {
    let found: Violation[];
    try {
      found = inv.check(sim);
    } catch (err) {
      found = [{ message: `the check threw: ${String(err)}` }];
    }
    return { name: inv.name, ok: found.length === 0, failures: found.map((v) => ({ ...v, invariant: inv.name, seed: sim.cfg.seed })) };
  });
}
