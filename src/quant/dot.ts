/**
 * Dot products of one weight row against one activation row in its `vec_dot_type`.
 *
 * Integer sums inside a block are exact (they fit in int32 and JavaScript computes them
 * exactly). The float part is in float64 in this FIXED order, the same on every
 * JavaScript engine (only +, −, × on doubles, left to right, blocks in index order;
 * nothing fused, nothing reordered):
 *
 * - Q8_0·Q8_0, Q4_0·Q8_0, per 32-block b: `acc = acc + (dw_b · da_b) · isum_b`, where
 *   isum_b = Σ w_j·a_j (Q4_0: Σ (nibble_j − 8)·a_j, computed as Σ nibble·a − 8·Σ a).
 * - Q4_K·Q8_K, per 256-block: isum = Σ_j sc_j · Σ q·a over sub-block j (8 of 32),
 *   msum = Σ_j m_j · (bsum_2j + bsum_2j+1); `acc = acc + (d · da) · isum` then
 *   `acc = acc − (dmin · da) · msum`.
 * - Q6_K·Q8_K, per 256-block: isum = Σ_j sc_j · Σ (q − 32)·a over sub-block j (16 of 16);
 *   `acc = acc + (d · da) · isum`.
 * - F16, BF16, F32: `acc = acc + w_i · a_i`, i ascending (each product is exact in
 *   double; a_i is the activation rounded to the weight's format).
 *
 * llama.cpp sums in another order (SIMD lanes, float32), so results agree with it to
 * rounding, not bit for bit; see docs/quantization.md. The F16/BF16 kernels have
 * variants reading aligned 16-bit words (fewer loads, the same order); the quantized
 * types run in WebAssembly where it is available (src/quant/wasm), these kernels being
 * their reference and fallback.
 */

import type { ActivationRows } from './activations.js';
import { bf16Table, f16Table } from './half.js';

/** Kernel context: the weight bytes and the views the kernels read them through. */
export interface WeightView {
  /** The raw weight bytes. */
  readonly u8: Uint8Array;
  /** The same bytes as int8 (Q8_0 quants). */
  readonly i8: Int8Array;
  /** F32 weights as float32 values (aligned view or copy); empty for other types. */
  readonly f32: Float32Array;
  /** The bytes as little-endian u16 words when 2-aligned on a little-endian host, else empty. */
  readonly u16: Uint16Array;
  /** The bytes as little-endian 32-bit words when 4-aligned on a little-endian host, else empty. */
  readonly i32: Int32Array;
}

/** f16 values by bits (filled by {@link ensureTables}). */
export let F16: Float64Array = new Float64Array(0);
/** bf16 values by bits (filled by {@link ensureTables}). */
export let BF16: Float64Array = new Float64Array(0);

/** Builds the f16/bf16 tables the kernels index (once). */
export function ensureTables(): void {
  if (F16.length === 0) {
    F16 = f16Table();
    BF16 = bf16Table();
  }
}

/** Q8_0 row at byte `p` (`nb` blocks) · Q8_0 activations from value index `q`. */
export function dotQ8_0(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const w8 = w.i8;
  const qs = a.qs;
  const d = a.d;
  let blk = q >> 5;
  let acc = 0;
  for (let b = 0; b < nb; b++, p += 34, blk++) {
    const dw = F16[u8[p] | (u8[p + 1] << 8)];
    let s = 0;
    for (let r = p + 2, e = p + 34; r < e; r += 8, q += 8) {
      s +=
        w8[r] * qs[q] +
        w8[r + 1] * qs[q + 1] +
        w8[r + 2] * qs[q + 2] +
        w8[r + 3] * qs[q + 3] +
        w8[r + 4] * qs[q + 4] +
        w8[r + 5] * qs[q + 5] +
        w8[r + 6] * qs[q + 6] +
        w8[r + 7] * qs[q + 7];
    }
    acc += dw * d[blk] * s;
  }
  return acc;
}

/** Q4_0 row at byte `p` (`nb` blocks) · Q8_0 activations from value index `q`. */
export function dotQ4_0(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const qs = a.qs;
  const d = a.d;
  const sums = a.sums;
  let blk = q >> 5;
  let acc = 0;
  for (let b = 0; b < nb; b++, p += 18, q += 32, blk++) {
    const dw = F16[u8[p] | (u8[p + 1] << 8)];
    let s = 0;
    for (let j = 0; j < 16; j += 4) {
      const r = p + 2 + j;
      const x0 = u8[r];
      const x1 = u8[r + 1];
      const x2 = u8[r + 2];
      const x3 = u8[r + 3];
      const k = q + j;
      s +=
        (x0 & 15) * qs[k] +
        (x1 & 15) * qs[k + 1] +
        (x2 & 15) * qs[k + 2] +
        (x3 & 15) * qs[k + 3] +
        (x0 >> 4) * qs[k + 16] +
        (x1 >> 4) * qs[k + 17] +
        (x2 >> 4) * qs[k + 18] +
        (x3 >> 4) * qs[k + 19];
    }
    acc += dw * d[blk] * (s - 8 * sums[blk]);
  }
  return acc;
}

