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
function f16Exact(h: u32): f64 {
  const sign: f64 = (h & 0x8000) != 0 ? -1.0 : 1.0;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp == 0) return sign * <f64>mant * 5.960464477539063e-8; // 2^-24: subnormals (and ±0)
  if (exp == 31) return mant == 0 ? sign * Infinity : NaN;
  // (1024 + mant) · 2^(exp − 25): both factors exact, the product exact.
  return sign * <f64>(1024 + mant) * reinterpret<f64>(<u64>(exp - 25 + 1023) << 52);
}

/** Where {@link initF16Table} put the 65 536 exact f16 values (f64 each, 512 KiB). */
let f16Table: usize = 0;

/**
 * Fills the f16 value table at `at` (512 KiB, 8-aligned): a weight block's scale is then
 * one load instead of a conversion with branches, the same exact values.
 */
export function initF16Table(at: usize): void {
  for (let h: u32 = 0; h < 65536; h++) store<f64>(at + (<usize>h << 3), f16Exact(h));
  f16Table = at;
}

/** The exact value of the f16 with bits `h`, from the table. */
@inline
function f16ToF64(h: u32): f64 {
  return load<f64>(f16Table + (<usize>h << 3));
}

/**
 * Σ of 32 products of int8 lanes `v0`,`v1` and 32 activation quants at `aq`, which the
 * caller stored widened to int16 (64 bytes): each activation row is reused by every
 * weight row, so it is widened once per product instead of once per block.
 */
@inline
function dot32(v0: v128, v1: v128, aq: usize): i32 {
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v0), v128.load(aq));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v0), v128.load(aq, 16)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v1), v128.load(aq, 32)));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v1), v128.load(aq, 48)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/** Σ of the 32 products of one Q8_0 weight block's quants and one activation block's. */
@inline
function blockSum32(wq: usize, aq: usize): i32 {
  return dot32(v128.load(wq), v128.load(wq, 16), aq);
}

/** Σ of one Q4_0 block's 32 nibbles (low nibbles: values 0–15, high: 16–31) times the activation quants. */
@inline
function nibbleSum32(wq: usize, aq: usize): i32 {
  const v = v128.load(wq);
  // Nibbles are 0–15: as signed bytes they are the same numbers.
  return dot32(v128.and(v, i8x16.splat(0x0f)), i8x16.shr_u(v, 4), aq);
}

/** Σ of 16 products of int8 lanes `v` and 16 int16 activation quants at `aq`. */
@inline
function dot16(v: v128, aq: usize): i32 {
  let s = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(v), v128.load(aq));
  s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(v), v128.load(aq, 16)));
  return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
}

/** Weight formats, as `matmul`'s `kind`: their block bytes, quants per block and activation sums per block. */
const Q8_0: i32 = 0;
const Q4_0: i32 = 1;
const Q4_K: i32 = 2;
const Q6_K: i32 = 3;

@inline
function blockBytes(kind: i32): usize {
  return kind == Q8_0 ? 34 : kind == Q4_0 ? 18 : kind == Q4_K ? 144 : 210;
}

/**
 * Adds one weight block's contribution to `acc` exactly as the TypeScript kernel of its
 * type does (src/quant/dot.ts), returning the new `acc`:
 * - Q8_0 (34 bytes: f16 scale, 32 int8): acc + (dw·dx)·Σ w·q;
 * - Q4_0 (18 bytes: f16 scale, 32 nibbles): acc + (dw·dx)·(Σ nibble·q − 8·Σ q);
 * - Q4_K (144 bytes: f16 d and dmin, 12 bytes of 6-bit scales and mins, 256 nibbles):
 *   (acc + (d·da)·Σ_j sc_j·(nibbles·q)_j) − (dmin·da)·Σ_j m_j·(bsum pair j);
 * - Q6_K (210 bytes: 256 values of 4 + 2 bits, 16 int8 scales, f16 d):
 *   acc + (d·da)·Σ_j sc_j·(Σ q6·q − 32·bsum_j).
 * Integer sums are exact; the float steps are the TypeScript kernel's, in its order.
 */
@inline
function accumulate(kind: i32, acc: f64, p: usize, qp: usize, dp: usize, sp: usize): f64 {
  if (kind == Q8_0) return acc + f16ToF64(<u32>load<u16>(p)) * load<f64>(dp) * <f64>blockSum32(p + 2, qp);
  if (kind == Q4_0) return acc + f16ToF64(<u32>load<u16>(p)) * load<f64>(dp) * <f64>(nibbleSum32(p + 2, qp) - 8 * load<i32>(sp));
  if (kind == Q4_K) return accumulateQ4K(acc, p, qp, dp, sp);
  return acc + f16ToF64(<u32>load<u16>(p + 208)) * load<f64>(dp) * <f64>sumQ6K(p, qp, sp);
}

