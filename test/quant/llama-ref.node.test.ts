/**
 * Bit-exactness against llama.cpp: kpc's kernels on the deterministic inputs of gen.ts
 * must reproduce the SHA-256 of what llama.cpp's own C code produced for the same
 * inputs (fixtures/llama-ref.json; how it was made: docs/quantization.md).
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import {
  createActivationRows,
  dequantizeRow,
  f32ToF16,
  quantMatMul,
  quantizeActivations,
  quantizeRow,
  type ActivationRows,
  type GgmlTypeName,
} from '../../src/quant/index.js';
import { genBlocks, genFloats, genWords } from './gen.js';
import { REF, bytesOf, quantizeMatrix, sha256Hex, type RefCase } from './helpers.js';

const byOp = (op: RefCase['op']) => REF.cases.filter((c) => c.op === op);

/** Activation rows in ggml's block_q8_0 / block_q8_K byte layout. */
function packActivations(a: ActivationRows, n: number): Uint8Array {
  if (a.type === 'Q8_0') {
    const out = new Uint8Array((n / 32) * 34);
    for (let b = 0; b < n / 32; b++) {
      const h = f32ToF16(a.d[b]);
      out[b * 34] = h & 0xff;
      out[b * 34 + 1] = h >>> 8;
      for (let j = 0; j < 32; j++) out[b * 34 + 2 + j] = a.qs[b * 32 + j] & 0xff;
    }
    return out;
  }
  const out = new Uint8Array((n / 256) * 292);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < n / 256; b++) {
    dv.setFloat32(b * 292, a.d[b], true);
    for (let j = 0; j < 256; j++) out[b * 292 + 4 + j] = a.qs[b * 256 + j] & 0xff;
    for (let g = 0; g < 16; g++) dv.setInt16(b * 292 + 260 + 2 * g, a.sums[b * 16 + g], true);
  }
  return out;
}

describe('bit-exact with llama.cpp: dequantize_row_*', () => {
  for (const c of [...byOp('dequant'), ...byOp('dequant-all16'), ...byOp('dequant-words')]) {
    it(`${c.type} (${c.name})`, () => {
      let bytes: Uint8Array;
      let n: number;
      if (c.op === 'dequant') {
        const t = c.type as 'Q8_0' | 'Q4_0' | 'Q4_K' | 'Q6_K';
        bytes = genBlocks(t, c.seed!, c.blocks!);
        n = c.blocks! * (t.endsWith('K') ? 256 : 32);
      } else if (c.op === 'dequant-all16') {
        n = 65536;
        bytes = bytesOf(Uint16Array.from({ length: n }, (_, i) => i));
      } else {
        n = c.n!;
        bytes = genWords(c.seed!, n);
      }
      const out = new Float32Array(n);
      dequantizeRow(c.type as GgmlTypeName, bytes, 0, n, out, 0);
      expect(out.byteLength).to.equal(c.bytes);
      expect(sha256Hex(out)).to.equal(c.sha256);
    });
  }
});

describe('bit-exact with llama.cpp: reference quantizers (what llama-quantize writes)', () => {
  for (const c of byOp('quantize')) {
    it(`${c.type} (${c.name}, ${c.n} values)`, () => {
      const q = quantizeRow(c.type as GgmlTypeName, genFloats(c.seed!, c.n!), 0, c.n!);
      expect(q.length).to.equal(c.bytes);
      expect(sha256Hex(q)).to.equal(c.sha256);
    });
  }
});

describe('bit-exact with llama.cpp: activation quantization of the x86 CPU backend', () => {
  it('Q8_0 equals the AVX2 quantize_row_q8_0 (127/amax, round half to even)', () => {
    const c = REF.cases.find((k) => k.name === 'act-q8_0-x86')!;
    const a = createActivationRows('Q8_0', 1, c.n!);
    quantizeActivations(a, genFloats(c.seed!, c.n!), 0, 1);
    expect(sha256Hex(packActivations(a, c.n!))).to.equal(c.sha256);
  });

  it('…which differs from the portable quantize_row_q8_0_ref (= kpc quantizeRow Q8_0) on the same input', () => {
    const ref = REF.cases.find((k) => k.name === 'act-q8_0-ref')!;
    const x = genFloats(ref.seed!, ref.n!);
    expect(sha256Hex(quantizeRow('Q8_0', x, 0, ref.n!))).to.equal(ref.sha256);
    const a = createActivationRows('Q8_0', 1, ref.n!);
    quantizeActivations(a, x, 0, 1);
    expect(sha256Hex(packActivations(a, ref.n!))).to.not.equal(ref.sha256);
  });

  it('Q8_K equals quantize_row_q8_K (d, quants and bsums)', () => {
    const c = REF.cases.find((k) => k.name === 'act-q8_k')!;
    const a = createActivationRows('Q8_K', 1, c.n!);
    quantizeActivations(a, genFloats(c.seed!, c.n!), 0, 1);
    expect(sha256Hex(packActivations(a, c.n!))).to.equal(c.sha256);
  });

  it('takes Float64Array activations through float32 first', () => {
    const x = genFloats(301, 1024);
    const wide = Float64Array.from(x, (v, i) => v + (i % 3) * 2 ** -40 * Math.abs(v)); // rounds back to x
    for (const t of ['Q8_0', 'Q8_K', 'F16', 'BF16', 'F32'] as const) {
      const a = createActivationRows(t, 1, 1024);
      const b = createActivationRows(t, 1, 1024);
      quantizeActivations(a, x, 0, 1);
      quantizeActivations(b, wide, 0, 1);
      expect(b, t).to.deep.equal(a);
    }
  });
});

describe('token-level agreement with llama.cpp: dot products', () => {
  for (const c of byOp('dot')) {
    it(`${c.type}: kpc's float64 dots match the x86 ggml_vec_dot_* to float32 accuracy`, () => {
      const type = c.type as GgmlTypeName;
      const w = genFloats(c.wseed!, c.rows! * c.cols!);
      const bytes = quantizeMatrix(type, w, c.rows!, c.cols!);
      const out = new Float64Array(c.rows!);
      const x = genFloats(c.aseed!, c.cols!);
      quantMatMul({ type, rows: c.rows!, cols: c.cols!, bytes }, x, 1, out);
      const row = new Float32Array(c.cols!);
      const rb = bytes.length / c.rows!;
      for (let r = 0; r < c.rows!; r++) {
        // Σ|w·x| bounds how far two float32 summation orders can drift apart.
        dequantizeRow(type, bytes, r * rb, c.cols!, row, 0);
        let mag = 0;
        for (let i = 0; i < c.cols!; i++) mag += Math.abs(row[i] * x[i]);
        expect(Math.abs(out[r] - c.llama![r]), `row ${r}`).to.be.at.most(2e-6 * mag);
      }
    });
  }
});
