/**
 * The numeric kernels of the forward pass, each with a FIXED order of operations.
 *
 * Determinism rule: arithmetic is float64 using only `+ − × ÷` and `Math.sqrt` (all
 * correctly rounded by IEEE-754; JavaScript never fuses a multiply-add) plus the math
 * kernel's exact `exp`, `sin`, `cos`. Values that are *stored* — weights, the residual
 * stream between blocks, the KV cache, logits — are float32 (one correctly rounded
 * conversion). So the same inputs give the same bits on every engine and CPU. Changing
 * the order of any loop below changes the bits: it is part of the model's definition,
 * pinned by the golden checksums in test/infer/golden.ts.
 */
import { exactCos, exactExp, exactSin } from '../math/index.js';

/** A float vector a kernel reads (weights are float32, scratch is float64). */
export type Vec = Float32Array | Float64Array;

/**
 * For each of n input rows t: out[t·rows + i] = Σ_j w[i·cols + j]·x[t·cols + j], i < rows.
 *
 * Order of each dot product: four partial sums s_k over j ≡ k (mod 4) for the largest
 * multiple of 4, combined as (s0 + s1) + (s2 + s3), then the remaining j in order — the
 * same as {@link dot}. Four independent chains beat one by ~1.7×; two weight rows per
 * pass share the loads of x for another ~1.5× (more rows spill registers); and all n
 * inputs go through a pair of rows while it is in cache, which matters because a
 * kpc-small token streams 94 MB of weights. None of this changes a bit: every output is
 * the same dot product in the same order.
 */
export function matMul(w: Float32Array, rows: number, cols: number, x: Vec, n: number, out: Float64Array): void {
  const end4 = cols - (cols & 3);
  let i = 0;
  let a = 0;
  for (; i + 1 < rows; i += 2, a += 2 * cols) {
    const b = a + cols;
    for (let t = 0, xo = 0, o = i; t < n; t++, xo += cols, o += rows) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let r0 = 0;
      let r1 = 0;
      let r2 = 0;
      let r3 = 0;
      let j = 0;
      for (; j < end4; j += 4) {
        const x0 = x[xo + j];
        const x1 = x[xo + j + 1];
        const x2 = x[xo + j + 2];
        const x3 = x[xo + j + 3];
        s0 += w[a + j] * x0;
        s1 += w[a + j + 1] * x1;
        s2 += w[a + j + 2] * x2;
        s3 += w[a + j + 3] * x3;
        r0 += w[b + j] * x0;
        r1 += w[b + j + 1] * x1;
        r2 += w[b + j + 2] * x2;
        r3 += w[b + j + 3] * x3;
      }
      let s = s0 + s1 + (s2 + s3);
      let r = r0 + r1 + (r2 + r3);
      for (; j < cols; j++) {
        s += w[a + j] * x[xo + j];
        r += w[b + j] * x[xo + j];
      }
      out[o] = s;
      out[o + 1] = r;
    }
  }
  if (i < rows) {
    for (let t = 0; t < n; t++) out[t * rows + i] = dot(w, a, x, t * cols, cols);
  }
}

/** Dot product of a[ao..ao+n) and b[bo..bo+n), in {@link matVec}'s order. */
export function dot(a: Vec, ao: number, b: Vec, bo: number, n: number): number {
  const end4 = n - (n & 3);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j < end4; j += 4) {
    s0 += a[ao + j] * b[bo + j];
    s1 += a[ao + j + 1] * b[bo + j + 1];
    s2 += a[ao + j + 2] * b[bo + j + 2];
    s3 += a[ao + j + 3] * b[bo + j + 3];
  }
  let s = s0 + s1 + (s2 + s3);
  for (; j < n; j++) s += a[ao + j] * b[bo + j];
  return s;
}

/**
 * RMSNorm: out[oo + i] = (x[xo + i]·r)·g[i] with r = 1/√(Σx²/n + ε); the sum of squares runs
 * in index order.
 */
