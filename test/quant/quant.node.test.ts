import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import {
  COMPUTE_TYPES,
  createActivationRows,
  dequantizeRow,
  f16ToF32,
  quantDot,
  quantMatMul,
  quantizeActivations,
  quantizeRow,
  quantizeRowInto,
  vecDotType,
  type ActivationRows,
  type GgmlTypeName,
} from '../../src/quant/index.js';
import { genBlocks, genFloats } from './gen.js';
import { dadd, dmul, dsub, dvalue, dyadic, misaligned, quantizeMatrix, sha256Hex, type Dyadic } from './helpers.js';

const QUANTIZABLE: GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];
const blockOf = (t: GgmlTypeName) => (t === 'Q4_K' || t === 'Q6_K' ? 256 : t === 'Q8_0' || t === 'Q4_0' ? 32 : 1);

/** Float32 arrays of `blocks` × 256 values with a random power-of-two magnitude. */
const rows = (blocks: number) =>
  fc
    .tuple(fc.array(fc.float({ min: -1, max: 1, noNaN: true }), { minLength: 256 * blocks, maxLength: 256 * blocks }), fc.integer({ min: -24, max: 12 }))
    .map(([v, e]) => Float32Array.from(v, (x) => x * 2 ** e));

function roundTrip(type: GgmlTypeName, x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  dequantizeRow(type, quantizeRow(type, x, 0, x.length), 0, x.length, y, 0);
  return y;
}

/** Largest |x| over x[from, to). */
function amax(x: Float32Array, from: number, to: number): number {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

describe('quantize → dequantize stays within each type’s error bound', () => {
  it('F32 exact, F16 / BF16 half an ulp', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        expect(roundTrip('F32', x)).to.deep.equal(x);
        const h = roundTrip('F16', x);
        const b = roundTrip('BF16', x);
        for (let i = 0; i < x.length; i++) {
          expect(Math.abs(h[i] - x[i])).to.be.at.most(Math.max(Math.abs(x[i]) * 2 ** -11, 2 ** -25));
          expect(Math.abs(b[i] - x[i])).to.be.at.most(Math.max(Math.abs(x[i]) * 2 ** -8, 2 ** -134)); // bf16 subnormal step 2^-133
        }
      }),
      { numRuns: 100 },
    );
  });

  it('Q8_0: ≤ d·(½ + 127·2^-10) + 127·2^-25 with d = amax/127 (the f16 scale’s rounding included)', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        const y = roundTrip('Q8_0', x);
        for (let b = 0; b < x.length; b += 32) {
          const d = amax(x, b, b + 32) / 127;
          for (let i = b; i < b + 32; i++) expect(Math.abs(y[i] - x[i])).to.be.at.most(d * (0.5 + 127 * 2 ** -10) + 127 * 2 ** -25);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('Q4_0: ≤ |d|·(1 + 8·2^-10) + 8·2^-25 with |d| = amax/8 (the clamp at 15 costs one step)', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        const y = roundTrip('Q4_0', x);
        for (let b = 0; b < x.length; b += 32) {
          const d = amax(x, b, b + 32) / 8;
          for (let i = b; i < b + 32; i++) expect(Math.abs(y[i] - x[i])).to.be.at.most(d * (1 + 8 * 2 ** -10) + 8 * 2 ** -25);
        }
      }),
      { numRuns: 200 },
    );
  });

  // The K-quants' bounds are empirical (about 2× the worst error seen on 400 mixed
  // inputs): a sub-block's own step plus the cost of 6/8-bit scales relative to the
  // super-block's largest, plus the absolute rounding of the f16 super-block scales
  // (≤ 2^-25 each once they underflow to f16 subnormals or zero, times the largest
  // multiplier: 15·63 + 63 for Q4_K, 128·32 for Q6_K) — tiny rows lose everything, in
  // llama.cpp as here.
  it('Q4_K: ≤ r_j/15 + R/32 (r_j: sub-block range incl. 0, R: largest r_j)', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        const y = roundTrip('Q4_K', x);
        const r: number[] = [];
        for (let j = 0; j < 256; j += 32) {
          let lo = 0;
          let hi = 0;
          for (let i = j; i < j + 32; i++) [lo, hi] = [Math.min(lo, x[i]), Math.max(hi, x[i])];
          r.push(hi - lo);
        }
        const R = Math.max(...r);
        for (let i = 0; i < 256; i++) expect(Math.abs(y[i] - x[i])).to.be.at.most(r[i >> 5] / 15 + R / 32 + (15 * 63 + 63) * 2 ** -25);
      }),
      { numRuns: 100 },
    );
  });

  it('Q6_K: ≤ a_j/32 + A/128 (a_j: sub-block amax, A: largest a_j)', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        const y = roundTrip('Q6_K', x);
        const a: number[] = [];
        for (let j = 0; j < 256; j += 16) a.push(amax(x, j, j + 16));
        const A = Math.max(...a);
        for (let i = 0; i < 256; i++) expect(Math.abs(y[i] - x[i])).to.be.at.most(a[i >> 4] / 32 + A / 128 + 128 * 32 * 2 ** -25);
      }),
      { numRuns: 100 },
    );
  });
});