/** Σ (low nibble of u8[r+l]) · qs[k+l], l < 32. */
function lowNibbleDot(u8: Uint8Array, r: number, qs: Int8Array, k: number): number {
  let s = 0;
  for (let l = 0; l < 32; l += 8) {
    s +=
      (u8[r + l] & 15) * qs[k + l] +
      (u8[r + l + 1] & 15) * qs[k + l + 1] +
      (u8[r + l + 2] & 15) * qs[k + l + 2] +
      (u8[r + l + 3] & 15) * qs[k + l + 3] +
      (u8[r + l + 4] & 15) * qs[k + l + 4] +
      (u8[r + l + 5] & 15) * qs[k + l + 5] +
      (u8[r + l + 6] & 15) * qs[k + l + 6] +
      (u8[r + l + 7] & 15) * qs[k + l + 7];
  }
  return s;
}

/** Σ (high nibble of u8[r+l]) · qs[k+l], l < 32. */
function highNibbleDot(u8: Uint8Array, r: number, qs: Int8Array, k: number): number {
  let s = 0;
  for (let l = 0; l < 32; l += 8) {
    s +=
      (u8[r + l] >> 4) * qs[k + l] +
      (u8[r + l + 1] >> 4) * qs[k + l + 1] +
      (u8[r + l + 2] >> 4) * qs[k + l + 2] +
      (u8[r + l + 3] >> 4) * qs[k + l + 3] +
      (u8[r + l + 4] >> 4) * qs[k + l + 4] +
      (u8[r + l + 5] >> 4) * qs[k + l + 5] +
      (u8[r + l + 6] >> 4) * qs[k + l + 6] +
      (u8[r + l + 7] >> 4) * qs[k + l + 7];
  }
  return s;
}

/** Q4_K row at byte `p` (`nb` blocks) · Q8_K activations from value index `q`. */
export function dotQ4K(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const qs = a.qs;
  const sums = a.sums;
  let blk = q >> 8;
  let acc = 0;
  for (let b = 0; b < nb; b++, p += 144, q += 256, blk++) {
    const d = F16[u8[p] | (u8[p + 1] << 8)];
    const dmin = F16[u8[p + 2] | (u8[p + 3] << 8)];
    const s = p + 4;
    const b0 = u8[s], b1 = u8[s + 1], b2 = u8[s + 2], b3 = u8[s + 3];
    const b4 = u8[s + 4], b5 = u8[s + 5], b6 = u8[s + 6], b7 = u8[s + 7];
    const b8 = u8[s + 8], b9 = u8[s + 9], b10 = u8[s + 10], b11 = u8[s + 11];
    // get_scale_min_k4 unrolled: 6-bit scales sc0..7 and mins m0..7.
    const r = p + 16;
    const isum =
      (b0 & 63) * lowNibbleDot(u8, r, qs, q) +
      (b1 & 63) * highNibbleDot(u8, r, qs, q + 32) +
      (b2 & 63) * lowNibbleDot(u8, r + 32, qs, q + 64) +
      (b3 & 63) * highNibbleDot(u8, r + 32, qs, q + 96) +
      ((b8 & 15) | ((b0 >> 6) << 4)) * lowNibbleDot(u8, r + 64, qs, q + 128) +
      ((b9 & 15) | ((b1 >> 6) << 4)) * highNibbleDot(u8, r + 64, qs, q + 160) +
      ((b10 & 15) | ((b2 >> 6) << 4)) * lowNibbleDot(u8, r + 96, qs, q + 192) +
      ((b11 & 15) | ((b3 >> 6) << 4)) * highNibbleDot(u8, r + 96, qs, q + 224);
    const g = blk * 16;
    const msum =
      (b4 & 63) * (sums[g] + sums[g + 1]) +
      (b5 & 63) * (sums[g + 2] + sums[g + 3]) +
      (b6 & 63) * (sums[g + 4] + sums[g + 5]) +
      (b7 & 63) * (sums[g + 6] + sums[g + 7]) +
      ((b8 >> 4) | ((b4 >> 6) << 4)) * (sums[g + 8] + sums[g + 9]) +
      ((b9 >> 4) | ((b5 >> 6) << 4)) * (sums[g + 10] + sums[g + 11]) +
      ((b10 >> 4) | ((b6 >> 6) << 4)) * (sums[g + 12] + sums[g + 13]) +
      ((b11 >> 4) | ((b7 >> 6) << 4)) * (sums[g + 14] + sums[g + 15]);
    const da = a.d[blk];
    acc += d * da * isum;
    acc -= dmin * da * msum;
  }
  return acc;
}

