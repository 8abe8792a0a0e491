/**
 * Invariants checked after every simulation run.
 *
 * An {@link Invariant} looks at the finished {@link SimCluster} and returns what is
 * wrong (nothing when it holds). The list is an extension point: pass
 * `invariants: [...DEFAULT_INVARIANTS, mine]` to {@link runSimulation}. Each failure
 * names the seed, so `npm run simulate -- --seed <seed> …` replays it.
 */
import { concatBytes, equalBytes, toHex, utf8Encode } from '../crypto/bytes.js';
import { sign } from '../crypto/identity.js';
import { isKpcError } from '../errors.js';
import { canonicalJson, type JsonValue } from '../protocol/index.js';
import { canTransition } from '../state/machine.js';
import { DELTA_DOMAIN, compareHlc, encodeDelta, type Delta, type Entry, type EntryWrite } from '../sync/index.js';
import type { SimCluster, SimNode } from './cluster.js';

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

// ─── replicated state and consensus ─────────────────────────────────────────────

const short = (id: string | undefined): string => (id ?? '?').slice(0, 8);
const tsText = (e: { ts: { wall: number; counter: number } }): string => `${e.ts.wall}.${e.ts.counter}`;

/** A write's value as text (canonical JSON, or hex for binary kinds; tombstones `∅`). */
export function valueText(w: Pick<EntryWrite, 'value'>): string {
  return w.value === null ? '∅' : w.value instanceof Uint8Array ? `0x${toHex(w.value)}` : canonicalJson(w.value as JsonValue);
}

/** One entry as comparable text: key, writer, timestamp, kind, value. */
export function entryText(e: Entry): string {
  return `${e.key} ${e.writer} ${tsText(e)} ${e.kind} ${valueText(e)}`;
}

/** Live entries of an up node, or null when its replica is not open (yet). */
function entriesOf(n: SimNode): Entry[] | null {
  try {
    return n.pi ? n.pi.entries() : null;
  } catch {
    return null;
  }
}

/** True while a partition or a signaling outage is still in force (state may legitimately differ). */
export function faultInForce(sim: SimCluster): boolean {
  return sim.net.partitioned || sim.servers.some((s) => !s.up);
}

/** Whether every honest running node holds the same live entries now, with no fault in force. */
export function isConverged(sim: SimCluster): boolean {
  return !faultInForce(sim) && stateConverged.check(sim).length === 0;
}

/**
 * (a) Convergence: once healed and settled, every honest running node holds identical
 * live entries (key, writer, timestamp, kind, value). Skipped while a partition or an
 * outage is still in force at the end. Nodes that differ from the largest group are
 * reported with the first key where they differ.
 */
export const stateConverged: Invariant = {
  name: 'state-converged',
  check(sim) {
    if (faultInForce(sim)) return [];
    const groups = new Map<string, { nodes: SimNode[]; lines: string[] }>();
    const out: Violation[] = [];
    for (const n of sim.honestUp()) {
      const entries = entriesOf(n);
      if (!entries) {
        out.push({ node: n.nodeId, message: `#${n.index} has no open replica at the end` });
        continue;
      }
      const lines = entries.map(entryText);
      const fp = lines.join('\n');
      const g = groups.get(fp);
      if (g) g.nodes.push(n);
      else groups.set(fp, { nodes: [n], lines });
    }
    if (groups.size <= 1) return out;
    const sorted = [...groups.values()].sort((a, b) => b.nodes.length - a.nodes.length || a.nodes[0].index - b.nodes[0].index);
    const ref = sorted[0];
    const refByKey = new Map(ref.lines.map((l) => [l.slice(0, l.indexOf(' ')), l]));
    for (const g of sorted.slice(1)) {
      const mine = new Map(g.lines.map((l) => [l.slice(0, l.indexOf(' ')), l]));
      const keys = [...new Set([...refByKey.keys(), ...mine.keys()])].sort();
      const k = keys.find((key) => refByKey.get(key) !== mine.get(key))!;
      const ids = g.nodes.map((n) => `#${n.index}`).join(',');
      out.push({
        node: g.nodes[0].nodeId,
        message: `${ids} differ from the ${ref.nodes.length} node(s) of #${ref.nodes[0].index}'s state (${g.lines.length} vs ${ref.lines.length} entries); first at ${k}: ${mine.get(k) ?? 'absent'} vs ${refByKey.get(k) ?? 'absent'}`,
      });
    }
    return out;
  },
};