describe('activation quantization error', () => {
  it('Q8_0 (x86): ≤ d·(½ + 2^-20) + 127·|d16 − d|; Q8_K: ≤ |d|·(½ + 2^-20)', () => {
    fc.assert(
      fc.property(rows(1), (x) => {
        const a = createActivationRows('Q8_0', 1, 256);
        const k = createActivationRows('Q8_K', 1, 256);
        quantizeActivations(a, x, 0, 1);
        quantizeActivations(k, x, 0, 1);
        for (let b = 0; b < 8; b++) {
          const d = Math.fround(amax(x, 32 * b, 32 * b + 32) / 127);
          for (let i = 32 * b; i < 32 * b + 32; i++) {
            expect(Math.abs(a.qs[i] * a.d[b] - x[i])).to.be.at.most(d * (0.5 + 2 ** -20) + 127 * Math.abs(a.d[b] - d));
          }
        }
        for (let i = 0; i < 256; i++) expect(Math.abs(k.qs[i] * k.d[0] - x[i])).to.be.at.most(Math.abs(k.d[0]) * (0.5 + 2 ** -20));
        for (let g = 0; g < 16; g++) expect(k.sums[g]).to.equal(k.qs.slice(16 * g, 16 * g + 16).reduce((s, v) => s + v, 0));
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * Weight `i` of a row as p − m for two doubles that are exact (m is 0 except for
 * Q4_K's min term), decoded independently of the kernels from the block layouts.
 */
function exactWeight(type: GgmlTypeName, b: Uint8Array, i: number): [p: number, m: number] {
  const h = (p: number) => f16ToF32(b[p] | (b[p + 1] << 8));
  const s8 = (v: number) => (v << 24) >> 24;
  switch (type) {
    case 'F32':
      return [new DataView(b.buffer, b.byteOffset).getFloat32(4 * i, true), 0];
    case 'F16':
      return [h(2 * i), 0];
    case 'BF16':
      return [new DataView(new Uint8Array([0, 0, b[2 * i], b[2 * i + 1]]).buffer).getFloat32(0, true), 0];
    case 'Q8_0': {
      const p = 34 * (i >> 5);
      return [h(p) * s8(b[p + 2 + (i & 31)]), 0];
    }
    case 'Q4_0': {
      const p = 18 * (i >> 5);
      const j = i & 31;
      const q = j < 16 ? b[p + 2 + j] & 15 : b[p + 2 + j - 16] >> 4;
      return [h(p) * (q - 8), 0];
    }
    case 'Q4_K': {
      const p = 144 * (i >> 8);
      const j = i & 255;
      const sub = j >> 5;
      const s = p + 4;
      const sc = sub < 4 ? b[s + sub] & 63 : (b[s + sub + 4] & 15) | ((b[s + sub - 4] >> 6) << 4);
      const m = sub < 4 ? b[s + sub + 4] & 63 : (b[s + sub + 4] >> 4) | ((b[s + sub] >> 6) << 4);
      const byte = b[p + 16 + 32 * (j >> 6) + (j & 31)];
      const q = (j & 32) === 0 ? byte & 15 : byte >> 4;
      return [h(p) * sc * q, h(p + 2) * m];
    }
    case 'Q6_K': {
      const p = 210 * (i >> 8);
      const j = i & 255;
      const half = j >> 7;
      const l = j & 31;
      const k = (j >> 5) & 3;
      const ql = b[p + 64 * half + l + (k & 1 ? 32 : 0)];
      const lo = k < 2 ? ql & 15 : ql >> 4;
      const hi = (b[p + 128 + 32 * half + l] >> (2 * k)) & 3;
      return [h(p + 208) * s8(b[p + 192 + (j >> 4)]) * ((lo | (hi << 4)) - 32), 0];
    }
    default:
      throw new Error(type);
  }
}

/** The exact value of activation `i` of row 0 (a product that is exact in doubles). */
function exactActivation(a: ActivationRows, i: number): number {
  if (a.type === 'Q8_0') return a.d[i >> 5] * a.qs[i];
  if (a.type === 'Q8_K') return a.d[i >> 8] * a.qs[i];
  return a.values[i];
}

describe('dot products equal the exact dot of the dequantized operands', () => {
  for (const type of QUANTIZABLE) {
    it(`${type} · ${vecDotType(type)}: |kpc − exact| ≤ (cols+2)·2^-52·Σ|terms|`, () => {
      fc.assert(
        fc.property(rows(2), rows(2), fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean(), (w, x, seed, raw) => {
          const cols = 512;
          // Quantized real values, or (for block types) random blocks: extreme scales and sub-scales.
          const bytes =
            raw && blockOf(type) > 1 ? genBlocks(type as 'Q8_0', seed, cols / blockOf(type)) : quantizeRow(type, w, 0, cols);
          const m = { type, rows: 1, cols, bytes };
          const a = createActivationRows(vecDotType(type), 1, cols);
          quantizeActivations(a, x, 0, 1);
          const got = quantDot(m, 0, a, 0);
          let exact: Dyadic = { m: 0n, e: 0 };
          let mag = 0;
          for (let i = 0; i < cols; i++) {
            const [p, q] = exactWeight(type, bytes, i);
            const x = exactActivation(a, i);
            exact = dadd(exact, dmul(dsub(dyadic(p), dyadic(q)), dyadic(x)));
            mag += (Math.abs(p) + Math.abs(q)) * Math.abs(x);
          }
          // One rounding per product and per addition at most, each ≤ 2^-53 of a partial sum ≤ mag.
          expect(Math.abs(got - dvalue(exact))).to.be.at.most((cols + 2) * 2 ** -52 * mag);
        }),
        { numRuns: 25 },
      );
    });
  }
});

describe('quantMatMul', () => {
  const GOLDEN: Record<string, string> = {};

  for (const type of QUANTIZABLE) {
    it(`${type}: every output equals quantDot, on aligned and unaligned weights, for n = 3`, () => {
      const R = 24;
      const C = 512;
      const bytes = quantizeMatrix(type, genFloats(11, R * C), R, C);
      const x = new Float64Array(genFloats(12, 3 * C));
      const out = new Float64Array(3 * R);
      quantMatMul({ type, rows: R, cols: C, bytes }, x, 3, out);
      const out2 = new Float64Array(3 * R);
      quantMatMul({ type, rows: R, cols: C, bytes: misaligned(bytes) }, x, 3, out2);
      expect(sha256Hex(out2)).to.equal(sha256Hex(out)); // word kernels ≡ byte kernels, bit for bit
      const a = createActivationRows(vecDotType(type), 3, C);
      quantizeActivations(a, x, 0, 3);
      for (let t = 0; t < 3; t++) for (let i = 0; i < R; i++) expect(out[t * R + i]).to.equal(quantDot({ type, rows: R, cols: C, bytes }, i, a, t));
      // …and n = 1 calls give the same bits as the batched call
      const one = new Float64Array(R);
      quantMatMul({ type, rows: R, cols: C, bytes }, x.subarray(C, 2 * C), 1, one);
      expect(Array.from(one)).to.deep.equal(Array.from(out.subarray(R, 2 * R)));
      GOLDEN[type] = sha256Hex(out);
    });
  }

  it('pins its output bits (SHA-256 of the float64 results): a changed bit anywhere fails', () => {
    expect(GOLDEN).to.deep.equal({
      F32: '42e8d457821ba6cb6938bdec44ea766fdaa7b10c21cc30a3202236047055d622',
      F16: 'ca82f9601c939396c7fbd4e551cea22784e5b9219e06878d3ff1ab3d60de0d31',
      BF16: 'aa2c66f5e7fc999a3ee2e90d4263bf7ee65af174649be813af623483d34005db',
      Q8_0: '548d38676404716dd58f67322051b1eb90150aa0d1ac806105feb2f9906a17d4',
      Q4_0: '0d47e08553b05671acfc5385aa8714ef1ffe10464c54e0a41ae48be5612f0b3e',
      Q4_K: 'd91af2ecb5079b077252fb4673770b417ebaf380e97bc2dc8b404d1092e55e29',
      Q6_K: '700eed638389ea9a16edb7909c993fd6531a18fb3228cb0f120ef54f2b0669ad',
    });
  });

  it('accepts the type by id and returns nothing for empty shapes', () => {
    const bytes = quantizeMatrix('Q8_0', genFloats(1, 64), 2, 32);
    const out = new Float64Array(2);
    quantMatMul({ type: 8, rows: 2, cols: 32, bytes }, genFloats(2, 32), 1, out);
    const out2 = new Float64Array(2);
    quantMatMul({ type: 'Q8_0', rows: 2, cols: 32, bytes }, genFloats(2, 32), 1, out2);
    expect(out).to.deep.equal(out2);
    quantMatMul({ type: 'Q8_0', rows: 0, cols: 32, bytes }, genFloats(2, 32), 1, new Float64Array(0));
    quantMatMul({ type: 'Q8_0', rows: 2, cols: 32, bytes }, genFloats(2, 32), 0, new Float64Array(0));
  });
});

describe('errors', () => {
  const code = (fn: () => unknown, c: 'QUANT_BAD_SHAPE' | 'QUANT_UNSUPPORTED_TYPE', text?: string) => {
    try {
      fn();
    } catch (e) {
      expect(isKpcError(e, c), String(e)).to.equal(true);
      if (text !== undefined) expect((e as Error).message).to.contain(text);
      return;
    }
    expect.fail('no error');
  };

  it('QUANT_UNSUPPORTED_TYPE names the type', () => {
    const out = new Float32Array(256);
    code(() => dequantizeRow('Q5_K', new Uint8Array(176), 0, 256, out), 'QUANT_UNSUPPORTED_TYPE', 'Q5_K');
    code(() => dequantizeRow(16, new Uint8Array(66), 0, 256, out), 'QUANT_UNSUPPORTED_TYPE', 'IQ2_XXS');
    code(() => dequantizeRow(99, new Uint8Array(66), 0, 256, out), 'QUANT_UNSUPPORTED_TYPE', '99');
    code(() => dequantizeRow('NOPE' as GgmlTypeName, new Uint8Array(66), 0, 256, out), 'QUANT_UNSUPPORTED_TYPE', 'NOPE');
    code(() => quantizeRow('Q4_1', new Float32Array(32), 0, 32), 'QUANT_UNSUPPORTED_TYPE', 'Q4_1');
    code(() => quantMatMul({ type: 'Q2_K', rows: 1, cols: 256, bytes: new Uint8Array(84) }, new Float64Array(256), 1, new Float64Array(1)), 'QUANT_UNSUPPORTED_TYPE', 'Q2_K');
    expect(COMPUTE_TYPES).to.deep.equal(QUANTIZABLE);
  });

  it('QUANT_BAD_SHAPE for partial blocks and ranges that do not fit', () => {
    const x = new Float32Array(512);
    code(() => dequantizeRow('Q4_K', new Uint8Array(144), 0, 255, x), 'QUANT_BAD_SHAPE');
    code(() => dequantizeRow('Q4_K', new Uint8Array(143), 0, 256, x), 'QUANT_BAD_SHAPE');
    code(() => dequantizeRow('Q8_0', new Uint8Array(68), 35, 32, x), 'QUANT_BAD_SHAPE');
    code(() => dequantizeRow('Q8_0', new Uint8Array(34), -1, 32, x), 'QUANT_BAD_SHAPE');
    code(() => dequantizeRow('Q8_0', new Uint8Array(34), 0, 32, x, 481), 'QUANT_BAD_SHAPE');
    code(() => quantizeRow('Q4_0', x, 0, 48), 'QUANT_BAD_SHAPE');
    code(() => quantizeRow('Q4_0', x, 500, 32), 'QUANT_BAD_SHAPE');
    code(() => quantizeRowInto('Q4_0', x, 0, 32, new Uint8Array(17), 0), 'QUANT_BAD_SHAPE');
    code(() => createActivationRows('Q8_K', 1, 128), 'QUANT_BAD_SHAPE');
    const bytes = quantizeMatrix('Q4_K', genFloats(3, 512), 2, 256);
    const mm = (cols: number, b: Uint8Array, xs: number, outs: number) => () =>
      quantMatMul({ type: 'Q4_K', rows: 2, cols, bytes: b }, new Float64Array(xs), 1, new Float64Array(outs));
    code(mm(128, bytes, 256, 2), 'QUANT_BAD_SHAPE'); // cols not a whole number of 256-blocks
    code(mm(256, bytes.subarray(1), 256, 2), 'QUANT_BAD_SHAPE'); // weights too short
    code(mm(256, bytes, 255, 2), 'QUANT_BAD_SHAPE'); // input too short
    code(mm(256, bytes, 256, 1), 'QUANT_BAD_SHAPE'); // output too short
    const a = createActivationRows('Q8_0', 1, 256);
    code(() => quantDot({ type: 'Q4_K', rows: 2, cols: 256, bytes }, 0, a, 0), 'QUANT_BAD_SHAPE'); // wrong activation format
    code(() => quantDot({ type: 'Q4_K', rows: 2, cols: 256, bytes }, 2, createActivationRows('Q8_K', 1, 256), 0), 'QUANT_BAD_SHAPE');
  });
});
