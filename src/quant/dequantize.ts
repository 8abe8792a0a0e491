/**
 * Dequantization: ggml blocks → float32, bit for bit as llama.cpp's reference
 * `dequantize_row_*` (ggml-quants.c, compiled without FMA as ggml-base is on x86-64).
 *
 * Every product C computes in float is rounded with `Math.fround` at the same place;
 * where a product is provably exact in float32 (e.g. an f16 scale times a 4-bit quant)
 * the rounding is kept anyway so the code reads like the arithmetic it reproduces.
 * The block layouts are described in docs/quantization.md.
 */

import { checkRange, COMPUTE, rowBytes, scaleMinK4, supportedType, u16, type QuantType } from './common.js';
import { f16BitsToF32Bits, f16Table } from './half.js';

const fround = Math.fround;

/**
 * Dequantizes `n` weights of `type` stored at `bytes[byteOffset…]` into
 * `out[outOffset…outOffset+n)`.
 *
 * Supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K. The result equals llama.cpp's
 * `dequantize_row_*` bit for bit (NaN payloads of F32/F16/BF16 included).
 *
 * @throws KpcError `QUANT_UNSUPPORTED_TYPE` for any other type (named in the message);
 *   `QUANT_BAD_SHAPE` when `n` is not a whole number of blocks or a range does not fit.
 */
export function dequantizeRow(type: QuantType, bytes: Uint8Array, byteOffset: number, n: number, out: Float32Array, outOffset = 0): void {
  const info = supportedType(type, COMPUTE, 'dequantize');
  const len = rowBytes(info, n);
  checkRange(byteOffset, len, bytes.length, 'dequantize source bytes');
  checkRange(outOffset, n, out.length, 'dequantize output');
  switch (info.name) {
    case 'F32':
      return copyBits(bytes, byteOffset, n, out, outOffset, 4);
    case 'F16':
      return copyBits(bytes, byteOffset, n, out, outOffset, 2);
    case 'BF16':
      return copyBits(bytes, byteOffset, n, out, outOffset, 3);
    case 'Q8_0':
      return dequantQ8_0(bytes, byteOffset, n, out, outOffset);
    case 'Q4_0':
      return dequantQ4_0(bytes, byteOffset, n, out, outOffset);
    case 'Q4_K':
      return dequantQ4K(bytes, byteOffset, n, out, outOffset);
    case 'Q6_K':
      return dequantQ6K(bytes, byteOffset, n, out, outOffset);
    default:
      throw new Error(`unreachable: ${info.name}`);
  }
}

/**
 * F32 / F16 / BF16: writes bit patterns through a Uint32Array view of `out`, so NaN
 * payloads survive (a JavaScript number may canonicalise them). `kind` 4 = F32,
 * 2 = F16, 3 = BF16.
 */
function copyBits(bytes: Uint8Array, p: number, n: number, out: Float32Array, o: number, kind: 2 | 3 | 4): void {
  const u = new Uint32Array(out.buffer, out.byteOffset + o * 4, n);
  if (kind === 4) {
    for (let i = 0; i < n; i++, p += 4) u[i] = (bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)) >>> 0;
  } else if (kind === 2) {
    for (let i = 0; i < n; i++, p += 2) u[i] = f16BitsToF32Bits(u16(bytes, p));
  } else {
    for (let i = 0; i < n; i++, p += 2) u[i] = (u16(bytes, p) << 16) >>> 0;
  }
}

/** block_q8_0 (34 B): f16 d, int8 qs[32]; y = qs·d. */
function dequantQ8_0(bytes: Uint8Array, p: number, n: number, out: Float32Array, o: number): void {
  const F16 = f16Table();
  for (let b = 0; b < n; b += 32, p += 34) {
    const d = F16[u16(bytes, p)];
    for (let j = 0; j < 32; j++) out[o++] = fround(((bytes[p + 2 + j] << 24) >> 24) * d);
  }
}

/** block_q4_0 (18 B): f16 d, qs[16] nibbles; y[j] = (lo−8)·d, y[j+16] = (hi−8)·d. */
function dequantQ4_0(bytes: Uint8Array, p: number, n: number, out: Float32Array, o: number): void {
  const F16 = f16Table();
  for (let b = 0; b < n; b += 32, p += 18, o += 32) {
    const d = F16[u16(bytes, p)];
    for (let j = 0; j < 16; j++) {
      const q = bytes[p + 2 + j];
      out[o + j] = fround(((q & 15) - 8) * d);
      out[o + j + 16] = fround(((q >> 4) - 8) * d);
    }
  }
}

/**
 * block_q4_K (144 B): f16 d, f16 dmin, scales[12] (8 × 6-bit scale + 6-bit min),
 * qs[128]. Per 64 weights: d1 = d·sc, m1 = dmin·m (float), y = d1·q − m1 (float).
 */
function dequantQ4K(bytes: Uint8Array, p: number, n: number, out: Float32Array, o: number): void {
  const F16 = f16Table();
  for (let b = 0; b < n; b += 256, p += 144) {
    const d = F16[u16(bytes, p)];
    const min = F16[u16(bytes, p + 2)];
    const s = p + 4;
    let q = p + 16;
    for (let is = 0; is < 8; is += 2, q += 32) {
      const d1 = fround(d * scaleMinK4(bytes, s, is, 0));
      const m1 = fround(min * scaleMinK4(bytes, s, is, 1));
      const d2 = fround(d * scaleMinK4(bytes, s, is + 1, 0));
      const m2 = fround(min * scaleMinK4(bytes, s, is + 1, 1));
      for (let l = 0; l < 32; l++) out[o++] = fround(fround(d1 * (bytes[q + l] & 0xf)) - m1);
      for (let l = 0; l < 32; l++) out[o++] = fround(fround(d2 * (bytes[q + l] >> 4)) - m2);
    }
  }
}

/**
 * block_q6_K (210 B): ql[128] low nibbles, qh[64] high 2-bit pairs, int8 scales[16],
 * f16 d. y = (d·sc)·q in float, left to right as C evaluates `d * sc[is] * q`.
 */
function dequantQ6K(bytes: Uint8Array, p: number, n: number, out: Float32Array, o: number): void {
  const F16 = f16Table();
  for (let b = 0; b < n; b += 256, p += 210) {
    const d = F16[u16(bytes, p + 208)];
    let ql = p;
    let qh = p + 128;
    let sc = p + 192;
    for (let half = 0; half < 2; half++, ql += 64, qh += 32, sc += 8, o += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l];
        const q1 = ((bytes[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[o + l] = fround(fround(d * ((bytes[sc + is] << 24) >> 24)) * q1);
        out[o + l + 32] = fround(fround(d * ((bytes[sc + is + 2] << 24) >> 24)) * q2);
        out[o + l + 64] = fround(fround(d * ((bytes[sc + is + 4] << 24) >> 24)) * q3);
        out[o + l + 96] = fround(fround(d * ((bytes[sc + is + 6] << 24) >> 24)) * q4);
      }
    }
  }
}