/**
 * (b) No acknowledged write lost: for every write whose `put` resolved, every honest
 * running node holds, under that key, that very write or one that wins over it by the
 * last-write-wins rule (greater (ts, writer)). Holds whatever faults are still in force:
 * a write is only acknowledged once durable, and nothing may ever roll a key back.
 * A node that was down when the write spread counts too: it must have caught up since.
 * Unlike convergence this is not skipped during a partition — but a node cut off since
 * before the write cannot have it, so only nodes on the writer's side are checked then.
 */
export const ackedWritesKept: Invariant = {
  name: 'acked-writes-kept',
  check(sim) {
    const acked = sim.workload.acked();
    if (acked.length === 0) return [];
    const out: Violation[] = [];
    const reach = sim.net.partitioned ? (a: string, b: string) => sim.net.reachable(a, b) : () => true;
    for (const n of sim.honestUp()) {
      const entries = entriesOf(n);
      if (!entries) continue; // reported by state-converged
      const byKey = new Map(entries.map((e) => [e.key, e]));
      let lost = 0;
      let first = '';
      for (const w of acked) {
        if (!reach(n.nodeId, w.writer!)) continue;
        const e = byKey.get(w.key);
        const cmp = e ? compareHlc(e.ts, w.ts!) || (e.writer === w.writer ? 0 : e.writer < w.writer! ? -1 : 1) : -1;
        const bad = cmp < 0 || (cmp === 0 && valueText(e!) !== canonicalJson(w.value));
        if (!bad) continue;
        if (lost++ === 0) {
          const had = e ? `${short(e.writer)} ${tsText(e)} ${valueText(e)}` : 'nothing';
          first = `${w.key} = ${canonicalJson(w.value)} by #${w.node} (${w.ts!.wall}.${w.ts!.counter}, acked at ${w.ackAt!.toFixed(0)}ms) but holds ${had}`;
        }
      }
      if (lost > 0) out.push({ node: n.nodeId, message: `#${n.index} lost ${lost} acknowledged write(s); first: ${first}` });
    }
    return out;
  },
};

/**
 * (c) No conflicting consensus commits: for every slot, every honest node that
 * committed it (in any of its lives) holds the same decision id. A restarted node
 * starts a new consensus engine, so one node may commit a slot twice; it must commit
 * the same decision.
 */
