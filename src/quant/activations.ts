/**
 * Activation quantization, as llama.cpp's CPU backend does it to the right-hand side of
 * a mat-mul before the dot products: each float32 activation row is converted to the
 * weight type's `vec_dot_type` (Q8_0 for Q8_0/Q4_0 weights, Q8_K for Q4_K/Q6_K, F16 for
 * F16, BF16 for BF16, F32 for F32).
 *
 * Q8_0 follows the **x86 AVX/AVX2 kernel** (`quantize_row_q8_0` in
 * ggml-cpu/arch/x86/quants.c, and the same rounding in the repacked-weight path
 * `ggml_quantize_mat_q8_0_4x8`), which differs from the portable reference
 * `quantize_row_q8_0_ref`: id = 127/amax (not 1/d) and round-half-to-even
 * (`_mm256_round_ps`, not `roundf`). Q8_K is `quantize_row_q8_K_ref`, which x86 uses
 * unchanged (its repacked path gives the same values). See docs/quantization.md.
 *
 * The result is kept in typed arrays rather than in ggml's byte layout: the dot kernels
 * read int8 quants and exact double scales directly.
 */

import { checkRange, checkShape, isCount, nearestInt, roundEven } from './common.js';
import { bf16Table, f16Table, f32BitsToBf16Bits, f32BitsToF16Bits, f32Bits } from './half.js';

const fround = Math.fround;

/** The activation format a weight type is multiplied against (ggml's `vec_dot_type`). */
export type VecDotType = 'Q8_0' | 'Q8_K' | 'F16' | 'BF16' | 'F32';

/**
 * Quantized activation rows. Which arrays are used depends on {@link type}; the others
 * are empty.
 */
export interface ActivationRows {
  /** The format these rows are in. */
  readonly type: VecDotType;
  /** Values per row. */
  readonly cols: number;
  /** Rows the arrays have room for. */
  readonly capacity: number;
  /** Q8_0 / Q8_K: the int8 quants, `cols` per row. */
  readonly qs: Int8Array;
  /**
   * Q8_0: one scale per 32 values (the f16 value stored in block_q8_0.d);
   * Q8_K: one per 256 (the float32 block_q8_K.d). Exact as doubles.
   */
  readonly d: Float64Array;
  /**
   * Q8_0: per 32 values the sum of their quants (kpc's addition: lets Q4_0 apply its
   * −8 offset once per block; exact integers). Q8_K: ggml's `bsums`, one per 16.
   */
  readonly sums: Int32Array;
  /** F16 / BF16 / F32: the values rounded to that format, `cols` per row. */
  readonly values: Float64Array;
}

/** Values per scale of each format (1 for the plain float formats). */
export function activationBlockSize(type: VecDotType): number {
  return type === 'Q8_0' ? 32 : type === 'Q8_K' ? 256 : 1;
}

/**
 * Allocates room for `rows` activation rows of `cols` values in format `type`.
 *
 * @throws KpcError `QUANT_BAD_SHAPE` when `cols` is not a whole number of blocks.
 */
export function createActivationRows(type: VecDotType, rows: number, cols: number): ActivationRows {
  const bs = activationBlockSize(type);
  checkShape(isCount(rows) && isCount(cols), `activation rows/cols must be non-negative integers, got ${rows}×${cols}`, { rows, cols });
  checkShape(cols % bs === 0, `${cols} activations per row are not a whole number of ${type} blocks (${bs})`, { cols, type });
  const n = rows * cols;
  const quant = type === 'Q8_0' || type === 'Q8_K';
  return {
    type,
    cols,
    capacity: rows,
    qs: new Int8Array(quant ? n : 0),
    d: new Float64Array(quant ? n / bs : 0),
    sums: new Int32Array(type === 'Q8_0' ? n / 32 : type === 'Q8_K' ? n / 16 : 0),
    values: new Float64Array(quant ? 0 : n),
  };
}

