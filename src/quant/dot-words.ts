/**
 * Variants of the dot.ts kernels that read the weight bytes as little-endian 16- or
 * 32-bit words (when the tensor is aligned on a little-endian host): fewer loads, the
 * same integer sums and the same float64 order, so the same bits (tested).
 */

import type { ActivationRows } from './activations.js';
import { BF16, F16, type WeightView } from './dot.js';

/** {@link dotQ4_0} reading the nibbles as u16 words (needs {@link WeightView.u16}). */
export function dotQ4_0Words(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u16 = w.u16;
  const qs = a.qs;
  const d = a.d;
  const sums = a.sums;
  let blk = q >> 5;
  let acc = 0;
  for (let b = 0, k = p / 2; b < nb; b++, k += 9, q += 32, blk++) {
    const dw = F16[u16[k]];
    let s = 0;
    for (let j = 0; j < 16; j += 4) {
      const x0 = u16[k + 1 + (j >> 1)];
      const x1 = u16[k + 2 + (j >> 1)];
      const i = q + j;
      s +=
        (x0 & 15) * qs[i] +
        ((x0 >> 8) & 15) * qs[i + 1] +
        (x1 & 15) * qs[i + 2] +
        ((x1 >> 8) & 15) * qs[i + 3] +
        ((x0 >> 4) & 15) * qs[i + 16] +
        (x0 >> 12) * qs[i + 17] +
        ((x1 >> 4) & 15) * qs[i + 18] +
        (x1 >> 12) * qs[i + 19];
    }
    acc += dw * d[blk] * (s - 8 * sums[blk]);
  }
  return acc;
}

/**
 * 32 bytes read as 8 words from `w32[k…]`: scLo·Σ low nibble·qs[i…] + scHi·Σ high nibble·qs[i+32…]
 * (one Q4_K sub-block pair; exact integers).
 */
function nibbleWordsDot(w32: Int32Array, k: number, qs: Int8Array, i: number, scLo: number, scHi: number): number {
  let lo = 0;
  let hi = 0;
  for (let m = 0; m < 8; m++, k++, i += 4) {
    const x = w32[k];
    lo += (x & 15) * qs[i] + ((x >> 8) & 15) * qs[i + 1] + ((x >> 16) & 15) * qs[i + 2] + ((x >>> 24) & 15) * qs[i + 3];
    hi += ((x >> 4) & 15) * qs[i + 32] + ((x >> 12) & 15) * qs[i + 33] + ((x >> 20) & 15) * qs[i + 34] + (x >>> 28) * qs[i + 35];
  }
  return scLo * lo + scHi * hi;
}

/** {@link dotQ4K} reading the nibbles as 32-bit words (needs {@link WeightView.i32}). */
export function dotQ4KWords(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const w32 = w.i32;
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
    const k = (p + 16) / 4;
    const isum =
      nibbleWordsDot(w32, k, qs, q, b0 & 63, b1 & 63) +
      nibbleWordsDot(w32, k + 8, qs, q + 64, b2 & 63, b3 & 63) +
      nibbleWordsDot(w32, k + 16, qs, q + 128, (b8 & 15) | ((b0 >> 6) << 4), (b9 & 15) | ((b1 >> 6) << 4)) +
      nibbleWordsDot(w32, k + 24, qs, q + 192, (b10 & 15) | ((b2 >> 6) << 4), (b11 & 15) | ((b3 >> 6) << 4));
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

/** {@link dotQ6K} reading quants as u16 words (needs {@link WeightView.u16}). */
export function dotQ6KWords(w: WeightView, p: number, nb: number, a: ActivationRows, q: number): number {
  const u8 = w.u8;
  const u16 = w.u16;
  const qs = a.qs;
  const sums = a.sums;
  let blk = q >> 8;
  let acc = 0;
  for (let b = 0; b < nb; b++, p += 210, q += 256, blk++) {
    const d = F16[u16[(p + 208) / 2]];
    let isum = 0;
    for (let h = 0; h < 2; h++) {
      const ql = (p + 64 * h) / 2;
      const qh = (p + 128 + 32 * h) / 2;
      const sc = p + 192 + 8 * h;
      const base = q + 128 * h;
      for (let part = 0; part < 2; part++) {
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let m = 8 * part, e = m + 8; m < e; m++) {
          const lo = u16[ql + m]; // ql bytes l, l+1 with l = 2m
          const hi = u16[ql + m + 16]; // ql bytes l+32, l+33
          const hb = u16[qh + m]; // qh bytes l, l+1
          const i = base + 2 * m;
          s0 += ((lo & 15) | ((hb & 3) << 4)) * qs[i] + (((lo >> 8) & 15) | ((hb >> 4) & 48)) * qs[i + 1];
          s1 += ((hi & 15) | ((hb & 12) << 2)) * qs[i + 32] + (((hi >> 8) & 15) | ((hb >> 6) & 48)) * qs[i + 33];
          s2 += (((lo >> 4) & 15) | (hb & 48)) * qs[i + 64] + ((lo >> 12) | ((hb >> 8) & 48)) * qs[i + 65];
          s3 += (((hi >> 4) & 15) | ((hb >> 2) & 48)) * qs[i + 96] + ((hi >> 12) | ((hb >> 10) & 48)) * qs[i + 97];
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
