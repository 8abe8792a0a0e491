/**
 * The K-quant reference quantizers of llama.cpp (`quantize_row_q4_K_ref`,
 * `quantize_row_q6_K_ref`, with their helpers `make_qkx2_quants` and `make_qx_quants`),
 * with every float32 operation of the C code rounded with `Math.fround` in the same
 * order. ggml-base is compiled for plain x86-64 (no FMA), so no product is fused with
 * an addition there and none is here. Block layouts: docs/quantization.md.
 */

import { nearestInt, scaleMinK4 } from './common.js';
import { f16ToF32, f32ToF16 } from './half.js';

const f = Math.fround;

/** ggml's `GROUP_MAX_EPS` (1e-15f): below it a group counts as all zero. */
const GROUP_MAX_EPS = f(1e-15);
/** The float literal `0.1f`. */
const TENTH = f(0.1);

// Scratch reused by every call (the quantizer is synchronous and not re-entrant).
const L = new Uint8Array(256);
const Laux = new Uint8Array(32);
const weights = new Float32Array(32);
const scales = new Float32Array(16);
const mins = new Float32Array(8);
/** Second result of {@link makeQkx2Quants} (C's `*the_min`). */
let theMin = 0;

/**
 * `make_qkx2_quants(n, nmax, x, weights, L, &the_min, Laux, rmin, rdelta, nstep, false)`:
 * fits x ≈ scale·L − the_min with L in [0, nmax] by weighted least squares over
 * `nstep + 1` candidate inverse scales. Writes L[lOff…], returns the scale and leaves
 * the min in {@link theMin}.
 */
function makeQkx2Quants(n: number, nmax: number, x: Float32Array, xo: number, lOff: number, rmin: number, rdelta: number, nstep: number): number {
  let min = x[xo];
  let max = x[xo];
  let sumW = weights[0];
  let sumX = f(sumW * x[xo]);
  for (let i = 1; i < n; i++) {
    const xi = x[xo + i];
    if (xi < min) min = xi;
    if (xi > max) max = xi;
    const w = weights[i];
    sumW = f(sumW + w);
    sumX = f(sumX + f(w * xi));
  }
  if (min > 0) min = 0;
  if (max === min) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    theMin = -min;
    return 0;
  }
  let iscale = f(nmax / f(max - min));
  let scale = f(1 / iscale);
  let bestError = 0;
  for (let i = 0; i < n; i++) {
    const l = nearestInt(f(iscale * f(x[xo + i] - min)));
    const q = Math.max(0, Math.min(nmax, l));
    L[lOff + i] = q;
    let diff = f(f(f(scale * q) + min) - x[xo + i]);
    diff = f(diff * diff);
    bestError = f(bestError + f(weights[i] * diff));
  }
  for (let is = 0; is <= nstep; is++) {
    // `min` may have moved to a better fit's min: C re-reads it here (and below).
    iscale = f(f(f(rmin + f(rdelta * is)) + nmax) / f(max - min));
    let sumL = 0;
    let sumL2 = 0;
    let sumXL = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const l = Math.max(0, Math.min(nmax, nearestInt(f(iscale * f(xi - min)))));
      Laux[i] = l;
      const w = weights[i];
      const wl = f(w * l);
      sumL = f(sumL + wl);
      sumL2 = f(sumL2 + f(wl * l));
      sumXL = f(sumXL + f(wl * xi));
    }
    const D = f(f(sumW * sumL2) - f(sumL * sumL));
    if (D > 0) {
      let thisScale = f(f(f(sumW * sumXL) - f(sumX * sumL)) / D);
      let thisMin = f(f(f(sumL2 * sumX) - f(sumL * sumXL)) / D);
      if (thisMin > 0) {
        thisMin = 0;
        thisScale = f(sumXL / sumL2);
      }
      let curError = 0;
      for (let i = 0; i < n; i++) {
        let diff = f(f(f(thisScale * Laux[i]) + thisMin) - x[xo + i]);
        diff = f(diff * diff);
        curError = f(curError + f(weights[i] * diff));
      }
      if (curError < bestError) {
        for (let i = 0; i < n; i++) L[lOff + i] = Laux[i];
        bestError = curError;
        scale = thisScale;
        min = thisMin;
      }
    }
  }
  theMin = -min;
  return scale;
}