/**
 * Converts `rows` rows of `into.cols` activations from `x[xOffset…]` into `into`
 * (rows 0…rows−1). Each value is first rounded to float32, as llama.cpp's activations
 * are float32.
 *
 * @throws KpcError `QUANT_BAD_SHAPE` when `into` has too few rows or `x` too few values.
 */
export function quantizeActivations(into: ActivationRows, x: Float32Array | Float64Array, xOffset: number, rows: number): void {
  const cols = into.cols;
  checkShape(isCount(rows) && rows <= into.capacity, `${rows} activation rows do not fit in a buffer of ${into.capacity}`, { rows });
  checkRange(xOffset, rows * cols, x.length, 'activations');
  const n = rows * cols;
  switch (into.type) {
    case 'Q8_0':
      for (let b = 0; b < n; b += 32) quantizeBlockQ8_0(x, xOffset + b, into, b);
      return;
    case 'Q8_K':
      for (let b = 0; b < n; b += 256) quantizeBlockQ8K(x, xOffset + b, into, b);
      return;
    case 'F16': {
      const t = f16Table();
      for (let i = 0; i < n; i++) into.values[i] = t[f32BitsToF16Bits(f32Bits(x[xOffset + i]))];
      return;
    }
    case 'BF16': {
      const t = bf16Table();
      for (let i = 0; i < n; i++) into.values[i] = t[f32BitsToBf16Bits(f32Bits(x[xOffset + i]))];
      return;
    }
    case 'F32':
      for (let i = 0; i < n; i++) into.values[i] = fround(x[xOffset + i]);
      return;
  }
}

/**
 * One Q8_0 block, x86 AVX2 style: amax over |x|; d = amax/127 stored as f16 (F16C,
 * round to nearest even); id = 127/amax (0 when amax is 0); q = roundEven(x·id),
 * saturated to int8 as the pack instructions do.
 */
function quantizeBlockQ8_0(x: Float32Array | Float64Array, s: number, into: ActivationRows, o: number): void {
  const qs = into.qs;
  let amax = 0;
  for (let j = 0; j < 32; j++) {
    const a = Math.abs(fround(x[s + j]));
    if (a > amax) amax = a;
  }
  const d = fround(amax / 127);
  const id = amax !== 0 ? fround(127 / amax) : 0;
  let sum = 0;
  for (let j = 0; j < 32; j++) {
    let q = roundEven(fround(fround(x[s + j]) * id));
    q = q > 127 ? 127 : q < -128 ? -128 : q;
    qs[o + j] = q;
    sum += q;
  }
  into.d[o >> 5] = f16Table()[f32BitsToF16Bits(f32Bits(d))];
  into.sums[o >> 5] = sum;
}

/**
 * One Q8_K block, `quantize_row_q8_K_ref`: max = the value of largest |x| (first one
 * wins); iscale = −127/max; q = min(127, nearest_int(iscale·x)); d = 1/iscale (float32);
 * bsums = sums of 16 quants. An all-zero block has d = 0 and zero quants and sums.
 */
function quantizeBlockQ8K(x: Float32Array | Float64Array, s: number, into: ActivationRows, o: number): void {
  const qs = into.qs;
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 256; j++) {
    const v = fround(x[s + j]);
    const a = Math.abs(v);
    if (a > amax) {
      amax = a;
      max = v;
    }
  }
  const blk = o >> 8;
  if (amax === 0) {
    into.d[blk] = 0;
    qs.fill(0, o, o + 256);
    into.sums.fill(0, blk * 16, blk * 16 + 16);
    return;
  }
  const iscale = fround(-127 / max);
  for (let g = 0; g < 16; g++) {
    let sum = 0;
    for (let j = o + 16 * g, e = j + 16; j < e; j++) {
      const v = Math.min(127, nearestInt(fround(iscale * fround(x[s + j - o]))));
      qs[j] = v;
      sum += (v << 24) >> 24; // bsums add the stored int8 values
    }
    into.sums[blk * 16 + g] = sum;
  }
  into.d[blk] = fround(1 / iscale);
}