/** Q6_K row at byte `p` (`nb` blocks) · Q8_K activations from value index `q`. */
export function dotQ6K(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const qs = a.qs;
  const sums = a.sums;
  let blk = q >> 8;
  let acc = 0;
  for (let b = 0; b < nb; b++, p += 210, q += 256, blk++) {
    const d = F16[u8[p + 208] | (u8[p + 209] << 8)];
    let isum = 0;
    for (let h = 0; h < 2; h++) {
      const ql = p + 64 * h;
      const qh = p + 128 + 32 * h;
      const sc = p + 192 + 8 * h;
      const base = q + 128 * h;
      for (let part = 0; part < 2; part++) {
        // Four sub-blocks of 16: values base + 32k + 16·part + l, k = 0..3.
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let l = 16 * part, e = l + 16; l < e; l++) {
          const lo = u8[ql + l];
          const hi = u8[ql + l + 32];
          const hb = u8[qh + l];
          s0 += ((lo & 15) | ((hb & 3) << 4)) * qs[base + l];
          s1 += ((hi & 15) | ((hb & 12) << 2)) * qs[base + 32 + l];
          s2 += ((lo >> 4) | (hb & 48)) * qs[base + 64 + l];
          s3 += ((hi >> 4) | ((hb >> 2) & 48)) * qs[base + 96 + l];
        }
        const g = blk * 16 + 8 * h + part;
        isum +=
          ((u8[sc + part] << 24) >> 24) * (s0 - 32 * sums[g]) +
          ((u8[sc + 2 + part] << 24) >> 24) * (s1 - 32 * sums[g + 2]) +
          ((u8[sc + 4 + part] << 24) >> 24) * (s2 - 32 * sums[g + 4]) +
          ((u8[sc + 6 + part] << 24) >> 24) * (s3 - 32 * sums[g + 6]);
      }
    }
    acc += d * a.d[blk] * isum;
  }
  return acc;
}

/** F16 row at byte `p` (`n` values) · F16-rounded activations from index `q`. */
export function dotF16(w: WeightView, p: number, n: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const v = a.values;
  const t = F16;
  let acc = 0;
  for (let i = 0; i < n; i++, p += 2) acc += t[u8[p] | (u8[p + 1] << 8)] * v[q + i];
  return acc;
}

/** BF16 row at byte `p` (`n` values) · BF16-rounded activations from index `q`. */
export function dotBF16(w: WeightView, p: number, n: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const v = a.values;
  const t = BF16;
  let acc = 0;
  for (let i = 0; i < n; i++, p += 2) acc += t[u8[p] | (u8[p + 1] << 8)] * v[q + i];
  return acc;
}

/** F32 row at byte `p` (`n` values) · float32-rounded activations from index `q`. */
export function dotF32(w: WeightView, p: number, n: number, a: ActivationRows, q: number): number {
  const f = w.f32;
  const v = a.values;
  let acc = 0;
  for (let i = 0, k = p / 4; i < n; i++, k++) acc += f[k] * v[q + i];
  return acc;
}

/** {@link dotF16} reading the weights as u16 words (needs {@link WeightView.u16}). */
export function dotF16Words(w: WeightView, p: number, n: number, a: ActivationRows, q: number): number {
  const u16 = w.u16;
  const v = a.values;
  const t = F16;
  let acc = 0;
  for (let i = 0, k = p / 2; i < n; i++, k++) acc += t[u16[k]] * v[q + i];
  return acc;
}

/** {@link dotBF16} reading the weights as u16 words (needs {@link WeightView.u16}). */
export function dotBF16Words(w: WeightView, p: number, n: number, a: ActivationRows, q: number): number {
  const u16 = w.u16;
  const v = a.values;
  const t = BF16;
  let acc = 0;
  for (let i = 0, k = p / 2; i < n; i++, k++) acc += t[u16[k]] * v[q + i];
  return acc;
}
