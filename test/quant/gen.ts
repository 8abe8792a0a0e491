/**
 * Deterministic test inputs shared by the quant tests and by the throwaway C harness
 * that produced test/quant/fixtures/llama-ref.json (see docs/quantization.md). Only
 * integer operations and exact power-of-two scalings, so every value is an exact
 * float32 and the same on every engine.
 */

/** mulberry32: a tiny 32-bit PRNG; returns a generator of uint32 values. */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return (z ^ (z >>> 14)) >>> 0;
  };
}

/** 2^e exactly. */
function pow2(e: number): number {
  return 2 ** e;
}

/**
 * `n` float32 values in groups of 16, each group in one of several regimes that stress
 * the quantizers: zeros, constants, exact rounding ties, f16-subnormal and large
 * scales, outliers, one-signed groups, ± equal maxima, and bell-shaped noise.
 */
export function genFloats(seed: number, n: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  const bell = () => (r() >>> 10) + (r() >>> 10) + (r() >>> 10) + (r() >>> 10) - 8388608; // exact |·| < 2^23
  for (let g = 0; g < n; g += 16) {
    const mode = r() % 16;
    const e = (r() % 11) - 8; // scale 2^-8 … 2^2
    for (let j = 0; j < 16 && g + j < n; j++) {
      let v: number;
      switch (mode) {
        case 0:
          v = 0;
          break;
        case 1:
          v = j === 0 ? bell() * pow2(e - 23) : out[g];
          break;
        case 2: // ties: with amax = 127·2^e every other value lands on k + 0.5 after scaling
          v = j === 0 ? 127 * pow2(e) : ((r() % 253) - 126 + 0.5) * pow2(e);
          break;
        case 3:
          v = bell() * pow2(-20 - (r() % 8) - 23); // tiny: f16 scales go subnormal or to zero
          break;
        case 4:
          v = bell() * pow2(10 + (r() % 5) - 23);
          break;
        case 5:
          v = bell() * pow2(e - 23) * (j === 7 ? 64 : 1);
          break;
        case 6:
          v = Math.abs(bell()) * pow2(e - 23) + pow2(e - 2);
          break;
        case 7:
          v = -Math.abs(bell()) * pow2(e - 23) - pow2(e - 3);
          break;
        case 8:
          v = j === 3 ? pow2(e) : j === 11 ? -pow2(e) : bell() * pow2(e - 25);
          break;
        default:
          v = bell() * pow2(e - 23);
      }
      out[g + j] = v;
    }
  }
  return out;
}

/** An f16 bit pattern that is finite (subnormals, zeros and both signs included). */
function finiteF16(r: () => number): number {
  const x = r();
  const exp = x % 31; // 0..30: never Inf/NaN
  return ((x >>> 16) & 0x8000) | (exp << 10) | ((x >>> 5) & 0x3ff);
}

/** Bytes per block and the offsets of the f16 fields of each block type. */
const F16_FIELDS: Record<string, readonly [number, readonly number[]]> = {
  Q8_0: [34, [0]],
  Q4_0: [18, [0]],
  Q4_K: [144, [0, 2]],
  Q6_K: [210, [208]],
};

/**
 * `nblocks` random blocks of a quantized type, with finite f16 scale fields (NaN
 * scales would only test NaN payload propagation, which is not pinned).
 */
export function genBlocks(type: 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K', seed: number, nblocks: number): Uint8Array {
  const [size, fields] = F16_FIELDS[type];
  const r = mulberry32(seed);
  const out = new Uint8Array(size * nblocks);
  for (let i = 0; i < out.length; i++) out[i] = r() & 0xff;
  for (let b = 0; b < nblocks; b++) {
    for (const f of fields) {
      const h = finiteF16(r);
      out[b * size + f] = h & 0xff;
      out[b * size + f + 1] = h >>> 8;
    }
  }
  return out;
}

/** `n` random 32-bit patterns (NaNs, infinities, subnormals included) as bytes. */
export function genWords(seed: number, n: number): Uint8Array {
  const r = mulberry32(seed);
  const u = new Uint32Array(n);
  for (let i = 0; i < n; i++) u[i] = r();
  return new Uint8Array(u.buffer);
}

/**
 * The float32 bit patterns on which f32→f16 rounding can go wrong: every combination
 * of sign, exponent and top 10 mantissa bits with the 13 dropped bits at 0, 1, just
 * under half, half, just over half and all ones. 2^19 × 6 patterns.
 */
export function f16RoundingProbe(): Uint32Array {
  const lows = [0, 1, 0xfff, 0x1000, 0x1001, 0x1fff];
  const out = new Uint32Array((1 << 19) * lows.length);
  let k = 0;
  for (let hi = 0; hi < 1 << 19; hi++) for (const lo of lows) out[k++] = ((hi << 13) | lo) >>> 0;
  return out;
}

/** Like {@link f16RoundingProbe} for bf16: every top half with the low 16 bits at 6 critical values. */
export function bf16RoundingProbe(): Uint32Array {
  const lows = [0, 1, 0x7fff, 0x8000, 0x8001, 0xffff];
  const out = new Uint32Array((1 << 16) * lows.length);
  let k = 0;
  for (let hi = 0; hi < 1 << 16; hi++) for (const lo of lows) out[k++] = ((hi << 16) | lo) >>> 0;
  return out;
}
