/**
 * Who computes what: the model's blocks cut into contiguous segments, each given to
 * members by rendezvous (highest-random-weight) hashing. Every node computes the same
 * assignment from the same member list, with no coordination.
 *
 * **The hash.** The score of member `id` for segment [from, to) of model `modelId` is
 * the first 8 bytes, big-endian, of
 *
 *   SHA-256(UTF-8("kpc/infer/rendezvous/v1\n" + modelId + "\n" + from + "-" + to + "\n" + id))
 *
 * compared as hex strings (same order as the integers), ties — never seen with a 64-bit
 * score — broken by node id. The model id and range are in the hash, the job is not: the
 * same nodes keep the same blocks across jobs, so their weight caches stay warm, and a
 * change of membership moves only the segments whose holders changed.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8Encode } from '../../crypto/bytes.js';
import { KpcError } from '../../errors.js';

/** Domain prefix of the rendezvous hash. */
export const RENDEZVOUS_DOMAIN = 'kpc/infer/rendezvous/v1';

/** A contiguous block range [from, to) and its holders, best first. */
export interface SegmentAssignment {
  from: number;
  to: number;
  /** The r nodes that compute it. */
  holders: string[];
  /** Every member in rendezvous order for this segment: replacements come from here. */
  ranking: string[];
}

/** The rendezvous score of `nodeId` for a segment (16 hex digits; higher wins). */
export function rendezvousScore(modelId: string, from: number, to: number, nodeId: string): string {
  return toHex(sha256(utf8Encode(`${RENDEZVOUS_DOMAIN}\n${modelId}\n${from}-${to}\n${nodeId}`)).subarray(0, 8));
}

/** Members in rendezvous order for a segment: highest score first. */
export function rankMembers(modelId: string, from: number, to: number, members: readonly string[]): string[] {
  const scored = [...new Set(members)].map((id) => ({ id, s: rendezvousScore(modelId, from, to, id) }));
  scored.sort((a, b) => (a.s !== b.s ? (a.s > b.s ? -1 : 1) : a.id < b.id ? -1 : 1));
  return scored.map((x) => x.id);
}

/**
 * Cuts `layers` blocks into `segments` contiguous ranges as even as possible:
 * range i is [⌊i·L/S⌋, ⌊(i+1)·L/S⌋).
 */
export function splitLayers(layers: number, segments: number): Array<[number, number]> {
  if (!Number.isInteger(segments) || segments < 1 || segments > layers) {
    throw new KpcError('INFER_BAD_INPUT', `segments must be an integer in [1, ${layers}], got ${String(segments)}`, { field: 'segments' });
  }
  const out: Array<[number, number]> = [];
  for (let i = 0; i < segments; i++) out.push([Math.floor((i * layers) / segments), Math.floor(((i + 1) * layers) / segments)]);
  return out;
}

/**
 * The assignment of a model's blocks to members.
 *
 * Segments default to min(members, layers). Each segment takes, for each of its r slots
 * in turn, its highest-ranked member that is not already in its group and holds fewer
 * than ⌈r·S/M⌉ slots (its fair share), so four members and four segments give one
 * segment each rather than what independent draws would (all distinct only 9 % of the
 * time). When a segment is stuck (only members already in its group are below their
 * share), it swaps one holder with another segment, which keeps every load within the
 * share.
 *
 * @param modelId - the model's id (part of the hash)
 * @param layers - the model's block count
 * @param members - node ids (order does not matter; duplicates ignored)
 * @param redundancy - nodes per segment, 1 ≤ r ≤ members
 * @param segments - optional segment count, 1 ≤ S ≤ layers
 * @throws KpcError `INFER_BAD_INPUT` (bad counts), `INFER_NO_QUORUM` (fewer members than r)
 */
export function assignSegments(modelId: string, layers: number, members: readonly string[], redundancy = 1, segments?: number): SegmentAssignment[] {
  const ids = [...new Set(members)].sort();
  if (!Number.isInteger(redundancy) || redundancy < 1) {
    throw new KpcError('INFER_BAD_INPUT', `redundancy must be a positive integer, got ${String(redundancy)}`, { field: 'redundancy' });
  }
  if (ids.length < redundancy) {
    throw new KpcError('INFER_NO_QUORUM', `redundancy ${redundancy} needs ${redundancy} nodes; ${ids.length} are ready`, { members: ids.length, redundancy });
  }
  const ranges = splitLayers(layers, segments ?? Math.min(ids.length, layers));
  const share = Math.ceil((redundancy * ranges.length) / ids.length);
  const load = new Map(ids.map((id) => [id, 0]));
  const out: SegmentAssignment[] = ranges.map(([from, to]) => ({ from, to, holders: [], ranking: rankMembers(modelId, from, to, ids) }));
  // Slot by slot across segments, so every segment gets its first holder before any gets a second.
  for (let slot = 0; slot < redundancy; slot++) {
    out.forEach((seg) => {
      const free = seg.ranking.filter((id) => !seg.holders.includes(id));
      let pick = free.find((id) => load.get(id)! < share);
      if (pick === undefined) {
        // Stuck: the members below their share all hold this segment already. Swap with
        // another segment t: t takes such a member u, this segment takes one of t's
        // holders h. One always exists — if every segment holding a full member also held
        // u, u would be over its share.
        const u = seg.ranking.find((id) => load.get(id)! < share)!;
        for (const t of out) {
          const h = t !== seg && !t.holders.includes(u) ? t.holders.find((id) => !seg.holders.includes(id)) : undefined;
          if (h === undefined) continue;
          t.holders[t.holders.indexOf(h)] = u;
          load.set(u, load.get(u)! + 1);
          seg.holders.push(h);
          return;
        }
        pick = free[0]; // unreachable (see above); kept so a bug costs balance, not correctness
      }
      seg.holders.push(pick);
      load.set(pick, load.get(pick)! + 1);
    });
  }
  return out;
}