@inline
function accumulateQ4K(acc: f64, p: usize, qp: usize, dp: usize, sp: usize): f64 {
  const mask = i8x16.splat(0x0f);
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
    const lo = dot32(v128.and(v0, mask), v128.and(v1, mask), qp + <usize>c * 128);
    const hi = dot32(i8x16.shr_u(v0, 4), i8x16.shr_u(v1, 4), qp + <usize>c * 128 + 64);
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
  return acc + dd * da * <f64>isum - dmin * da * <f64>msum;
}

/** Q6_K's integer block sum: Σ over sub-blocks of 16 of sc·(Σ q6·q − 32·bsum). */
@inline
function sumQ6K(p: usize, qp: usize, sp: usize): i32 {
  const m4 = i8x16.splat(0x0f);
  const m3 = i8x16.splat(0x03);
  const m12 = i8x16.splat(0x0c);
  const m48 = i8x16.splat(0x30);
  let isum = 0;
  for (let h = 0; h < 2; h++) {
    const ql = p + <usize>h * 64;
    const qh = p + 128 + <usize>h * 32;
    const sc = p + 192 + <usize>h * 8;
    const base = qp + <usize>h * 256; // activations: 2 bytes a value
    for (let part = 0; part < 2; part++) {
      const off = <usize>part * 16;
      const lo = v128.load(ql + off);
      const hi = v128.load(ql + off + 32);
      const hb = v128.load(qh + off);
      const q0 = v128.or(v128.and(lo, m4), i8x16.shl(v128.and(hb, m3), 4));
      const q1 = v128.or(v128.and(hi, m4), i8x16.shl(v128.and(hb, m12), 2));
      const q2 = v128.or(i8x16.shr_u(lo, 4), v128.and(hb, m48));
      const q3 = v128.or(i8x16.shr_u(hi, 4), v128.and(i8x16.shr_u(hb, 2), m48));
      const g = sp + (<usize>(8 * h + part)) * 4;
      isum +=
        <i32>load<i8>(sc + <usize>part) * (dot16(q0, base + 2 * off) - 32 * load<i32>(g)) +
        <i32>load<i8>(sc + 2 + <usize>part) * (dot16(q1, base + 2 * (32 + off)) - 32 * load<i32>(g, 8)) +
        <i32>load<i8>(sc + 4 + <usize>part) * (dot16(q2, base + 2 * (64 + off)) - 32 * load<i32>(g, 16)) +
        <i32>load<i8>(sc + 6 + <usize>part) * (dot16(q3, base + 2 * (96 + off)) - 32 * load<i32>(g, 24));
    }
  }
  return isum;
}

/**
 * out[t·rows + i] = W_i · x_t for weights of format `kind` (`rows` rows of `nb` blocks at
 * `w`) and `n` activation rows in its dot format — Q8_0 for Q8_0/Q4_0, Q8_K for
 * Q4_K/Q6_K: quants widened to int16 at `qs` (32 or 256 per block), one f64 scale per block at `d`,
 * i32 quant sums at `sums` (1 or 16 per block) — float64 outputs at `out`. Blocks are
 * added in index order, as the TypeScript kernels do.
 */
export function matmul(kind: i32, w: usize, rows: i32, nb: i32, qs: usize, d: usize, sums: usize, n: i32, out: usize): void {
  const bb = blockBytes(kind);
  const perBlock: usize = kind <= Q4_0 ? 32 : 256;
  const sumsPerBlock: usize = kind <= Q4_0 ? 1 : 16;
  const rowBytes = <usize>nb * bb;
  for (let i = 0; i < rows; i++) {
    const wr = w + <usize>i * rowBytes;
    for (let t = 0; t < n; t++) {
      let qp = qs + <usize>t * <usize>nb * perBlock * 2;
      let dp = d + <usize>t * <usize>nb * 8;
      let sp = sums + <usize>t * <usize>nb * sumsPerBlock * 4;
      let p = wr;
      let acc: f64 = 0;
      for (let b = 0; b < nb; b++) {
        acc = accumulate(kind, acc, p, qp, dp, sp);
        p += bb;
        qp += perBlock * 2;
        dp += 8;
        sp += sumsPerBlock * 4;
      }
      store<f64>(out + (<usize>t * <usize>rows + <usize>i) * 8, acc);
    }
  }
}