export const consensusAgreement: Invariant = {
  name: 'consensus-agreement',
  check(sim) {
    const bySlot = new Map<number, Map<string, Set<number>>>();
    for (const c of sim.workload.commits) {
      if (sim.nodes[c.node].byzantine) continue;
      let ids = bySlot.get(c.decision.slot);
      if (!ids) bySlot.set(c.decision.slot, (ids = new Map()));
      let who = ids.get(c.decision.id);
      if (!who) ids.set(c.decision.id, (who = new Set()));
      who.add(c.node);
    }
    const out: Violation[] = [];
    for (const [slot, ids] of [...bySlot].sort((a, b) => a[0] - b[0])) {
      if (ids.size <= 1) continue;
      const desc = [...ids].map(([id, who]) => `${id.slice(0, 12)} by ${[...who].map((i) => `#${i}`).join(',')}`).join(' vs ');
      out.push({ message: `slot ${slot} committed ${ids.size} different decisions: ${desc}` });
    }
    return out;
  },
};

const SIGNATURE_BYTES = 64;
const DELTA_PREFIX = utf8Encode(`${DELTA_DOMAIN}\0`);

/**
 * Whether `node` itself signed `d`: its signature is what `node`'s secret key makes of
 * the delta's body (Ed25519 and the stand-in are deterministic). Independent of the
 * verification path under test, and of the key the delta claims.
 */
function signedByNode(d: Delta, node: SimNode): boolean {
  const bytes = encodeDelta(d);
  const body = bytes.subarray(0, bytes.length - SIGNATURE_BYTES);
  return equalBytes(sign(node.identity, concatBytes(DELTA_PREFIX, body)), bytes.subarray(bytes.length - SIGNATURE_BYTES));
}

/**
 * (d) Byzantine nodes cannot change honest state. In this model byzantine nodes never
 * write or propose on their own (they only forge, replay and garble), so:
 * - every live entry on an honest node is a write its writer really signed (found, same
 *   key, timestamp, kind and value, in a delta on the writer's disk whose signature the
 *   writer's own secret key reproduces) — no forged or tampered write survives;
 * - no workload key (`w/…`) has a byzantine writer. (A byzantine PiNode that executes a
 *   committed decision writes its `cluster/…` key validly, as every member does; that
 *   is a valid write of a decision honest nodes agreed on, and allowed.)
 * - every decision an honest node committed was proposed by an honest node, with the
 *   kind and payload that node's workload proposed.
 */
export const byzantinePowerless: Invariant = {
  name: 'byzantine-powerless',
  check(sim) {
    const byId = new Map(sim.nodes.map((n) => [n.nodeId, n]));
    const signed = new Map<string, Set<string> | null>();
    const signedBy = (writer: SimNode): Set<string> | null => {
      if (signed.has(writer.nodeId)) return signed.get(writer.nodeId)!;
      let set: Set<string> | null = null;
      if (sim.disk.has(writer.nodeId)) {
        // The writer's disk also holds whatever it accepted in its own name: only deltas it really signed count.
        set = new Set();
        for (const d of sim.disk.ownDeltas(writer.nodeId)) {
          if (signedByNode(d, writer)) for (const w of d.writes) set.add(entryText({ ...w, writer: writer.nodeId }));
        }
      }
      signed.set(writer.nodeId, set);
      return set;
    };
    const out: Violation[] = [];
    for (const n of sim.honestUp()) {
      const problems: string[] = [];
      for (const e of entriesOf(n) ?? []) {
        const w = byId.get(e.writer);
        if (!w) problems.push(`${e.key} written by unknown ${short(e.writer)}`);
        else if (w.byzantine && e.key.startsWith('w/')) problems.push(`${e.key} written by byzantine #${w.index}`);
        else {
          const own = signedBy(w);
          if (own && !own.has(entryText(e))) problems.push(`${e.key} = ${valueText(e)} (${tsText(e)}) is not a write #${w.index} signed`);
        }
      }
      if (problems.length > 0) out.push({ node: n.nodeId, message: `#${n.index}: ${problems.length} forged entr${problems.length === 1 ? 'y' : 'ies'}; first: ${problems[0]}` });
    }
    const proposed = new Set(sim.workload.proposals.map((p) => `${sim.nodes[p.node].nodeId} ${p.kind} ${canonicalJson(p.payload)}`));
    const seen = new Set<string>();
    for (const c of sim.workload.commits) {
      if (sim.nodes[c.node].byzantine || seen.has(c.decision.id)) continue;
      seen.add(c.decision.id);
      const d = c.decision;
      const p = byId.get(d.proposer);
      if (!p || p.byzantine) out.push({ node: sim.nodes[c.node].nodeId, message: `#${c.node} committed slot ${d.slot} proposed by ${p ? `byzantine #${p.index}` : `unknown ${short(d.proposer)}`}` });
      else if (!proposed.has(`${d.proposer} ${d.kind} ${canonicalJson(d.payload)}`)) {
        out.push({ node: sim.nodes[c.node].nodeId, message: `#${c.node} committed slot ${d.slot}: a ${d.kind} #${p.index} never proposed` });
      }
    }
    return out;
  },
};

/** The state invariants: convergence, durability of acknowledged writes, consensus agreement, byzantine powerlessness. */
export const STATE_INVARIANTS: readonly Invariant[] = Object.freeze([stateConverged, ackedWritesKept, consensusAgreement, byzantinePowerless]);

/** The invariants every run checks by default. */
export const DEFAULT_INVARIANTS: readonly Invariant[] = Object.freeze([readyAfterHeal, validTransitions, noUncaughtErrors, byzantineContained, ...STATE_INVARIANTS]);

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
