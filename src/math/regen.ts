/**
 * Procedural weights (spec §6.2, §6.3): every weight is a pure function of
 * (seed, layer, tensor, row, column), bit-identical on every JavaScript engine.
 *
 * The definition (docs/math.md has the full write-up):
 *
 * 1. Columns of a row are cut into segments of {@link SEGMENT_LENGTH} (384). Segment `s`
 *    of row `r` gets h = MurmurHash3_x86_32([layer, tensor, r, s], seed) (hash.ts) and
 *    the origin x₀ = ((h >>> 8) + ½)·2⁻²¹ − 4, an odd multiple of 2⁻²² in (−4, 4).
 * 2. Inside a segment x advances by the fixed step {@link X_STEP} = 1/64: column j has
 *    x = x₀ + (j − 384·s)/64, exact (every term is a multiple of 2⁻²² below 16). So
 *    x ∈ (−4, 10) whatever the layer's width: the working range of the math is bounded.
 * 3. The rotating constant is c = [π, e, φ][j mod 3]; the raw weight is
 *    f(x, c) = sin(x·c·π)·cos(x·e)·(1 + φ·tanh(x)).
 * 4. Each row is divided by its L2 norm (sum of squares in float64, `Math.sqrt`), then
 *    rounded to float32.
 *
 * `generateLayer` (the fast path) *is* the definition of the bits: within a segment each
 * column class j ≡ 0, 1, 2 (mod 3) has a fixed c and sees x advance by 3/64, so sin(x·c·π)
 * and cos(x·e) follow two-term recurrences and e^-2x (for tanh) a multiplication — basic
 * IEEE operations in a fixed order, hence still bit-exact. Each segment re-seeds the
 * recurrences from the exact functions (exact.ts), which bounds the drift to 128 steps
 * (~1e-13). `generateLayerReference` evaluates the same definition element by element;
 * it agrees with the fast path to float32 rounding.
 */
import { KpcError } from '../errors.js';
import { E, PHI, PI } from './constants.js';
import { cos, exp, sin, tanh } from './exact.js';
import { hashPosition } from './hash.js';

/** Which layer (and which tensor of it) to generate, and its shape. */
export interface LayerSpec {
  /** The model seed, a uint32. */
  seed: number;
  /** Layer index, a uint32. */
  layer: number;
  /** Rows of the matrix; each row is normalized to unit L2 length. */
  rows: number;
  /** Columns of the matrix (the row length). */
  cols: number;
  /** Which tensor within the layer (a uint32), default 0. */
  tensor?: number;
}

/**
 * Columns per segment: one hashed origin of x, and one re-seeding of the recurrences, per
 * segment. Longer segments seed less often (15 exact evaluations per segment) but let the
 * recurrences drift longer; 384 keeps the drift near 1e-13 and the seeding near 5% of the time.
 */
export const SEGMENT_LENGTH = 384;
/** The step of x between adjacent columns of a segment (2⁻⁶, exact). */
export const X_STEP = 1 / 64;
/** The rotating constants of spec §6.3, in rotation order: column j uses `ROTATING_CONSTANTS[j % 3]`. */
export const ROTATING_CONSTANTS: readonly number[] = Object.freeze([PI, E, PHI]);
/** Largest layer, in elements (2^28: a 1 GiB Float32Array). */
export const MAX_LAYER_ELEMENTS = 2 ** 28;

const UINT32_MAX = 0xffffffff;

/** f(x, c) = sin(x·c·π)·cos(x·e)·(1 + φ·tanh(x)) (spec §6.2), with the exact functions. */
export function regenerationFunction(x: number, c: number): number {
  return sin(x * c * PI) * cos(x * E) * (1 + PHI * tanh(x));
}

/** The same f with `Math.*`: fast, but engines may differ in the last bit. Benchmarks only. */
export function regenerationFunctionBuiltin(x: number, c: number): number {
  return Math.sin(x * c * PI) * Math.cos(x * E) * (1 + PHI * Math.tanh(x));
}

/** x₀ of a segment from its hash: an odd multiple of 2⁻²² in (−4, 4), so never 0. */
export function segmentOrigin(hash: number): number {
  return ((hash >>> 8) + 0.5) * 4.76837158203125e-7 - 4; // 2^-21
}

/** x of column `col` in row `row` (step 2 of the definition). Used by the reference path and tests. */
export function weightX(seed: number, layer: number, tensor: number, row: number, col: number): number {
  const seg = Math.floor(col / SEGMENT_LENGTH);
  return segmentOrigin(hashPosition(seed, layer, tensor, row, seg)) + (col - seg * SEGMENT_LENGTH) * X_STEP;
}

