/**
 * Who holds what, by capacity: a real model's blocks cut into contiguous segments sized
 * to what the nodes may hold (procedural models use the even split of `assignSegments`).
 * Every node computes the same assignment from the same budgets, with no coordination.
 *
 * **Rules.**
 * - *Determinism.* The input order of `nodes` never matters: ids are deduplicated (a
 *   repeated id keeps its smallest budget) and ranked by rendezvous hash, ties by id.
 *   Only integer and basic IEEE arithmetic is used (+ − × ÷, comparisons; no log/exp/pow);
 *   budgets are floored to whole bytes and capped at 2^53 − 1, byte counts must be safe
 *   integers, so every sum is exact and a ratio bytes/capacity ≤ 1 exactly when it fits.
 * - *Usable nodes.* A node with budget ≤ 0 is ignored. So is one whose budget is below
 *   the smallest one-block segment (the least any holder can be given): it can never hold
 *   anything, and leaving it in a group would only sink that group. Usable nodes are ranked
 *   by `rankMembers(modelId, 0, L, usable)`.
 * - *Groups.* With r = `replicas` and M usable nodes, the ranking is cut into
 *   G = min(L, ⌊M/r⌋) groups of r consecutive nodes (the rest are spares). A group's
 *   capacity is the smallest budget in it. Fewer than r nodes with a positive budget throws
 *   `INFER_NO_QUORUM`.
 * - *Cuts.* Group i takes the non-empty blocks [from_i, to_i), in order, covering [0, L);
 *   group 0 also holds the embedding, the last group the head. The cuts minimise the
 *   largest segmentBytes/capacity over the groups (exact DP over cut points, O(G·L²));
 *   among equal optima the lexicographically smallest cut vector wins.
 * - *Fewer groups.* If even the best cut overflows some group, the first G − 1, …, 1
 *   groups are tried in turn (fewer, larger segments); the largest count that fits wins.
 * - *Does not fit.* Otherwise `MODEL_DOES_NOT_FIT` with `{ needed, available, missing }`:
 *   needed = r × (Σ blocks + embedding + head), available = Σ positive budgets, and
 *   missing = max(needed − available, X), where X is the least number of bytes that, added
 *   to every group's capacity, would let some tried group count fit (when fewer than r
 *   nodes can hold even one block: the shortfall of the r-th largest budget against the
 *   smallest one-block segment). It is a lower bound of what must be added.
 * - *Holders and ranking.* Segment i's holders are group i's nodes in rank order; its
 *   ranking (where failover replacements come from) is the holders, then every other
 *   usable node in `rankMembers(modelId, from, to, …)` order. Nodes that hold neighbouring
 *   blocks may appear there; ignored nodes never do.
 */
import { KpcError } from '../../errors.js';
import { rankMembers, type SegmentAssignment } from './assignment.js';

/** A node and the bytes of model weights it may hold. */
export interface NodeBudget {
  /** Node id (a hex string). */
  id: string;
  /** Bytes this node may hold; ≤ 0 means it holds nothing. */
  budget: number;
}

/** What a model's pieces weigh, in bytes. */
export interface ModelFootprint {
  /** Bytes of each block's tensors; index = block. */
  blockBytes: readonly number[];
  /** Token embedding: held by the first segment's holders. */
  embedBytes: number;
  /** Final norm + output matrix as the last segment must fetch it (the embedding's size again when tied). */
  headBytes: number;
}

/** A segment, its holders and ranking, and what each holder holds. */
export interface CapacityAssignment extends SegmentAssignment {
  /** Bytes each holder of this segment holds (its {@link segmentBytes}). */
  bytes: number;
}

const MIB = 1024 * 1024;
const mib = (n: number): string => (n / MIB).toFixed(2);

function bad(field: string, message: string): never {
  throw new KpcError('INFER_BAD_INPUT', message, { field });
}

