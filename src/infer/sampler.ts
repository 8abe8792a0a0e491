/**
 * Seeded, deterministic token sampling: the same logits, temperature and seed pick the
 * same token on every engine (integer PRNG, the exact exp, sums in index order).
 */
import { exactExp } from '../math/index.js';

/**
 * Mulberry32: a tiny 32-bit PRNG (integer ops only: `Math.imul`, shifts, xor), uniform
 * in [0, 1) with 2^-32 resolution. Plenty for picking among 259 tokens; not for secrets.
 * @param seed - any uint32
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Picks a token from `logits`, skipping ids in `banned`.
 *
 * - temperature 0: the largest logit; ties go to the lowest id.
 * - temperature > 0: softmax of logit/temperature (max subtracted, the exact exp, the sum
 *   in id order), then the first id whose running sum exceeds u·Σ for one draw u of `rng`.
 *
 * @param logits - one row of logits
 * @param temperature - ≥ 0
 * @param rng - uniform [0, 1) source, drawn once per call when temperature > 0
 * @param banned - ids never returned (at least one id must remain)
 */
export function sampleToken(logits: ArrayLike<number>, temperature: number, rng: () => number, banned: ReadonlySet<number>): number {
  const n = logits.length;
  let best = -1;
  for (let i = 0; i < n; i++) {
    if (banned.has(i)) continue;
    if (best < 0 || logits[i] > logits[best]) best = i;
  }
  if (temperature === 0) return best;
  const max = logits[best];
  const p = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (banned.has(i)) continue;
    p[i] = exactExp((logits[i] - max) / temperature);
    sum += p[i];
  }
  const target = rng() * sum;
  let acc = 0;
  let last = best;
  for (let i = 0; i < n; i++) {
    if (banned.has(i)) continue;
    acc += p[i];
    last = i;
    if (target < acc) return i;
  }
  return last; // only when rounding left target ≥ the final running sum
}
