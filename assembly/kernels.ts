// kpc's WebAssembly kernels, compiled by AssemblyScript (npm run build:wasm).
//
// Each kernel computes exactly the bits of its TypeScript twin in src/quant/dot.ts:
// integer block sums (i8×i8 → i32, exact whatever the lane order) with SIMD128, then
// the per-block scaling and the sum over blocks in float64, in the same order as the
// TypeScript loop. IEEE float64 +, × are the same operations on every engine, so
// JavaScript and WebAssembly agree bit for bit (docs/quantization.md).
//
// Memory is laid out by the caller (src/quant/wasm.ts); pointers are byte offsets.

/** The exact value of an IEEE half-precision number (every f16 is a double). */
@inline
function f16ToF64(h: u32): f64 {
  const sign: f64 = (h & 0x8000) != 0 ? -1.0 : 1.0;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) return sign * <f64>mant * 5.960464477539063e-8; // 2^-24: subnormals (and ±0)
  if (exp == 31) return mant == 0 ? sign * Infinity : NaN;
  // (1024 + mant) · 2^(exp − 25): both factors exact, the product exact.
  return sign * <f64>(1024 + mant) * reinterpret<f64>(<u64>(exp - 25 + 1023) << 52);
}

/** Σ of the 32 products of one Q8_0 weight block's quants and one activation block's. */
@inline
function blockSum32(wq: usize, aq: usize): i32 {
  const w0 = v128.load(wq);
  const w1 = v128.load(wq, 16);
  const a0 = v128.load(aq);
  const a1 = v128.load(aq, 16);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w0), i16x8.extend_low_i8x16_s(a0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w0), i16x8.extend_high_i8x16_s(a0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(w1), i16x8.extend_low_i8x16_s(a1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(w1), i16x8.extend_high_i8x16_s(a1)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/**
 * out[t·rows + i] = W_i · x_t for Q8_0 weights (`rows` rows of `nb` 34-byte blocks at
 * `w`) and `n` Q8_0 activation rows (quants at `qs`, `nb`·32 per row; scales at `d`,
 * f64, `nb` per row), float64 outputs at `out`. Per output: acc += (dw · dx) · Σ, block
 * by block, as dotQ8_0 in src/quant/dot.ts.
 */
export function matmulQ8_0(w: usize, rows: i32, nb: i32, qs: usize, d: usize, n: i32, out: usize): void {
  const rowBytes = <usize>nb * 34;
  for (let i = 0; i < rows; i++) {
    const wr = w + <usize>i * rowBytes;
    for (let t = 0; t < n; t++) {
      let qp = qs + <usize>t * <usize>nb * 32;
      let dp = d + <usize>t * <usize>nb * 8;
      let p = wr;
      let acc: f64 = 0;
      for (let b = 0; b < nb; b++) {
        const dw = f16ToF64(<u32>load<u16>(p));
        const s = blockSum32(p + 2, qp);
        acc += dw * load<f64>(dp) * <f64>s;
        p += 34;
        qp += 32;
        dp += 8;
      }
      store<f64>(out + (<usize>t * <usize>rows + <usize>i) * 8, acc);
    }
  }
}

/** Σ of one Q4_0 block's 32 nibbles (low nibbles: values 0–15, high: 16–31) times the activation quants. */
@inline
function nibbleSum32(wq: usize, aq: usize): i32 {
  const v = v128.load(wq);
  const lo = v128.and(v, i8x16.splat(0x0f));
  const hi = i8x16.shr_u(v, 4);
  const a0 = v128.load(aq);
  const a1 = v128.load(aq, 16);
  // Nibbles are 0–15: as signed bytes they are the same numbers.
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(lo), i16x8.extend_low_i8x16_s(a0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(lo), i16x8.extend_high_i8x16_s(a0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(hi), i16x8.extend_low_i8x16_s(a1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(hi), i16x8.extend_high_i8x16_s(a1)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/**
 * As {@link matmulQ8_0} for Q4_0 weights (18-byte blocks: f16 scale, 16 bytes of
 * nibbles) and Q8_0 activations with their per-block quant sums at `sums` (i32, `nb` per
 * row): acc += (dw · dx) · (Σ nibble·q − 8·Σ q), as dotQ4_0.
 */
export function matmulQ4_0(w: usize, rows: i32, nb: i32, qs: usize, d: usize, sums: usize, n: i32, out: usize): void {
  const rowBytes = <usize>nb * 18;
  for (let i = 0; i < rows; i++) {
    const wr = w + <usize>i * rowBytes;
    for (let t = 0; t < n; t++) {
      let qp = qs + <usize>t * <usize>nb * 32;
      let dp = d + <usize>t * <usize>nb * 8;
      let sp = sums + <usize>t * <usize>nb * 4;
      let p = wr;
      let acc: f64 = 0;
      for (let b = 0; b < nb; b++) {
        const dw = f16ToF64(<u32>load<u16>(p));
        const s = nibbleSum32(p + 2, qp) - 8 * load<i32>(sp);
        acc += dw * load<f64>(dp) * <f64>s;
        p += 18;
        qp += 32;
        dp += 8;
        sp += 4;
      }
      store<f64>(out + (<usize>t * <usize>rows + <usize>i) * 8, acc);
    }
  }
}