/** A validated LayerSpec with its defaults filled in. */
export interface CheckedSpec {
  seed: number;
  layer: number;
  tensor: number;
  rows: number;
  cols: number;
}

function invalid(message: string, detail: Record<string, unknown>): KpcError {
  return new KpcError('MATH_INVALID_SHAPE', message, detail);
}

function uint32(spec: Record<string, unknown>, field: string, fallback?: number): number {
  const v = spec[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > UINT32_MAX) {
    throw invalid(`LayerSpec.${field} must be an integer in [0, 2^32), got ${String(v)}`, { field, value: v });
  }
  return v;
}

function dimension(spec: Record<string, unknown>, field: string): number {
  const v = spec[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) {
    throw invalid(`LayerSpec.${field} must be a positive integer, got ${String(v)}`, { field, value: v });
  }
  return v;
}

/** Validates a LayerSpec; throws KpcError('MATH_INVALID_SHAPE') naming the bad field. */
export function checkLayerSpec(spec: LayerSpec): CheckedSpec {
  if (typeof spec !== 'object' || spec === null) throw invalid('LayerSpec must be an object', { value: spec });
  const s = spec as unknown as Record<string, unknown>;
  const rows = dimension(s, 'rows');
  const cols = dimension(s, 'cols');
  if (rows * cols > MAX_LAYER_ELEMENTS) {
    throw invalid(`layer of ${rows}×${cols} exceeds ${MAX_LAYER_ELEMENTS} elements`, { rows, cols });
  }
  return { seed: uint32(s, 'seed'), layer: uint32(s, 'layer'), tensor: uint32(s, 'tensor', 0), rows, cols };
}

function target(out: Float32Array | undefined, length: number): Float32Array {
  if (out === undefined) return new Float32Array(length);
  if (!(out instanceof Float32Array) || out.length !== length) {
    throw invalid(`out must be a Float32Array of exactly ${length} elements`, { expected: length, got: (out as { length?: unknown })?.length });
  }
  return out;
}

// One float64 row buffer, reused: a 1000-column layer must not allocate per call.
let scratch = new Float64Array(0);
function rowBuffer(cols: number): Float64Array {
  if (scratch.length < cols) scratch = new Float64Array(Math.max(cols, 1024));
  return scratch;
}

/**
 * Step 4: writes buf[0..cols) / ‖buf‖ to out[off..off+cols) as float32. A row whose every
 * value is exactly 0 (never met: it needs each f to round to 0) becomes the unit vector e₀,
 * so that every row has unit length.
 */
function writeNormalized(buf: Float64Array, cols: number, sumSq: number, out: Float32Array, off: number): void {
  if (sumSq > 0) {
    const inv = 1 / Math.sqrt(sumSq);
    for (let j = 0; j < cols; j++) out[off + j] = buf[j] * inv;
  } else {
    out.fill(0, off, off + cols);
    out[off] = 1;
  }
}

// ---------------------------------------------------------------- the fast, bit-defining path

// Column class k (j ≡ k mod 3) of a segment has a fixed c = ROTATING_CONSTANTS[k], and x
// advances by 3·X_STEP between its columns; so does the angle x·c·π, by dA_k = (3·X_STEP·c)·π,
// and x·e, by dB = 3·X_STEP·e. Both follow the Chebyshev recurrence
//   sin(θ + d) = 2cos(d)·sin(θ) − sin(θ − d)   (likewise cos),
// one multiply and one subtract per value. Its rounding errors grow at most like
// steps/|sin d| ulps; here |sin d| ≥ 0.12 (d = 3/64·e for cos(x·e)) and a segment has
// ≤ 128 steps per class, so the drift stays near 1e-13. e^-2x is multiplied by e^-6·X_STEP
// per step. All factors come from the exact functions at load time: the same on every engine.
const CLASS_STEP = 3 * X_STEP;
const [C0, C1, C2] = ROTATING_CONSTANTS;
const KA0 = 2 * cos(CLASS_STEP * C0 * PI);
const KA1 = 2 * cos(CLASS_STEP * C1 * PI);
const KA2 = 2 * cos(CLASS_STEP * C2 * PI);
const KB = 2 * cos(CLASS_STEP * E);
const Q_STEP = exp(-2 * CLASS_STEP);
// 1 + φ·tanh(x) with tanh(x) = (1 − q)/(1 + q), q = e^-2x, is ((1 + φ) + (1 − φ)·q)/(1 + q):
// one division per weight and no cancellation (q ∈ (e^-20, e^8) on the working range).
const ONE_PLUS_PHI = 1 + PHI;
const ONE_MINUS_PHI = 1 - PHI;