/** Writes f16 bits `h` little-endian at `dst[p]`. */
function putF16(dst: Uint8Array, p: number, h: number): void {
  dst[p] = h & 0xff;
  dst[p + 1] = h >>> 8;
}

/**
 * `quantize_row_q4_K_ref`: per 32 weights a (scale, min) pair from
 * {@link makeQkx2Quants} (weights av_x + |x|, rmin −1, rdelta 0.1, 20 steps); the 8
 * scales and 8 mins quantized to 6 bits against their maxima; then every weight
 * re-quantized against the stored (f16 × 6-bit) scale and min.
 */
export function quantizeQ4K(src: Float32Array, s: number, n: number, dst: Uint8Array, p: number): void {
  for (let b = 0; b < n; b += 256, s += 256, p += 144) {
    let maxScale = 0;
    let maxMin = 0;
    for (let j = 0; j < 8; j++) {
      const xo = s + 32 * j;
      let sumX2 = 0;
      for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(src[xo + l] * src[xo + l]));
      const avX = f(Math.sqrt(f(sumX2 / 32)));
      for (let l = 0; l < 32; l++) weights[l] = f(avX + Math.abs(src[xo + l]));
      scales[j] = makeQkx2Quants(32, 15, src, xo, 32 * j, -1, TENTH, 20);
      mins[j] = theMin;
      if (scales[j] > maxScale) maxScale = scales[j];
      if (mins[j] > maxMin) maxMin = mins[j];
    }
    const invScale = maxScale > 0 ? f(63 / maxScale) : 0;
    const invMin = maxMin > 0 ? f(63 / maxMin) : 0;
    const sc = p + 4;
    for (let j = 0; j < 8; j++) {
      // C stores nearest_int(...) in a uint8_t (mod 256) before MIN(63, ·).
      const ls = Math.min(63, nearestInt(f(invScale * scales[j])) & 0xff);
      const lm = Math.min(63, nearestInt(f(invMin * mins[j])) & 0xff);
      if (j < 4) {
        dst[sc + j] = ls;
        dst[sc + j + 4] = lm;
      } else {
        dst[sc + j + 4] = (ls & 0xf) | ((lm & 0xf) << 4);
        dst[sc + j - 4] |= (ls >> 4) << 6;
        dst[sc + j] |= (lm >> 4) << 6;
      }
    }
    const dBits = f32ToF16(f(maxScale / 63));
    const mBits = f32ToF16(f(maxMin / 63));
    putF16(dst, p, dBits);
    putF16(dst, p + 2, mBits);
    const dv = f16ToF32(dBits);
    const mv = f16ToF32(mBits);
    for (let j = 0; j < 8; j++) {
      const d = f(dv * scaleMinK4(dst, sc, j, 0));
      if (d === 0) continue; // keeps the sub-block's L from makeQkx2Quants, as C's `if (!d) continue`
      const dm = f(mv * scaleMinK4(dst, sc, j, 1));
      for (let ii = 0; ii < 32; ii++) {
        const l = nearestInt(f(f(src[s + 32 * j + ii] + dm) / d));
        L[32 * j + ii] = Math.max(0, Math.min(15, l));
      }
    }
    let q = p + 16;
    for (let j = 0; j < 256; j += 64, q += 32) {
      for (let l = 0; l < 32; l++) dst[q + l] = L[j + l] | (L[j + l + 32] << 4);
    }
  }
}

/**
 * `make_qx_quants(n, nmax, x, L, rmse_type = 1, NULL)`: symmetric quants
 * L − nmax in [−nmax, nmax−1] with weights x², trying 18 perturbed inverse scales
 * around −nmax/max and keeping the best least-squares scale. Writes L[lOff…]
 * (as l + nmax) and returns the scale.
 */
