/**
 * Weight quantization for kpc's own quantizer: float32 rows → ggml blocks, following
 * llama.cpp's reference quantizers (`quantize_row_*_ref`, what `llama-quantize` runs
 * when no importance matrix is given) with their float32 arithmetic emulated step by
 * step, so the bytes match what llama-quantize writes on x86-64. The K-quants live in
 * quantize-k.ts.
 */

import { checkRange, rowBytes, roundf, supportedType, type QuantType } from './common.js';
import { f32BitsToBf16Bits, f32BitsToF16Bits, f32ToF16 } from './half.js';
import type { GgmlTypeName } from './types.js';
import { quantizeQ4K, quantizeQ6K } from './quantize-k.js';

const fround = Math.fround;

/** Types {@link quantizeRow} writes. */
export const QUANTIZE_TYPES: readonly GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/**
 * Quantizes `n` float32 values `src[srcOffset…)` to `type` and returns the new bytes.
 * Deterministic; byte-identical to llama.cpp's reference quantizer for the type
 * (`quantize_row_q8_0_ref`, `…q4_0_ref`, `…q4_K_ref`, `…q6_K_ref`,
 * `ggml_fp32_to_fp16_row`, `ggml_fp32_to_bf16_row_ref`; F32 is a copy).
 *
 * @throws KpcError `QUANT_UNSUPPORTED_TYPE` for a type outside {@link QUANTIZE_TYPES};
 *   `QUANT_BAD_SHAPE` when `n` is not a whole number of blocks or the range does not fit.
 */
export function quantizeRow(type: QuantType, src: Float32Array, srcOffset: number, n: number): Uint8Array {
  const info = supportedType(type, QUANTIZE_TYPES, 'quantize');
  const out = new Uint8Array(rowBytes(info, n));
  quantizeRowInto(info.name, src, srcOffset, n, out, 0);
  return out;
}

/**
 * {@link quantizeRow} into `dst[dstOffset…)` (no allocation); returns the bytes written.
 *
 * @throws KpcError as {@link quantizeRow}, and `QUANT_BAD_SHAPE` when `dst` is too short.
 */
export function quantizeRowInto(type: QuantType, src: Float32Array, srcOffset: number, n: number, dst: Uint8Array, dstOffset: number): number {
  const info = supportedType(type, QUANTIZE_TYPES, 'quantize');
  const len = rowBytes(info, n);
  checkRange(srcOffset, n, src.length, 'quantize source');
  checkRange(dstOffset, len, dst.length, 'quantize destination');
  switch (info.name) {
    case 'F32':
    case 'F16':
    case 'BF16':
      plainRow(info.name, src, srcOffset, n, dst, dstOffset);
      break;
    case 'Q8_0':
      quantizeQ8_0(src, srcOffset, n, dst, dstOffset);
      break;
    case 'Q4_0':
      quantizeQ4_0(src, srcOffset, n, dst, dstOffset);
      break;
    case 'Q4_K':
      quantizeQ4K(src, srcOffset, n, dst, dstOffset);
      break;
    case 'Q6_K':
      quantizeQ6K(src, srcOffset, n, dst, dstOffset);
      break;
    default:
      throw new Error(`unreachable: ${info.name}`);
  }
  return len;
}

/** F32 copy / F16 / BF16 conversion, reading source bits so NaN payloads are kept. */
function plainRow(name: 'F32' | 'F16' | 'BF16', src: Float32Array, s: number, n: number, dst: Uint8Array, p: number): void {
  const bits = new Uint32Array(src.buffer, src.byteOffset + s * 4, n);
  for (let i = 0; i < n; i++) {
    const w = bits[i];
    if (name === 'F32') {
      dst[p++] = w & 0xff;
      dst[p++] = (w >>> 8) & 0xff;
      dst[p++] = (w >>> 16) & 0xff;
      dst[p++] = w >>> 24;
    } else {
      const h = name === 'F16' ? f32BitsToF16Bits(w) : f32BitsToBf16Bits(w);
      dst[p++] = h & 0xff;
      dst[p++] = h >>> 8;
    }
  }
}

/** Writes f16 bits `h` little-endian at `dst[p]`. */
function putF16(dst: Uint8Array, p: number, h: number): void {
  dst[p] = h & 0xff;
  dst[p + 1] = h >>> 8;
}

/**
 * `quantize_row_q8_0_ref`: d = amax/127, id = 1/d, q = roundf(x·id) (ties away from
 * zero). d is stored as f16; the quants use the unrounded float32 id.
 */
function quantizeQ8_0(src: Float32Array, s: number, n: number, dst: Uint8Array, p: number): void {
  for (let b = 0; b < n; b += 32, s += 32, p += 34) {
    let amax = 0;
    for (let j = 0; j < 32; j++) {
      const a = Math.abs(src[s + j]);
      amax = amax > a ? amax : a; // C's MAX(amax, fabsf(v)), NaN behaviour included
    }
    const d = fround(amax / 127);
    const id = d !== 0 ? fround(1 / d) : 0;
    putF16(dst, p, f32ToF16(d));
    for (let j = 0; j < 32; j++) {
      // float → int8_t: in range by construction; NaN converts to 0 as cvttss2si's 0x80000000 truncated to 8 bits.
      dst[p + 2 + j] = roundf(fround(src[s + j] * id)) & 0xff;
    }
  }
}

/**
 * `quantize_row_q4_0_ref`: max = the value of largest |x| (first one wins), d = max/−8,
 * id = 1/d, q = min(15, (int8)(x·id + 8.5)) (truncation), nibbles j | (j+16) << 4.
 */
function quantizeQ4_0(src: Float32Array, s: number, n: number, dst: Uint8Array, p: number): void {
  for (let b = 0; b < n; b += 32, s += 32, p += 18) {
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      const v = src[s + j];
      if (amax < Math.abs(v)) {
        amax = Math.abs(v);
        max = v;
      }
    }
    const d = fround(max / -8);
    const id = d !== 0 ? fround(1 / d) : 0;
    putF16(dst, p, f32ToF16(d));
    for (let j = 0; j < 16; j++) {
      const x0 = fround(src[s + j] * id);
      const x1 = fround(src[s + 16 + j] * id);
      const xi0 = Math.min(15, (Math.trunc(fround(x0 + 8.5)) << 24) >> 24);
      const xi1 = Math.min(15, (Math.trunc(fround(x1 + 8.5)) << 24) >> 24);
      dst[p + 2 + j] = (xi0 & 0xff) | ((xi1 << 4) & 0xff);
    }
  }
}


/**
 * A row-major `rows × cols` float matrix quantized row by row to `type` (each row a whole
 * number of blocks), as one buffer in ggml's layout.
 * @throws KpcError as {@link quantizeRow}
 */
export function quantizeMatrix(type: QuantType, src: Float32Array, rows: number, cols: number): Uint8Array {
  const info = supportedType(type, QUANTIZE_TYPES, 'quantize');
  const len = rowBytes(info, cols);
  const out = new Uint8Array(rows * len);
  for (let r = 0; r < rows; r++) quantizeRowInto(info.name, src, r * cols, cols, out, r * len);
  return out;
}
