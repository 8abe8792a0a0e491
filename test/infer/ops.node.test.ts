import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { argmax, detLog, dot, matMul, ropeTables, softmax } from '../../src/infer/ops.js';
import { mulberry32, sampleToken } from '../../src/infer/index.js';

const finite = fc.double({ min: -100, max: 100, noNaN: true });

describe('forward-pass kernels', () => {
  it('detLog is within a few ulps of Math.log', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-300, max: 1e300, noNaN: true }), (x) => {
        fc.pre(x > 0);
        const want = Math.log(x);
        return Math.abs(detLog(x) - want) <= 4 * Number.EPSILON * Math.max(1, Math.abs(want));
      }),
      { numRuns: 2000 },
    );
    expect(detLog(1)).to.equal(0);
    expect(detLog(10000)).to.be.closeTo(9.210340371976184, 1e-14);
  });

  it('rotary tables match Math.cos / Math.sin of p·θ^(−2i/d)', () => {
    const { cos, sin } = ropeTables(300, 16, 10000);
    for (let p = 0; p < 300; p += 7) {
      for (let i = 0; i < 8; i++) {
        const a = p * Math.pow(10000, -(2 * i) / 16);
        expect(cos[p * 8 + i]).to.be.closeTo(Math.cos(a), 1e-12);
        expect(sin[p * 8 + i]).to.be.closeTo(Math.sin(a), 1e-12);
      }
    }
  });

  it('matMul gives each row the dot product in dot()`s order, for any shape', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 3 }), fc.integer(), (rows, cols, n, seed) => {
        const rng = mulberry32(seed >>> 0);
        const w = Float32Array.from({ length: rows * cols }, () => rng() - 0.5);
        const x = Float64Array.from({ length: n * cols }, () => rng() * 4 - 2);
        const out = new Float64Array(n * rows);
        matMul(w, rows, cols, x, n, out);
        for (let t = 0; t < n; t++) {
          for (let i = 0; i < rows; i++) if (out[t * rows + i] !== dot(w, i * cols, x, t * cols, cols)) return false;
        }
        return true;
      }),
    );
  });

  it('softmax sums to 1 and never overflows', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(finite, fc.constantFrom(1e300, -1e300)), { minLength: 1, maxLength: 40 }), (xs) => {
        const s = Float64Array.from(xs);
        softmax(s, s.length);
        const sum = s.reduce((a, b) => a + b, 0);
        return s.every((v) => v >= 0 && v <= 1) && Math.abs(sum - 1) < 1e-12;
      }),
    );
  });

  it('argmax breaks ties by the lowest index', () => {
    expect(argmax(Float64Array.of(1, 3, 3, 2))).to.equal(1);
    expect(argmax(Float32Array.of(-1, -1))).to.equal(0);
  });
});

describe('sampling', () => {
  it('mulberry32 is a fixed sequence in [0, 1)', () => {
    const r = mulberry32(1);
    const first = [r(), r(), r()];
    const again = mulberry32(1);
    expect([again(), again(), again()]).to.deep.equal(first);
    expect(first[0]).to.equal(0.6270739405881613);
    const many = mulberry32(7);
    for (let i = 0; i < 1000; i++) {
      const v = many();
      expect(v >= 0 && v < 1).to.equal(true);
    }
  });

  it('temperature 0 is argmax with ties to the lowest id, skipping banned ids', () => {
    const never = () => {
      throw new Error('no draw at temperature 0');
    };
    expect(sampleToken([0, 5, 5, 1], 0, never, new Set())).to.equal(1);
    expect(sampleToken([0, 5, 5, 1], 0, never, new Set([1]))).to.equal(2);
    expect(sampleToken([9, 1, 1], 0, never, new Set([0]))).to.equal(1);
  });

  it('never returns a banned id, and follows softmax(logits / T) in frequency', () => {
    const logits = [0, Math.log(2), Math.log(3), 50];
    const rng = mulberry32(42);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 6000; i++) counts[sampleToken(logits, 1, rng, new Set([3]))]++;
    expect(counts[3]).to.equal(0);
    // expected 1000 / 2000 / 3000
    expect(counts[0]).to.be.within(850, 1150);
    expect(counts[1]).to.be.within(1800, 2200);
    expect(counts[2]).to.be.within(2800, 3200);
  });
});