function makeQxQuants(n: number, nmax: number, x: Float32Array, xo: number, lOff: number): number {
  let max = 0;
  let amax = 0;
  for (let i = 0; i < n; i++) {
    const ax = Math.abs(x[xo + i]);
    if (ax > amax) {
      amax = ax;
      max = x[xo + i];
    }
  }
  if (amax < GROUP_MAX_EPS) {
    for (let i = 0; i < n; i++) L[lOff + i] = 0;
    return 0;
  }
  let iscale = f(-nmax / max);
  let sumLX = 0;
  let sumL2 = 0;
  for (let i = 0; i < n; i++) {
    const xi = x[xo + i];
    const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * xi))));
    L[lOff + i] = l + nmax;
    const w = f(xi * xi);
    sumLX = f(sumLX + f(f(w * xi) * l));
    sumL2 = f(sumL2 + f(f(w * l) * l));
  }
  let scale = sumL2 !== 0 ? f(sumLX / sumL2) : 0;
  let best = f(scale * sumLX);
  for (let is = -9; is <= 9; is++) {
    if (is === 0) continue;
    iscale = f(-f(nmax + f(TENTH * is)) / max);
    sumLX = 0;
    sumL2 = 0;
    for (let i = 0; i < n; i++) {
      const xi = x[xo + i];
      const l = Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * xi))));
      const w = f(xi * xi);
      sumLX = f(sumLX + f(f(w * xi) * l));
      sumL2 = f(sumL2 + f(f(w * l) * l));
    }
    if (sumL2 > 0 && f(sumLX * sumLX) > f(best * sumL2)) {
      for (let i = 0; i < n; i++) L[lOff + i] = nmax + Math.max(-nmax, Math.min(nmax - 1, nearestInt(f(iscale * x[xo + i]))));
      scale = f(sumLX / sumL2);
      best = f(scale * sumLX);
    }
  }
  return scale;
}

/**
 * `quantize_row_q6_K_ref`: a scale per 16 weights from {@link makeQxQuants}
 * (nmax 32), quantized to int8 against the scale of largest magnitude (d = 1/(−128/max)
 * as f16), then every weight re-quantized to 6 bits against d·sc.
 */
export function quantizeQ6K(src: Float32Array, s: number, n: number, dst: Uint8Array, p: number): void {
  for (let b = 0; b < n; b += 256, s += 256, p += 210) {
    let maxScale = 0;
    let maxAbsScale = 0;
    for (let ib = 0; ib < 16; ib++) {
      const scale = makeQxQuants(16, 32, src, s + 16 * ib, 16 * ib);
      scales[ib] = scale;
      const abs = Math.abs(scales[ib]);
      if (abs > maxAbsScale) {
        maxAbsScale = abs;
        maxScale = scales[ib];
      }
    }
    if (maxAbsScale < GROUP_MAX_EPS) {
      dst.fill(0, p, p + 210); // memset + d = fp16(0) = 0
      continue;
    }
    const iscale = f(-128 / maxScale);
    const dBits = f32ToF16(f(1 / iscale));
    putF16(dst, p + 208, dBits);
    const sc = p + 192;
    for (let ib = 0; ib < 16; ib++) dst[sc + ib] = Math.min(127, nearestInt(f(iscale * scales[ib]))) & 0xff; // int → int8_t
    const dv = f16ToF32(dBits);
    for (let j = 0; j < 16; j++) {
      const d = f(dv * ((dst[sc + j] << 24) >> 24));
      if (d === 0) continue;
      for (let ii = 0; ii < 16; ii++) {
        const l = nearestInt(f(src[s + 16 * j + ii] / d));
        L[16 * j + ii] = Math.max(-32, Math.min(31, l)) + 32;
      }
    }
    let ql = p;
    let qh = p + 128;
    for (let j = 0; j < 256; j += 128, ql += 64, qh += 32) {
      for (let l = 0; l < 32; l++) {
        const L0 = L[j + l];
        const L1 = L[j + l + 32];
        const L2 = L[j + l + 64];
        const L3 = L[j + l + 96];
        dst[ql + l] = (L0 & 0xf) | ((L2 & 0xf) << 4);
        dst[ql + l + 32] = (L1 & 0xf) | ((L3 & 0xf) << 4);
        dst[qh + l] = (L0 >> 4) | ((L1 >> 4) << 2) | ((L2 >> 4) << 4) | ((L3 >> 4) << 6);
      }
    }
  }
}
