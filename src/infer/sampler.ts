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

/** How the next token is chosen (llama.cpp's names and defaults where it has them). */
export interface SamplingOptions {
  /** 0 = greedy (the default); > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Keep only the k most likely tokens before sampling; 0 (default) keeps all. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 (default) keeps all. */
  topP?: number;
  /** Divides positive (multiplies negative) logits of recently seen tokens; 1 (default) is off. */
  repeatPenalty?: number;
  /** How many of the latest tokens (prompt included) the penalty looks at (default 64). */
  repeatLastN?: number;
}

/**
 * Picks the next token as llama.cpp's default sampler chain does — repetition penalty,
 * then top-k, then top-p (on the untempered probabilities), then temperature — but
 * deterministically on every engine: candidates are ordered by logit with ties to the
 * lower id, probabilities use the exact exp with sums in that order, and `rng` is drawn
 * once per sampled token. Temperature 0 is greedy after the penalty (top-k/top-p cannot
 * change the argmax).
 *
 * @param logits - one row of logits (not modified)
 * @param history - tokens so far (prompt included), for the repetition penalty
 * @param opts - sampling settings (validated by the caller)
 * @param rng - uniform [0, 1) source, e.g. {@link mulberry32}
 * @param banned - ids never returned
 */
export function sampleNext(logits: ArrayLike<number>, history: readonly number[], opts: SamplingOptions, rng: () => number, banned: ReadonlySet<number>): number {
  const { temperature = 0, topK = 0, topP = 1, repeatPenalty = 1, repeatLastN = 64 } = opts;
  let l: ArrayLike<number> = logits;
  if (repeatPenalty !== 1 && repeatLastN > 0 && history.length > 0) {
    const penalized = Float64Array.from(logits);
    const seen = new Set(history.slice(-repeatLastN));
    for (const t of seen) {
      if (t < 0 || t >= penalized.length) continue;
      penalized[t] = penalized[t] > 0 ? penalized[t] / repeatPenalty : penalized[t] * repeatPenalty;
    }
    l = penalized;
  }
  if (temperature === 0 || (topK === 0 && topP >= 1)) return sampleToken(l, temperature, rng, banned);
  const ids: number[] = [];
  for (let i = 0; i < l.length; i++) if (!banned.has(i)) ids.push(i);
  ids.sort((a, b) => (l[b] - l[a]) || (a - b));
  let n = topK > 0 ? Math.min(topK, ids.length) : ids.length;
  if (topP < 1) {
    const max = l[ids[0]];
    const p = new Float64Array(n);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += p[i] = exactExp(l[ids[i]] - max);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      acc += p[i];
      if (acc >= topP * sum) {
        n = i + 1;
        break;
      }
    }
  }
  const max = l[ids[0]];
  const w = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += w[i] = exactExp((l[ids[i]] - max) / temperature);
  const target = rng() * sum;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += w[i];
    if (target < acc) return ids[i];
  }
  return ids[n - 1];
}