// The recurrences' starting values for one segment. Kept in a Float64Array, filled by a
// separate function: the loop then starts from plain doubles (V8 keeps them unboxed), and
// the exact functions are not inlined 15 times into the hot loop's function.
const SEEDS = new Float64Array(15);

/** Each chain's first two values, for classes starting at x0, x0 + 1/64, x0 + 2/64, from the exact functions. */
function seedSegment(x0: number): void {
  const x1 = x0 + X_STEP;
  const x2 = x0 + 2 * X_STEP;
  SEEDS[0] = sin(x0 * C0 * PI);
  SEEDS[1] = sin((x0 + CLASS_STEP) * C0 * PI);
  SEEDS[2] = sin(x1 * C1 * PI);
  SEEDS[3] = sin((x1 + CLASS_STEP) * C1 * PI);
  SEEDS[4] = sin(x2 * C2 * PI);
  SEEDS[5] = sin((x2 + CLASS_STEP) * C2 * PI);
  SEEDS[6] = cos(x0 * E);
  SEEDS[7] = cos((x0 + CLASS_STEP) * E);
  SEEDS[8] = cos(x1 * E);
  SEEDS[9] = cos((x1 + CLASS_STEP) * E);
  SEEDS[10] = cos(x2 * E);
  SEEDS[11] = cos((x2 + CLASS_STEP) * E);
  SEEDS[12] = exp(-2 * x0);
  SEEDS[13] = exp(-2 * x1);
  SEEDS[14] = exp(-2 * x2);
}

/**
 * Fills buf[start..end) (one segment, end − start ≤ SEGMENT_LENGTH) from its origin x0 and
 * returns the sum of the squares written. The three column classes run interleaved in one
 * loop: three independent recurrence chains keep the CPU's pipelines full.
 */
function fillSegment(buf: Float64Array, start: number, end: number, x0: number): number {
  seedSegment(x0);
  const seed = SEEDS;
  let sa0 = seed[0];
  let sn0 = seed[1];
  let sa1 = seed[2];
  let sn1 = seed[3];
  let sa2 = seed[4];
  let sn2 = seed[5];
  let cb0 = seed[6];
  let cn0 = seed[7];
  let cb1 = seed[8];
  let cn1 = seed[9];
  let cb2 = seed[10];
  let cn2 = seed[11];
  let q0 = seed[12];
  let q1 = seed[13];
  let q2 = seed[14];
  let acc = 0;
  let j = start;
  for (const last = end - 3; j <= last; j += 3) {
    const w0 = sa0 * cb0 * ((ONE_PLUS_PHI + ONE_MINUS_PHI * q0) / (1 + q0));
    const w1 = sa1 * cb1 * ((ONE_PLUS_PHI + ONE_MINUS_PHI * q1) / (1 + q1));
    const w2 = sa2 * cb2 * ((ONE_PLUS_PHI + ONE_MINUS_PHI * q2) / (1 + q2));
    buf[j] = w0;
    buf[j + 1] = w1;
    buf[j + 2] = w2;
    acc += w0 * w0 + w1 * w1 + w2 * w2;
    let t = KA0 * sn0 - sa0;
    sa0 = sn0;
    sn0 = t;
    t = KA1 * sn1 - sa1;
    sa1 = sn1;
    sn1 = t;
    t = KA2 * sn2 - sa2;
    sa2 = sn2;
    sn2 = t;
    t = KB * cn0 - cb0;
    cb0 = cn0;
    cn0 = t;
    t = KB * cn1 - cb1;
    cb1 = cn1;
    cn1 = t;
    t = KB * cn2 - cb2;
    cb2 = cn2;
    cn2 = t;
    q0 *= Q_STEP;
    q1 *= Q_STEP;
    q2 *= Q_STEP;
  }
  // A segment whose length is not a multiple of 3 ends with class 0, or classes 0 and 1.
  if (j < end) {
    const w0 = sa0 * cb0 * ((ONE_PLUS_PHI + ONE_MINUS_PHI * q0) / (1 + q0));
    buf[j] = w0;
    acc += w0 * w0;
  }
  if (j + 1 < end) {
    const w1 = sa1 * cb1 * ((ONE_PLUS_PHI + ONE_MINUS_PHI * q1) / (1 + q1));
    buf[j + 1] = w1;
    acc += w1 * w1;
  }
  return acc;
}

