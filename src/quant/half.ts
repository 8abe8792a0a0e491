/**
 * IEEE binary16 (f16) and bfloat16 (bf16) conversions, bit for bit as ggml does them.
 *
 * - f32 → f16 rounds to nearest, ties to even, with gradual underflow (f16 subnormals)
 *   and overflow to ±Inf from 65520 up; that is what ggml's software conversion
 *   (`ggml_compute_fp32_to_fp16`, used by the reference quantizers) and the F16C
 *   instruction (used by the x86 CPU backend) both give for every non-NaN input. A NaN
 *   becomes the quiet NaN `0x7E00` with its sign, as ggml's software conversion gives;
 *   F16C would keep the top payload bits instead (only NaN payloads differ).
 * - f16 → f32 is exact; a NaN comes back quiet (payload kept, quiet bit set), as both
 *   ggml's conversion and F16C do.
 * - f32 → bf16 is `ggml_compute_fp32_to_bf16`: round to nearest even on the top 16 bits,
 *   a NaN keeps its top bits with the quiet bit forced; subnormals are not flushed.
 * - bf16 → f32 appends 16 zero bits.
 *
 * The `…Bits` functions work on raw bit patterns (so NaN payloads survive); the others
 * take and return JavaScript numbers, rounding a number to float32 first (a double is
 * never converted straight to f16, which could round twice differently).
 */

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Bits of `x` rounded to float32 (NaN gives the engine's canonical float32 NaN). */
export function f32Bits(x: number): number {
  F32[0] = x;
  return U32[0];
}

/** The float32 value whose bits are `bits` (as a double; NaN payloads are not kept). */
export function f32FromBits(bits: number): number {
  U32[0] = bits >>> 0;
  return F32[0];
}

/** f16 bits of the float32 with bits `w` (round to nearest even; see module doc for NaN). */
export function f32BitsToF16Bits(w: number): number {
  w >>>= 0;
  const sign = (w >>> 16) & 0x8000;
  const abs = w & 0x7fffffff;
  if (abs > 0x7f800000) return sign | 0x7e00; // NaN: ggml's software conversion drops the payload
  if (abs >= 0x477ff000) return sign | 0x7c00; // ≥ 65520 (the tie above 65504 goes to even = Inf), and Inf
  if (abs >= 0x38800000) {
    // Normal f16 (≥ 2^-14): rebias the exponent (127 → 15) and drop 13 mantissa bits.
    const rest = abs & 0x1fff;
    let h = (abs - 0x38000000) >>> 13;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) !== 0)) h++; // a carry into the exponent is right
    return sign | h;
  }
  // f16 subnormal or zero: the result counts units of 2^-24.
  const e = abs >>> 23;
  if (e < 102) return sign; // below 2^-25: rounds to zero (float32 subnormals included)
  const m = (abs & 0x7fffff) | 0x800000; // value = m · 2^(e-150) = m · 2^-24 / 2^(126-e)
  const shift = 126 - e; // 14..24
  const half = 1 << (shift - 1);
  const rem = m & ((1 << shift) - 1);
  let h = m >>> shift;
  if (rem > half || (rem === half && (h & 1) !== 0)) h++; // may become 0x400, the smallest normal: right
  return sign | h;
}

/** float32 bits of the f16 with bits `h` (exact; a NaN comes back quiet). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return (sign | 0x7f800000 | (m << 13) | (m !== 0 ? 0x400000 : 0)) >>> 0;
  if (e !== 0) return (sign | ((e + 112) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0;
  // Subnormal f16: normalise the mantissa into a float32 normal.
  let mm = m;
  let ee = 113;
  while ((mm & 0x400) === 0) {
    mm <<= 1;
    ee--;
  }
  return (sign | (ee << 23) | ((mm & 0x3ff) << 13)) >>> 0;
}

/** bf16 bits of the float32 with bits `w`, as `ggml_compute_fp32_to_bf16`. */
export function f32BitsToBf16Bits(w: number): number {
  w >>>= 0;
  if ((w & 0x7fffffff) > 0x7f800000) return ((w >>> 16) | 64) & 0xffff; // NaN: force quiet
  // No 32-bit overflow is possible: the largest non-NaN pattern is -Inf = 0xFF800000.
  return ((w + 0x7fff + ((w >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 bits of the bf16 with bits `h` (exact). */
export function bf16BitsToF32Bits(h: number): number {
  return ((h & 0xffff) << 16) >>> 0;
}

/** f16 bits of `x` rounded to float32 first. */
export function f32ToF16(x: number): number {
  return f32BitsToF16Bits(f32Bits(x));
}

/** The value of the f16 with bits `h` (exact). */
export function f16ToF32(h: number): number {
  return f16Table()[h & 0xffff];
}

/** bf16 bits of `x` rounded to float32 first. */
export function f32ToBf16(x: number): number {
  return f32BitsToBf16Bits(f32Bits(x));
}

/** The value of the bf16 with bits `h` (exact). */
export function bf16ToF32(h: number): number {
  return f32FromBits(bf16BitsToF32Bits(h));
}

/** `x` rounded to float32, then to the nearest f16 value. */
export function roundToF16(x: number): number {
  return f16ToF32(f32ToF16(x));
}

/** `x` rounded to float32, then to bf16 as ggml rounds. */
export function roundToBf16(x: number): number {
  return bf16ToF32(f32ToBf16(x));
}

let F16_TABLE: Float64Array | undefined;
let BF16_TABLE: Float64Array | undefined;

/**
 * The 65536 f16 values indexed by their bits, built once on first use (512 KB). The
 * kernels read scales through it: one indexed load instead of a bit decode per block.
 */
export function f16Table(): Float64Array {
  if (F16_TABLE === undefined) {
    const t = new Float64Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f32FromBits(f16BitsToF32Bits(h));
    F16_TABLE = t;
  }
  return F16_TABLE;
}

/** The 65536 bf16 values indexed by their bits, built once on first use (512 KB). */
export function bf16Table(): Float64Array {
  if (BF16_TABLE === undefined) {
    const t = new Float64Array(65536);
    for (let h = 0; h < 65536; h++) t[h] = f32FromBits(bf16BitsToF32Bits(h));
    BF16_TABLE = t;
  }
  return BF16_TABLE;
}
