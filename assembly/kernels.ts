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

/** Σ of 32 products of int8 lanes `v0`,`v1` (values 0–63 here) and 32 activation quants at `aq`. */
@inline
function dot32(v0: v128, v1: v128, aq: usize): i32 {
  const a0 = v128.load(aq);
  const a1 = v128.load(aq, 16);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), i16x8.extend_low_i8x16_s(a0));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), i16x8.extend_high_i8x16_s(a0)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), i16x8.extend_low_i8x16_s(a1)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), i16x8.extend_high_i8x16_s(a1)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/** Σ of 16 products of int8 lanes `v` and 16 activation quants at `aq`. */
@inline
function dot16(v: v128, aq: usize): i32 {
  const a = v128.load(aq);
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), i16x8.extend_low_i8x16_s(a));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), i16x8.extend_high_i8x16_s(a)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/**
 * Q4_K weights (144-byte blocks of 256: f16 d, f16 dmin, 12 bytes of 6-bit scales and
 * mins, 128 bytes of nibbles) × Q8_K activations (quants at `qs`, 256 per block; f64
 * scales at `d`, one per block; i32 sums of 16 at `sums`, 16 per block), as dotQ4K:
 * isum = Σ_j sc_j·(nibbles · q over sub-block j of 32), msum = Σ_j m_j·(bsum pair j);
 * acc += (d·da)·isum, then acc −= (dmin·da)·msum.
 */
export function matmulQ4_K(w: usize, rows: i32, nb: i32, qs: usize, d: usize, sums: usize, n: i32, out: usize): void {
  const rowBytes = <usize>nb * 144;
  const mask = i8x16.splat(0x0f);
  for (let i = 0; i < rows; i++) {
    const wr = w + <usize>i * rowBytes;
    for (let t = 0; t < n; t++) {
      let qp = qs + <usize>t * <usize>nb * 256;
      let dp = d + <usize>t * <usize>nb * 8;
      let sp = sums + <usize>t * <usize>nb * 64;
      let p = wr;
      let acc: f64 = 0;
      for (let b = 0; b < nb; b++) {
        const dd = f16ToF64(<u32>load<u16>(p));
        const dmin = f16ToF64(<u32>load<u16>(p + 2));
        const s = p + 4;
        const b0 = <i32>load<u8>(s), b1 = <i32>load<u8>(s + 1), b2 = <i32>load<u8>(s + 2), b3 = <i32>load<u8>(s + 3);
        const b4 = <i32>load<u8>(s + 4), b5 = <i32>load<u8>(s + 5), b6 = <i32>load<u8>(s + 6), b7 = <i32>load<u8>(s + 7);
        const b8 = <i32>load<u8>(s + 8), b9 = <i32>load<u8>(s + 9), b10 = <i32>load<u8>(s + 10), b11 = <i32>load<u8>(s + 11);
        const r = p + 16;
        let isum = 0;
        for (let c = 0; c < 4; c++) {
          const v0 = v128.load(r + <usize>c * 32);
          const v1 = v128.load(r + <usize>c * 32, 16);
          const lo = dot32(v128.and(v0, mask), v128.and(v1, mask), qp + <usize>c * 64);
          const hi = dot32(i8x16.shr_u(v0, 4), i8x16.shr_u(v1, 4), qp + <usize>c * 64 + 32);
          // get_scale_min_k4: sub-blocks 2c (low nibbles) and 2c + 1 (high).
          const scLo = c == 0 ? b0 & 63 : c == 1 ? b2 & 63 : c == 2 ? (b8 & 15) | ((b0 >> 6) << 4) : (b10 & 15) | ((b2 >> 6) << 4);
          const scHi = c == 0 ? b1 & 63 : c == 1 ? b3 & 63 : c == 2 ? (b9 & 15) | ((b1 >> 6) << 4) : (b11 & 15) | ((b3 >> 6) << 4);
          isum += scLo * lo + scHi * hi;
        }
        const msum =
          (b4 & 63) * (load<i32>(sp) + load<i32>(sp, 4)) +
          (b5 & 63) * (load<i32>(sp, 8) + load<i32>(sp, 12)) +
          (b6 & 63) * (load<i32>(sp, 16) + load<i32>(sp, 20)) +
          (b7 & 63) * (load<i32>(sp, 24) + load<i32>(sp, 28)) +
          ((b8 >> 4) | ((b4 >> 6) << 4)) * (load<i32>(sp, 32) + load<i32>(sp, 36)) +
          ((b9 >> 4) | ((b5 >> 6) << 4)) * (load<i32>(sp, 40) + load<i32>(sp, 44)) +
          ((b10 >> 4) | ((b6 >> 6) << 4)) * (load<i32>(sp, 48) + load<i32>(sp, 52)) +
          ((b11 >> 4) | ((b7 >> 6) << 4)) * (load<i32>(sp, 56) + load<i32>(sp, 60));
        const da = load<f64>(dp);
        acc += dd * da * <f64>isum;
        acc -= dmin * da * <f64>msum;
        p += 144;
        qp += 256;
        dp += 8;
        sp += 64;
      }
      store<f64>(out + (<usize>t * <usize>rows + <usize>i) * 8, acc);
    }
  }
}