const isBytes = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function checkFootprint(fp: ModelFootprint): void {
  if (!Array.isArray(fp.blockBytes) || fp.blockBytes.length < 1) bad('blockBytes', 'blockBytes must list at least one block');
  fp.blockBytes.forEach((b, i) => {
    if (!isBytes(b)) bad('blockBytes', `blockBytes[${i}] must be a non-negative safe integer, got ${String(b)}`);
  });
  if (!isBytes(fp.embedBytes)) bad('embedBytes', `embedBytes must be a non-negative safe integer, got ${String(fp.embedBytes)}`);
  if (!isBytes(fp.headBytes)) bad('headBytes', `headBytes must be a non-negative safe integer, got ${String(fp.headBytes)}`);
}

/**
 * Bytes a holder of blocks [from, to) holds: those blocks, plus the embedding when
 * `from` is 0 and the head when `to` is `layers`.
 *
 * @param layers - the model's block count (defaults to `blockBytes.length`)
 * @throws KpcError `INFER_BAD_INPUT` when the range is not a non-empty part of [0, layers)
 */
export function segmentBytes(footprint: ModelFootprint, from: number, to: number, layers = footprint.blockBytes.length): number {
  if (!Number.isInteger(layers) || layers < 1 || layers > footprint.blockBytes.length) bad('layers', `layers must be in [1, ${footprint.blockBytes.length}], got ${String(layers)}`);
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to <= from || to > layers) {
    bad('range', `[${String(from)}, ${String(to)}) is not a non-empty range of [0, ${layers})`);
  }
  let sum = 0;
  for (let b = from; b < to; b++) sum += footprint.blockBytes[b];
  return sum + (from === 0 ? footprint.embedBytes : 0) + (to === layers ? footprint.headBytes : 0);
}

/**
 * Assigns a model's blocks to nodes by what they can hold (rules in the module comment).
 *
 * @param modelId - the model's id (part of the rendezvous hash)
 * @param footprint - the bytes of each block, the embedding and the head
 * @param nodes - node ids and budgets (order does not matter)
 * @param replicas - nodes per segment, r ≥ 1
 * @returns the segments in block order, each with r distinct holders; a node holds at most one segment
 * @throws KpcError `INFER_BAD_INPUT` (bad numbers), `INFER_NO_QUORUM` (fewer than r nodes with a
 *   positive budget), `MODEL_DOES_NOT_FIT` (no placement fits; detail `{ needed, available, missing }`)
 */
