/**
 * A small seeded PRNG for the deterministic simulator.
 *
 * Generator: **sfc32** (Chris Doty-Humphrey's Small Fast Counting generator, 128-bit
 * state, 32-bit output, passes PractRand to 2^42+ bytes; the same generator
 * PractRand ships). It is not cryptographic — the simulator needs speed and exact
 * reproducibility across engines, nothing else. Only 32-bit integer arithmetic
 * (`| 0`, `>>> 0`, `Math.imul`) is used, so every JS engine yields the same stream.
 *
 * Seeding: the stream's *label path* (e.g. `"7/node:12/life:0"`) is hashed with a
 * 128-bit string hash (cyrb128) into the four state words, then 12 outputs are
 * discarded. {@link Prng.fork} derives a child from the parent's *path*, not from its
 * current state, so streams are independent of each other and of how many numbers
 * any other stream drew: adding a draw in one place never shifts another stream.
 */

/** cyrb128: a fast 128-bit non-cryptographic string hash (four u32 words). */
function cyrb128(str: string): [number, number, number, number] {
  let h1 = 1779033703,
    h2 = 3144134277,
    h3 = 1013904242,
    h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/** A seeded random stream (sfc32). Create with {@link Prng.from}; derive streams with {@link Prng.fork}. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(
    /** The label path this stream was derived from (its identity). */
    readonly path: string,
  ) {
    [this.a, this.b, this.c, this.d] = cyrb128(path);
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** The root stream of a seed. Numbers and strings are both accepted (`7` ≡ `"7"`). */
  static from(seed: number | string): Prng {
    return new Prng(String(seed));
  }

  /** An independent child stream named `label`; the same label always gives the same stream. */
  fork(label: string): Prng {
    return new Prng(`${this.path}/${label}`);
  }

  /** Next uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). `n` must be a positive integer ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** True with probability `p` (no draw when `p` ≤ 0 or ≥ 1, so zero-probability faults cost nothing). */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** A uniformly chosen element. @throws RangeError on an empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(items.length)];
  }

  /** A shuffled copy (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** Exponentially distributed with the given mean (inverse CDF). */
  exp(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Normally distributed (Box–Muller; two draws per call, no cached spare). */
  normal(mean: number, sd: number): number {
    const u = 1 - this.next(); // (0, 1]
    const v = this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median and shape σ (heavy right tail, like real RTTs). */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }

  /** `n` uniformly random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      let w = this.u32();
      for (let k = 0; k < 4 && i + k < n; k++, w >>>= 8) out[i + k] = w & 0xff;
    }
    return out;
  }
}

/** A latency model: draws one one-way delay, in ms, from a stream. */
export type LatencyModel = (rng: Prng) => number;

/** Ready-made {@link LatencyModel}s. */
export const latency = Object.freeze({
  /** Always `ms`. */
  fixed: (ms: number): LatencyModel => () => ms,
  /** Uniform in [lo, hi). */
  uniform: (lo: number, hi: number): LatencyModel => (r) => r.range(lo, hi),
  /** `min + Exp(mean − min)`: a propagation floor plus exponential queueing; the mean is `mean`. */
  shiftedExp: (min: number, mean: number): LatencyModel => (r) => min + r.exp(Math.max(0, mean - min)),
  /** Normal, clamped below at `min`. */
  normal: (mean: number, sd: number, min = 0): LatencyModel => (r) => Math.max(min, r.normal(mean, sd)),
  /** Log-normal with `median` and shape `sigma`, clamped below at `min`. */
  lognormal: (median: number, sigma: number, min = 0): LatencyModel => (r) => Math.max(min, r.lognormal(median, sigma)),
});
