/**
 * sin, cos, exp and tanh built only from IEEE-754 basic operations.
 *
 * Why: ECMAScript leaves the accuracy of `Math.sin`, `Math.exp`, … to the engine, and
 * V8, SpiderMonkey and JavaScriptCore do differ in the last bit for some arguments. The
 * regeneration kernel (spec §6) must give the same bits everywhere, so that any node can
 * rebuild — and check — any layer. `+ − × ÷` and `Math.sqrt` are correctly rounded by
 * IEEE-754, `Math.floor` / `Math.abs` are exact, and JavaScript never fuses a multiply
 * and an add, so a fixed sequence of those operations is bit-identical on every engine.
 *
 * The algorithms are Sun's fdlibm (the same kernels V8 ports), evaluated in the written
 * order; only the bit-twiddling was replaced by arithmetic. Accuracy (checked against
 * `Math.*` by the property tests in test/math):
 *
 * - `sin`, `cos`: within ~1 ulp for |a| ≤ {@link TRIG_EXACT_LIMIT} (2^20·π/2 ≈ 1.6e6),
 *   where the two-part Cody–Waite reduction below is exact. Beyond it the reduction is
 *   no longer exact: the absolute error grows like |a|·2^-53 (measured ≤ 7e-10 up to 1e7, and
 *   meaningless past 2^52 where doubles are farther apart than 2π), but the result stays
 *   deterministic and in [−1, 1]. ±∞ and NaN give NaN.
 * - `exp`: within ~1 ulp on the whole double range; overflow to `Infinity` above
 *   709.78…, `0` below −745.13…, gradual underflow in between rounded once.
 * - `tanh`: within a few ulps for every double; ±1 for |x| ≥ 22, `x` itself for
 *   |x| < 2^-28 (keeps −0).
 *
 * The regeneration kernel only ever uses |a| < 100 for sin/cos and |x| < 20 for
 * exp/tanh (see regen.ts), far inside those ranges.
 */

// ---------------------------------------------------------------- argument reduction for sin/cos

/** 2/π rounded to a double. Only chooses the quadrant; its rounding error is harmless. */
const INV_PIO2 = 6.36619772367581382433e-1;
/** First 33 bits of π/2: its low 20 mantissa bits are zero, so n·PIO2_1 is exact for |n| < 2^20. */
const PIO2_1 = 1.57079632673412561417e0;
/** π/2 − PIO2_1, rounded: together the two parts carry ~86 bits of π/2. */
const PIO2_1T = 6.07710050650619224932e-11;
const PIO4 = 7.85398163397448278999e-1;
/** Below 2^-27, sin(a) rounds to a and cos(a) to 1. */
const TINY_TRIG = 7.450580596923828e-9;

/**
 * Largest |argument| for which {@link sin} / {@link cos} keep full accuracy: 2^20·π/2.
 * Up to it n·PIO2_1 is exact, so the reduced argument is exact to ~2^-86·n.
 */
export const TRIG_EXACT_LIMIT = 1647099.3291652855;

// fdlibm __kernel_sin / __kernel_cos minimax coefficients on [−π/4, π/4].
const S1 = -1.66666666666666324348e-1;
const S2 = 8.33333333332248946124e-3;
const S3 = -1.98412698298579493134e-4;
const S4 = 2.75573137070700676789e-6;
const S5 = -2.50507602534068634195e-8;
const S6 = 1.58969099521155010221e-10;
const C1 = 4.16666666666666019037e-2;
const C2 = -1.38888888888741095749e-3;
const C3 = 2.48015872894767294178e-5;
const C4 = -2.75573143513906633035e-7;
const C5 = 2.08757232129817482790e-9;
const C6 = -1.13596475577881948265e-11;

