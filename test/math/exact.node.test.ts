import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { CONSTANTS, E, PHI, PI, TAU, TRIG_EXACT_LIMIT, exactCos, exactExp, exactSin, exactTanh, hashPosition } from '../../src/math/index.js';
import { MURMUR3_VECTORS, murmur3Bytes } from './murmur3.js';

const RUNS = { numRuns: 20_000 };
const double = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });

/** |a − b| ≤ tol·max(1, |b|): absolute near zero, relative for big magnitudes. */
function close(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));
}

describe('constants (spec §6.1)', () => {
  it('are the spec literals', () => {
    expect(PI).to.equal(3.141592653589793);
    expect(E).to.equal(2.718281828459045);
    expect(PHI).to.equal(1.618033988749895);
    expect(TAU).to.equal(6.283185307179586);
    expect(CONSTANTS).to.deep.equal({ π: PI, e: E, φ: PHI, τ: TAU });
    expect(Object.isFrozen(CONSTANTS)).to.equal(true);
  });
});

describe('exact sin / cos', () => {
  it('match Math.sin / Math.cos within 1e-15 on the kernel range |a| ≤ 100', () => {
    fc.assert(fc.property(double(-100, 100), (a) => close(exactSin(a), Math.sin(a), 1e-15) && close(exactCos(a), Math.cos(a), 1e-15)), RUNS);
  });

  it('match within 1e-12 up to TRIG_EXACT_LIMIT (2^20·π/2)', () => {
    fc.assert(
      fc.property(double(-TRIG_EXACT_LIMIT, TRIG_EXACT_LIMIT), (a) => close(exactSin(a), Math.sin(a), 1e-12) && close(exactCos(a), Math.cos(a), 1e-12)),
      RUNS,
    );
  });

  it('stay deterministic and bounded beyond the exact range', () => {
    for (const a of [1e7, -3.3e9, 1e15, 2 ** 60]) {
      expect(Math.abs(exactSin(a))).to.be.at.most(1);
      expect(Math.abs(exactCos(a))).to.be.at.most(1);
      expect(exactSin(a)).to.equal(exactSin(a));
    }
  });

  it('handle special values', () => {
    expect(Object.is(exactSin(-0), -0)).to.equal(true);
    expect(exactCos(0)).to.equal(1);
    expect(exactSin(1e-300)).to.equal(1e-300);
    for (const v of [NaN, Infinity, -Infinity]) {
      expect(exactSin(v)).to.be.NaN;
      expect(exactCos(v)).to.be.NaN;
    }
  });

  it('are right at the multiples of π/2, where reduction cancels most', () => {
    for (let n = -2000; n <= 2000; n++) {
      const a = n * (PI / 2);
      expect(close(exactSin(a), Math.sin(a), 1e-15), `sin(${n}·π/2)`).to.equal(true);
      expect(close(exactCos(a), Math.cos(a), 1e-15), `cos(${n}·π/2)`).to.equal(true);
    }
  });
});

describe('exact exp', () => {
  it('matches Math.exp within 1e-15 relative on [-708, 709]', () => {
    fc.assert(fc.property(double(-708, 709), (x) => Math.abs(exactExp(x) - Math.exp(x)) <= 1e-15 * Math.exp(x)), RUNS);
  });

  it('matches on the kernel range [-24, 8] within 1e-15 relative', () => {
    fc.assert(fc.property(double(-24, 8), (x) => Math.abs(exactExp(x) - Math.exp(x)) <= 1e-15 * Math.exp(x)), RUNS);
  });

  it('underflows gradually and overflows like Math.exp', () => {
    for (const x of [-709, -720, -740, -745, -745.1]) expect(Math.abs(exactExp(x) - Math.exp(x))).to.be.at.most(Math.exp(x) * 1e-12 + 5e-324);
    expect(exactExp(-746)).to.equal(0);
    expect(exactExp(710)).to.equal(Infinity);
    expect(exactExp(709.78)).to.equal(Math.exp(709.78));
    expect(exactExp(0)).to.equal(1);
    expect(exactExp(-Infinity)).to.equal(0);
    expect(exactExp(Infinity)).to.equal(Infinity);
    expect(exactExp(NaN)).to.be.NaN;
  });
});

describe('exact tanh', () => {
  it('matches Math.tanh within 1e-15 relative on [-30, 30]', () => {
    fc.assert(fc.property(double(-30, 30), (x) => Math.abs(exactTanh(x) - Math.tanh(x)) <= 1e-15 * Math.abs(Math.tanh(x))), RUNS);
  });

  it('keeps relative accuracy for tiny arguments', () => {
    fc.assert(fc.property(double(-1e-3, 1e-3), (x) => Math.abs(exactTanh(x) - Math.tanh(x)) <= 1e-15 * Math.abs(Math.tanh(x))), RUNS);
  });

  it('handles special values', () => {
    expect(Object.is(exactTanh(-0), -0)).to.equal(true);
    expect(exactTanh(22)).to.equal(1);
    expect(exactTanh(-1e300)).to.equal(-1);
    expect(exactTanh(Infinity)).to.equal(1);
    expect(exactTanh(NaN)).to.be.NaN;
  });
});

describe('hashPosition (MurmurHash3_x86_32)', () => {
  it('the independent byte implementation passes the published vectors', () => {
    for (const [key, seed, hash] of MURMUR3_VECTORS) expect(murmur3Bytes(new Uint8Array(key), seed)).to.equal(hash);
  });

  it('equals Murmur3 of the 16-byte little-endian key [layer, tensor, row, segment]', () => {
    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    fc.assert(
      fc.property(u32, u32, u32, u32, u32, (seed, layer, tensor, row, seg) => {
        const key = new Uint8Array(16);
        const view = new DataView(key.buffer);
        [layer, tensor, row, seg].forEach((w, i) => view.setUint32(4 * i, w, true));
        return hashPosition(seed, layer, tensor, row, seg) === murmur3Bytes(key, seed);
      }),
      { numRuns: 5000 },
    );
  });
});