/**
 * Q6_K weights (210-byte blocks of 256: 128 bytes of low 4 bits, 64 of high 2 bits, 16
 * int8 scales, f16 d) × Q8_K activations, as dotQ6K: per sub-block of 16,
 * sc·(Σ q6·q − 32·bsum); acc += (d·da)·isum.
 */
export function matmulQ6_K(w: usize, rows: i32, nb: i32, qs: usize, d: usize, sums: usize, n: i32, out: usize): void {
  const rowBytes = <usize>nb * 210;
  const m4 = i8x16.splat(0x0f);
  const m3 = i8x16.splat(0x03);
  const m12 = i8x16.splat(0x0c);
  const m48 = i8x16.splat(0x30);
  for (let i = 0; i < rows; i++) {
    const wr = w + <usize>i * rowBytes;
    for (let t = 0; t < n; t++) {
      let qp = qs + <usize>t * <usize>nb * 256;
      let dp = d + <usize>t * <usize>nb * 8;
      let sp = sums + <usize>t * <usize>nb * 64;
      let p = wr;
      let acc: f64 = 0;
      for (let b = 0; b < nb; b++) {
        const dd = f16ToF64(<u32>load<u16>(p + 208));
        let isum = 0;
        for (let h = 0; h < 2; h++) {
          const ql = p + <usize>h * 64;
          const qh = p + 128 + <usize>h * 32;
          const sc = p + 192 + <usize>h * 8;
          const base = qp + <usize>h * 128;
          for (let part = 0; part < 2; part++) {
            const off = <usize>part * 16;
            const lo = v128.load(ql + off);
            const hi = v128.load(ql + off + 32);
            const hb = v128.load(qh + off);
            const q0 = v128.or(v128.and(lo, m4), i8x16.shl(v128.and(hb, m3), 4));
            const q1 = v128.or(v128.and(hi, m4), i8x16.shl(v128.and(hb, m12), 2));
            const q2 = v128.or(i8x16.shr_u(lo, 4), v128.and(hb, m48));
            const q3 = v128.or(i8x16.shr_u(hi, 4), v128.and(i8x16.shr_u(hb, 2), m48));
            const s0 = dot16(q0, base + off);
            const s1 = dot16(q1, base + 32 + off);
            const s2 = dot16(q2, base + 64 + off);
            const s3 = dot16(q3, base + 96 + off);
            const g = sp + (<usize>(8 * h + part)) * 4;
            isum +=
              <i32>load<i8>(sc + <usize>part) * (s0 - 32 * load<i32>(g)) +
              <i32>load<i8>(sc + 2 + <usize>part) * (s1 - 32 * load<i32>(g, 8)) +
              <i32>load<i8>(sc + 4 + <usize>part) * (s2 - 32 * load<i32>(g, 16)) +
              <i32>load<i8>(sc + 6 + <usize>part) * (s3 - 32 * load<i32>(g, 24));
          }
        }
        acc += dd * load<f64>(dp) * <f64>isum;
        p += 210;
        qp += 256;
        dp += 8;
        sp += 64;
      }
      store<f64>(out + (<usize>t * <usize>rows + <usize>i) * 8, acc);
    }
  }
}
