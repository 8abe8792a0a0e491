/**
 * Threshold arithmetic, in integers so every node computes the same quorum.
 *
 * `0.68 * 75` is `51.00000000000001` in IEEE doubles, and a naive `Math.ceil` would
 * then ask for 52 of 75 where 51 is 68%. Nodes that disagree by one vote on a quorum disagree on
 * whether something committed, so the threshold is turned into millionths once and
 * all later arithmetic is exact.
 */
import { KpcError } from '../errors.js';

/** The spec's 67% (§5.2). */
export const DEFAULT_THRESHOLD = 0.67;
const SCALE = 1_000_000;
/** Smallest threshold, in millionths, that is strictly above 2/3. */
const MIN_SCALED = Math.floor((2 * SCALE) / 3) + 1;

/**
 * The threshold in millionths (finer thresholds are rounded to the nearest millionth).
 *
 * Only thresholds strictly above 2/3 are accepted: below that, two quorums of the
 * same member list can overlap in f or fewer nodes, and f byzantine voters could
 * then make two conflicting proposals commit (docs/consensus.md, "Safety").
 * @throws KpcError `CONFIG_INVALID` unless 2/3 < threshold ≤ 1.
 */
export function scaledThreshold(threshold: number): number {
  const t = typeof threshold === 'number' && Number.isFinite(threshold) ? Math.round(threshold * SCALE) : NaN;
  // `threshold * 3 > 2` also refuses 2/3 itself, which would round up to MIN_SCALED.
  if (!(t >= MIN_SCALED && t <= SCALE && threshold * 3 > 2)) {
    throw new KpcError('CONFIG_INVALID', 'consensus threshold must be above 2/3 and at most 1', { threshold });
  }
  return t;
}

/**
 * Votes needed among `n` members: the smallest q with q / n ≥ threshold, i.e.
 * ceil(threshold × n). With 0.67: 1→1, 2→2, 3→3, 4→3, 5→4, 6→5, 10→7, 100→67.
 */
export function quorumSize(n: number, threshold: number = DEFAULT_THRESHOLD): number {
  const t = scaledThreshold(threshold);
  // t·n ≤ 10^6 · 96 here, far below 2^53, so this ceiling division is exact.
  return Math.floor((t * n + SCALE - 1) / SCALE);
}

/**
 * How many byzantine members a list of `n` tolerates: the largest f with f < n/3.
 */
export function maxFaulty(n: number): number {
  return n <= 0 ? 0 : Math.ceil(n / 3) - 1;
}

/**
 * Signers from the local node's own view that a quorum must include before the node
 * believes it: f + 1 of the view, so at least one of them is honest (at least 1).
 *
 * Why: a quorum is counted against the member list the votes name, and a byzantine
 * proposer may name any list (say, just itself). Requiring f + 1 signers the local
 * node itself counts as members means some honest node vouched for that list, and
 * honest nodes only vote under their own view.
 */
export function witnessesNeeded(viewSize: number): number {
  return maxFaulty(viewSize) + 1;
}

/**
 * Whether `voters` are a quorum of `members` that this node believes: at least
 * {@link quorumSize} of them listed, and at least {@link witnessesNeeded} of them in
 * the node's own view `viewSet`.
 */
export function hasQuorum(members: readonly string[], voters: Iterable<string>, viewSet: ReadonlySet<string>, threshold: number): boolean {
  const need = quorumSize(members.length, threshold);
  let listed = 0;
  let witnesses = 0;
  for (const voter of voters) {
    if (members.includes(voter)) listed++;
    if (viewSet.has(voter)) witnesses++;
  }
  return listed >= need && witnesses >= witnessesNeeded(viewSet.size);
}