export function rmsNorm(x: Vec, xo: number, n: number, g: Float32Array, eps: number, out: Float64Array, oo: number): void {
  let ss = 0;
  for (let i = 0; i < n; i++) ss += x[xo + i] * x[xo + i];
  const r = 1 / Math.sqrt(ss / n + eps);
  for (let i = 0; i < n; i++) out[oo + i] = x[xo + i] * r * g[i];
}

/**
 * SwiGLU's gate in place: gate[i] = silu(gate[i])·up[i], silu(a) = a / (1 + e^(−a)).
 * A very negative a gives e^(−a) = ∞ and a/∞ = −0: no NaN.
 */
export function swiglu(gate: Float64Array, up: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const a = gate[i];
    gate[i] = (a / (1 + exactExp(-a))) * up[i];
  }
}

/**
 * Softmax of s[0..n) in place: e^(s_i − max) / Σ, the sum in index order. Subtracting
 * the max keeps every exponent ≤ 0, so nothing overflows and the sum is ≥ 1.
 */
export function softmax(s: Float64Array, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (s[i] > max) max = s[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = exactExp(s[i] - max);
    s[i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) s[i] = s[i] / sum;
}

/**
 * ln(x) for a finite x > 0 from basic operations only (ECMAScript leaves `Math.log`'s
 * last bit to the engine): x = m·2^k with m ∈ [1, 2) by exact halving/doubling, then
 * ln m = 2·atanh(t), t = (m − 1)/(m + 1) ≤ 1/3, summed as a fixed 24-term odd series
 * (the last, t^46/47, is below 2^-78 relative), plus k·ln 2. Accurate to a few ulps; used only for
 * the rotary frequencies, where it must above all be the same everywhere.
 */
export function detLog(x: number): number {
  if (!(x > 0 && x < Infinity)) return NaN; // only finite positive x (the loops below would not end on ∞)
  let m = x;
  let k = 0;
  while (m >= 2) {
    m /= 2;
    k++;
  }
  while (m < 1) {
    m *= 2;
    k--;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  let sum = 0;
  for (let i = 47; i >= 1; i -= 2) sum = sum * t2 + 1 / i;
  return 2 * t * sum + k * 0.6931471805599453;
}

/**
 * Rotary tables for positions [0, positions): cos and sin of p·θ^(−2i/headDim) at
 * [p·headDim/2 + i]. The frequencies are e^(−(2i/headDim)·ln θ) with the exact exp and
 * {@link detLog}; angles stay ≤ positions ≤ 65 536, far inside exactSin/exactCos's
 * full-accuracy range.
 */
export function ropeTables(positions: number, headDim: number, theta: number): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2;
  const lnTheta = detLog(theta);
  const freq = new Float64Array(half);
  for (let i = 0; i < half; i++) freq[i] = exactExp(-((2 * i) / headDim) * lnTheta);
  const cos = new Float64Array(positions * half);
  const sin = new Float64Array(positions * half);
  for (let p = 0; p < positions; p++) {
    for (let i = 0; i < half; i++) {
      const a = p * freq[i];
      cos[p * half + i] = exactCos(a);
      sin[p * half + i] = exactSin(a);
    }
  }
  return { cos, sin };
}

/**
 * Rotates each head of v[vo..vo + nHeads·headDim) by position p, pairing adjacent
 * elements (2i, 2i + 1) as in Meta's Llama: (a, b) → (a·c − b·s, a·s + b·c).
 */
export function applyRope(v: Float64Array, vo: number, nHeads: number, headDim: number, p: number, cos: Float64Array, sin: Float64Array): void {
  const half = headDim / 2;
  const t = p * half;
  for (let h = 0; h < nHeads; h++) {
    const base = vo + h * headDim;
    for (let i = 0; i < half; i++) {
      const c = cos[t + i];
      const s = sin[t + i];
      const a = v[base + 2 * i];
      const b = v[base + 2 * i + 1];
      v[base + 2 * i] = a * c - b * s;
      v[base + 2 * i + 1] = a * s + b * c;
    }
  }
}

/** Index of the largest value; ties go to the lowest index (strict `>` while scanning up). NaN never wins. */
export function argmax(x: Vec, n: number = x.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (x[i] > x[best] || !(x[best] === x[best])) best = i;
  return best;
}