/** sin(x + y) for |x + y| ≤ ~π/4, where y is the tail (the rounding residue) of x. */
function kernelSin(x: number, y: number): number {
  const z = x * x;
  const v = z * x;
  const r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

/** cos(x + y) for |x + y| ≤ ~π/4 (FreeBSD msun's k_cos: 1 − z/2 split to keep its low bits). */
function kernelCos(x: number, y: number): number {
  const z = x * x;
  let w = z * z;
  const r = z * (C1 + z * (C2 + z * C3)) + w * w * (C4 + z * (C5 + z * C6));
  const hz = 0.5 * z;
  w = 1 - hz;
  return w + (((1 - w) - hz) + (z * r - x * y));
}

// Reduction results, kept in module variables instead of an allocated tuple: the
// functions are on the re-seeding path of the kernel and must not allocate.
let redHead = 0;
let redTail = 0;

/** a = n·π/2 + (redHead + redTail); returns n mod 4. */
function reduce(a: number): number {
  let n = Math.floor(a * INV_PIO2 + 0.5);
  let q = n - 4 * Math.floor(n * 0.25); // 0..3, exact for every integer-valued double
  let z = a - n * PIO2_1; // exact while |n| < 2^20 (Sterbenz: n·PIO2_1 is within a factor 2 of a)
  let w = n * PIO2_1T;
  let head = z - w;
  redTail = (z - head) - w;
  // Beyond TRIG_EXACT_LIMIT, n·PIO2_1 is rounded (error up to ulp(a)), so head can be far
  // outside [−π/4, π/4]: reduce it again until it is in range. This never runs inside the
  // exact range; outside it the result stays bounded and deterministic, not accurate.
  while (!(Math.abs(head) <= 0.8)) {
    n = Math.floor(head * INV_PIO2 + 0.5);
    q = (q + (n - 4 * Math.floor(n * 0.25))) % 4;
    z = head - n * PIO2_1;
    w = n * PIO2_1T;
    head = z - w;
    redTail = (z - head) - w;
  }
  redHead = head;
  return q;
}

/** Deterministic sine. See the module comment for its range and accuracy. */
export function sin(a: number): number {
  const ax = Math.abs(a);
  if (ax < TINY_TRIG) return a; // also keeps the sign of −0
  if (ax <= PIO4) return kernelSin(a, 0);
  if (!(ax < Infinity)) return NaN;
  switch (reduce(a)) {
    case 0:
      return kernelSin(redHead, redTail);
    case 1:
      return kernelCos(redHead, redTail);
    case 2:
      return -kernelSin(redHead, redTail);
    default:
      return -kernelCos(redHead, redTail);
  }
}

/** Deterministic cosine. See the module comment for its range and accuracy. */
export function cos(a: number): number {
  const ax = Math.abs(a);
  if (ax < TINY_TRIG) return 1;
  if (ax <= PIO4) return kernelCos(a, 0);
  if (!(ax < Infinity)) return NaN;
  switch (reduce(a)) {
    case 0:
      return kernelCos(redHead, redTail);
    case 1:
      return -kernelSin(redHead, redTail);
    case 2:
      return -kernelCos(redHead, redTail);
    default:
      return kernelSin(redHead, redTail);
  }
}

// ---------------------------------------------------------------- exp

/** ln 2 split like PIO2_1: LN2_HI has trailing zero bits so k·LN2_HI is exact for |k| ≤ 1075. */
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const INV_LN2 = 1.44269504088896338700e0;
const HALF_LN2 = 0.34657359027997264;
const EXP_OVERFLOW = 7.09782712893383973096e2;
const EXP_UNDERFLOW = -7.45133219101941108420e2;
const TINY_EXP = 3.725290298461914e-9; // 2^-28: exp(x) rounds to 1 + x
// fdlibm's Remez coefficients of R(r²) ≈ r·(e^r + 1)/(e^r − 1) − 2 on [−ln2/2, ln2/2].
const P1 = 1.66666666666666019037e-1;
const P2 = -2.77777777770155933842e-3;
const P3 = 6.61375632143793436117e-5;
const P4 = -1.65339022054652515390e-6;
const P5 = 4.13813679705723846039e-8;

/**
 * 2^k for k in [−1022, 1023], by repeated exact doubling / halving at load time:
 * `Math.pow` is not specified to be exact, and reading the bits through a DataView
 * would be exact too but needs endianness care for no gain.
 */
const POW2 = (() => {
  const t = new Float64Array(2046);
  let p = 1;
  for (let k = 0; k <= 1023; k++, p *= 2) t[k + 1022] = p;
  p = 1;
  for (let k = 0; k >= -1022; k--, p *= 0.5) t[k + 1022] = p;
  return t;
})();
const TWO_M1000 = POW2[1022 - 1000];

/** y·2^k, exact when the result is normal, rounded once when it is subnormal. */
function scale(y: number, k: number): number {
  if (k > 1023) return y * 2 * POW2[1023 + 1022];
  if (k >= -1021) return y * POW2[k + 1022];
  return y * POW2[k + 1000 + 1022] * TWO_M1000;
}

/** The rational kernel: c such that e^r = 1 + r + r·c/(2 − c), for |r| ≤ ln2/2. */
function expKernelC(r: number): number {
  const t = r * r;
  return r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
}

/** Deterministic e^x. See the module comment for its range and accuracy. */
export function exp(x: number): number {
  if (x !== x) return NaN;
  if (x > EXP_OVERFLOW) return Infinity;
  if (x < EXP_UNDERFLOW) return 0;
  const ax = Math.abs(x);
  if (ax < TINY_EXP) return 1 + x;
  if (ax <= HALF_LN2) {
    const c = expKernelC(x);
    return 1 - ((x * c) / (c - 2) - x);
  }
  const k = Math.floor(x * INV_LN2 + 0.5);
  const hi = x - k * LN2_HI; // exact: k·LN2_HI is exact and close to x
  const lo = k * LN2_LO;
  const r = hi - lo;
  const c = expKernelC(r);
  const y = 1 - ((lo - (r * c) / (2 - c)) - hi);
  return scale(y, k);
}

/** e^x − 1 for |x| ≤ ln2/2, without the cancellation of `exp(x) − 1` near 0. */
function expm1Small(x: number): number {
  const c = expKernelC(x);
  return x - (x * c) / (c - 2);
}

// ---------------------------------------------------------------- tanh

/** Below this |x|, e^-2|x| is close enough to 1 that 1 − e^-2|x| would cancel: use expm1. */
const TANH_EXPM1_LIMIT = HALF_LN2 * 0.5;

/** Deterministic hyperbolic tangent. See the module comment for its range and accuracy. */
export function tanh(x: number): number {
  if (x !== x) return NaN;
  const ax = Math.abs(x);
  if (ax < TINY_EXP) return x;
  let t: number;
  if (ax >= 22) {
    t = 1; // 1 − tanh(22) < 2^-63: rounds to 1
  } else if (ax <= TANH_EXPM1_LIMIT) {
    const m = expm1Small(-2 * ax); // e^-2|x| − 1, accurate to a few ulps relative
    t = -m / (m + 2);
  } else {
    const e = exp(-2 * ax); // ≤ e^-0.35 ≈ 0.71, so 1 − e loses at most ~2 bits
    t = (1 - e) / (1 + e);
  }
  return x < 0 ? -t : t;
}