export function assignByCapacity(modelId: string, footprint: ModelFootprint, nodes: readonly NodeBudget[], replicas = 1): CapacityAssignment[] {
  checkFootprint(footprint);
  const r = replicas;
  if (!Number.isInteger(r) || r < 1) bad('replicas', `replicas must be a positive integer, got ${String(r)}`);
  const budget = new Map<string, number>();
  for (const n of nodes) {
    if (typeof n.id !== 'string' || n.id === '') bad('nodes', 'node ids must be non-empty strings');
    if (typeof n.budget !== 'number' || Number.isNaN(n.budget)) bad('nodes', `budget of ${n.id} must be a number, got ${String(n.budget)}`);
    const b = Math.min(Math.floor(n.budget), Number.MAX_SAFE_INTEGER);
    budget.set(n.id, Math.min(b, budget.get(n.id) ?? b));
  }
  const budgetOf = (id: string): number => budget.get(id)!;
  const positive = [...budget.keys()].filter((id) => budgetOf(id) > 0).sort();
  if (positive.length < r) {
    throw new KpcError('INFER_NO_QUORUM', `replicas ${r} needs ${r} nodes with a budget; ${positive.length} have one`, { members: positive.length, redundancy: r });
  }

  const L = footprint.blockBytes.length;
  const E = footprint.embedBytes;
  const H = footprint.headBytes;
  const P = [0];
  for (const b of footprint.blockBytes) P.push(P[P.length - 1] + b);
  const bytes = (i: number, j: number): number => P[j] - P[i] + (i === 0 ? E : 0) + (j === L ? H : 0);
  const total = bytes(0, L);
  if (!Number.isSafeInteger(r * total)) bad('blockBytes', 'the model is too large to count in safe integers');
  let minSeg = Infinity;
  for (let b = 0; b < L; b++) minSeg = Math.min(minSeg, bytes(b, b + 1));

  const needed = r * total;
  const available = positive.reduce((s, id) => s + budgetOf(id), 0);
  const fail = (over: number): never => {
    const missing = Math.max(needed - available, over);
    throw new KpcError(
      'MODEL_DOES_NOT_FIT',
      `model ${modelId} needs ${mib(needed)} MiB (${r} × ${mib(total)} MiB) across nodes offering ${mib(available)} MiB ` +
        `and no placement fits: at least ${mib(missing)} MiB (${missing} bytes) missing; add nodes or raise their budgets`,
      { needed, available, missing },
    );
  };
  const usable = positive.filter((id) => budgetOf(id) >= minSeg);
  if (usable.length < r) fail(minSeg - positive.map(budgetOf).sort((a, b) => b - a)[r - 1]);

  const ranked = rankMembers(modelId, 0, L, usable);
  const G = Math.min(L, Math.floor(ranked.length / r));
  const groups = Array.from({ length: G }, (_, k) => ranked.slice(k * r, k * r + r));
  const caps = groups.map((g) => Math.min(...g.map(budgetOf)));
  const ratio = (g: number, i: number, j: number): number => bytes(i, j) / caps[g];

  // Prefix DP over [0, j) split into groups 0..g, both objectives at once: the least worst
  // ratio (for the cut) and the least worst overflow in bytes (exact; decides fit and X).
  // Only a segment ending at L holds the head, so row g at j = L scores g + 1 groups.
  let rat = new Float64Array(L + 1).fill(Infinity);
  let over = new Float64Array(L + 1).fill(Infinity);
  for (let j = 1; j <= L; j++) {
    rat[j] = ratio(0, 0, j);
    over[j] = bytes(0, j) - caps[0];
  }
  const worst = [rat[L]];
  const overflow = [over[L]];
  for (let g = 1; g < G; g++) {
    const nr = new Float64Array(L + 1).fill(Infinity);
    const no = new Float64Array(L + 1).fill(Infinity);
    for (let j = g + 1; j <= L; j++) {
      let br = Infinity;
      let bo = Infinity;
      // Last segment [i, j), i from j − 1 down: its bytes only grow, so once both its
      // ratio and its overflow reach the best found, no smaller i can do better.
      for (let i = j - 1; i >= g; i--) {
        const b = bytes(i, j);
        const q = b / caps[g];
        const o = b - caps[g];
        if (q >= br && o >= bo) break;
        const x = rat[i] > q ? rat[i] : q;
        if (x < br) br = x;
        const y = over[i] > o ? over[i] : o;
        if (y < bo) bo = y;
      }
      nr[j] = br;
      no[j] = bo;
    }
    rat = nr;
    over = no;
    worst.push(rat[L]);
    overflow.push(over[L]);
  }
  let n = G;
  while (n > 0 && overflow[n - 1] > 0) n--;
  if (n === 0) fail(Math.min(...overflow));

  // Suffix feasibility at the optimum V, then the smallest cut at each step: the
  // lexicographically smallest cut vector among those whose worst ratio is V.
  const V = worst[n - 1];
  const ok = Array.from({ length: n + 1 }, () => new Uint8Array(L + 1));
  ok[n][L] = 1;
  for (let g = n - 1; g >= 0; g--) {
    for (let i = g; i <= L - (n - g); i++) {
      for (let j = i + 1; j <= L - (n - 1 - g); j++) {
        if (ratio(g, i, j) > V) break; // only grows with j
        if (ok[g + 1][j]) {
          ok[g][i] = 1;
          break;
        }
      }
    }
  }
  const out: CapacityAssignment[] = [];
  let from = 0;
  for (let g = 0; g < n; g++) {
    let to = from + 1;
    while (!(ok[g + 1][to] && ratio(g, from, to) <= V)) to++;
    const holders = groups[g];
    const others = rankMembers(modelId, from, to, usable).filter((id) => !holders.includes(id));
    out.push({ from, to, holders: [...holders], ranking: [...holders, ...others], bytes: bytes(from, to) });
    from = to;
  }
  return out;
}

/** One line per segment, e.g. `[0,3) 1.17 MiB ×2: a1,b2`, for logs and tests. */
export function describeAssignment(a: readonly CapacityAssignment[]): string {
  return a.map((s) => `[${s.from},${s.to}) ${mib(s.bytes)} MiB ×${s.holders.length}: ${s.holders.join(',')}`).join('\n');
}