/** Rows up to this many columns are buffered whole (8 bytes per column) before normalizing. */
export const BUFFERED_ROW_LIMIT = 1 << 16;

/**
 * The row loop of {@link generateLayer}. A row longer than `bufferedRowLimit` is generated
 * twice — once for its norm, once to write — through a one-segment buffer, instead of a
 * float64 copy of the whole row (2 GiB for a 2^28-column row). `fillSegment` does not depend
 * on where it writes, so both strategies give the same bits (test/math checks it).
 * @internal exported for tests
 */
export function generateInto(spec: CheckedSpec, dst: Float32Array, bufferedRowLimit: number): void {
  const { seed, layer, tensor, rows, cols } = spec;
  const buffered = cols <= bufferedRowLimit;
  const buf = rowBuffer(buffered ? cols : SEGMENT_LENGTH);
  for (let r = 0; r < rows; r++) {
    const off = r * cols;
    let sumSq = 0;
    for (let seg = 0, start = 0; start < cols; seg++, start += SEGMENT_LENGTH) {
      const x0 = segmentOrigin(hashPosition(seed, layer, tensor, r, seg));
      const end = Math.min(start + SEGMENT_LENGTH, cols);
      sumSq += buffered ? fillSegment(buf, start, end, x0) : fillSegment(buf, 0, end - start, x0);
    }
    if (buffered || !(sumSq > 0)) {
      writeNormalized(buf, cols, sumSq, dst, off);
      continue;
    }
    const inv = 1 / Math.sqrt(sumSq);
    for (let seg = 0, start = 0; start < cols; seg++, start += SEGMENT_LENGTH) {
      const x0 = segmentOrigin(hashPosition(seed, layer, tensor, r, seg));
      const n = Math.min(SEGMENT_LENGTH, cols - start);
      fillSegment(buf, 0, n, x0);
      for (let i = 0; i < n; i++) dst[off + start + i] = buf[i] * inv;
    }
  }
}

/**
 * Generates one weight matrix (row-major, rows × cols) of the procedural model.
 *
 * This fast path defines the bits (golden checksums are of its output): about 13 basic
 * operations per weight; `regen_1000x1000_ms` in bench/results.json times a 1000×1000 layer.
 * @param spec - which tensor, and its shape
 * @param out - optional destination of exactly rows·cols elements (else one is allocated)
 * @throws KpcError `MATH_INVALID_SHAPE` for a bad spec or `out`
 */
export function generateLayer(spec: LayerSpec, out?: Float32Array): Float32Array {
  const checked = checkLayerSpec(spec);
  const dst = target(out, checked.rows * checked.cols);
  generateInto(checked, dst, BUFFERED_ROW_LIMIT);
  return dst;
}

// ---------------------------------------------------------------- straightforward paths

/** Element-by-element evaluation of the definition with a given `f(x, c)`. */
function generateWith(spec: LayerSpec, f: (x: number, c: number) => number): Float32Array {
  const { seed, layer, tensor, rows, cols } = checkLayerSpec(spec);
  const dst = new Float32Array(rows * cols);
  const buf = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    let sumSq = 0;
    let x0 = 0;
    for (let j = 0, seg = 0, i = 0; j < cols; j++, i++) {
      if (i === SEGMENT_LENGTH) {
        i = 0;
        seg++;
      }
      if (i === 0) x0 = segmentOrigin(hashPosition(seed, layer, tensor, r, seg));
      const w = f(x0 + i * X_STEP, ROTATING_CONSTANTS[j % 3]);
      buf[j] = w;
      sumSq += w * w;
    }
    writeNormalized(buf, cols, sumSq, dst, r * cols);
  }
  return dst;
}

/**
 * The same definition evaluated element by element with the exact functions: what the
 * fast path is checked against. Agrees with {@link generateLayer} to float32 rounding
 * (not bit for bit: the recurrences round differently).
 */
export function generateLayerReference(spec: LayerSpec): Float32Array {
  return generateWith(spec, regenerationFunction);
}

/**
 * The same definition with `Math.sin/cos/tanh`: a benchmark baseline only. Its last bits
 * may differ between engines, so it must never feed a checksum.
 */
export function generateLayerBuiltin(spec: LayerSpec): Float32Array {
  return generateWith(spec, regenerationFunctionBuiltin);
}
