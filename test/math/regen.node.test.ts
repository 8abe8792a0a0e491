import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import {
  E,
  PHI,
  PI,
  ROTATING_CONSTANTS,
  SEGMENT_LENGTH,
  X_STEP,
  generateLayer,
  generateLayerBuiltin,
  generateLayerReference,
  regenerationFunction,
  regenerationFunctionBuiltin,
  weightX,
  type LayerSpec,
} from '../../src/math/index.js';
import { checkLayerSpec as check, generateInto } from '../../src/math/regen.js';
import { GOLDEN, label, littleEndianBytes } from './golden.js';

const sha256 = (layer: Float32Array) => createHash('sha256').update(littleEndianBytes(layer)).digest('hex');

/** Largest |‖row‖ − 1| over the rows of a layer. */
function maxRowNormError(layer: Float32Array, rows: number, cols: number): number {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += layer[r * cols + j] ** 2;
    worst = Math.max(worst, Math.abs(Math.sqrt(s) - 1));
  }
  return worst;
}

/** Fast path vs reference: within 1e-6 relative per weight (absolute floor 1e-9 for weights near 0). */
function agree(fast: Float32Array, ref: Float32Array): boolean {
  for (let i = 0; i < fast.length; i++) {
    if (!(Math.abs(fast[i] - ref[i]) <= 1e-6 * Math.abs(ref[i]) + 1e-9)) return false;
  }
  return true;
}

const smallSpec = fc.record({
  seed: fc.integer({ min: 0, max: 0xffffffff }),
  layer: fc.integer({ min: 0, max: 0xffffffff }),
  tensor: fc.integer({ min: 0, max: 0xffffffff }),
  rows: fc.integer({ min: 1, max: 8 }),
  cols: fc.integer({ min: 1, max: 700 }),
});

describe('regeneration function (spec §6.2)', () => {
  it('is sin(x·c·π)·cos(x·e)·(1 + φ·tanh(x)) within 1e-12 of Math.* on the kernel range', () => {
    fc.assert(
      fc.property(fc.double({ min: -4, max: 10, noNaN: true }), fc.constantFrom(...ROTATING_CONSTANTS), (x, c) => {
        const expected = Math.sin(x * c * PI) * Math.cos(x * E) * (1 + PHI * Math.tanh(x));
        return Math.abs(regenerationFunction(x, c) - expected) <= 1e-12;
      }),
      { numRuns: 20_000 },
    );
  });

  it('stays within 1e-12 of the Math.* version for any c in [-10, 10] and x in [-50, 50]', () => {
    fc.assert(
      fc.property(fc.double({ min: -50, max: 50, noNaN: true }), fc.double({ min: -10, max: 10, noNaN: true }), (x, c) => {
        return Math.abs(regenerationFunction(x, c) - regenerationFunctionBuiltin(x, c)) <= 1e-12;
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('weight generation (spec §6.3)', () => {
  for (const { spec, sha256: expected } of GOLDEN) {
    it(`golden checksum: ${label(spec)}`, () => {
      expect(sha256(generateLayer(spec))).to.equal(expected);
    });
  }

  it('every row has unit L2 length (|‖row‖ − 1| < 1e-6)', () => {
    for (const { spec } of GOLDEN) expect(maxRowNormError(generateLayer(spec), spec.rows, spec.cols), label(spec)).to.be.below(1e-6);
    const big = { seed: 9, layer: 2, rows: 100, cols: 1000 };
    expect(maxRowNormError(generateLayer(big), big.rows, big.cols)).to.be.below(1e-6);
  });

  it('unit rows for random specs', () => {
    fc.assert(fc.property(smallSpec, (s) => maxRowNormError(generateLayer(s), s.rows, s.cols) < 1e-6), { numRuns: 200 });
  });

  it('the fast path agrees with the element-by-element reference (golden specs)', () => {
    for (const { spec } of GOLDEN) expect(agree(generateLayer(spec), generateLayerReference(spec)), label(spec)).to.equal(true);
  });

  it('the fast path agrees with the reference for random specs', () => {
    fc.assert(fc.property(smallSpec, (s) => agree(generateLayer(s), generateLayerReference(s))), { numRuns: 200 });
  });

  it('the Math.* baseline computes the same definition (to float32 rounding)', () => {
    const spec = { seed: 5, layer: 1, rows: 16, cols: 500 };
    expect(agree(generateLayerBuiltin(spec), generateLayerReference(spec))).to.equal(true);
  });

  it('is deterministic: the same spec gives identical bytes, also into a caller buffer', () => {
    fc.assert(
      fc.property(smallSpec, (s) => {
        const a = generateLayer(s);
        const out = new Float32Array(s.rows * s.cols).fill(NaN);
        const b = generateLayer(s, out);
        return b === out && Buffer.compare(Buffer.from(littleEndianBytes(a)), Buffer.from(littleEndianBytes(b))) === 0;
      }),
      { numRuns: 100 },
    );
  });

  it('long rows, generated twice instead of buffered, give the same bits', () => {
    for (const spec of [...GOLDEN.map((g) => g.spec), { seed: 8, layer: 2, rows: 2, cols: 5000 }]) {
      const buffered = new Float32Array(spec.rows * spec.cols);
      const twoPass = new Float32Array(spec.rows * spec.cols);
      generateInto(check(spec), buffered, Infinity);
      generateInto(check(spec), twoPass, 0);
      expect(Buffer.compare(Buffer.from(littleEndianBytes(buffered)), Buffer.from(littleEndianBytes(twoPass))), label(spec)).to.equal(0);
    }
    const wide = { seed: 4, layer: 4, rows: 1, cols: 70_000 }; // past BUFFERED_ROW_LIMIT
    const layer = generateLayer(wide);
    expect(maxRowNormError(layer, 1, wide.cols)).to.be.below(1e-6);
    expect(agree(layer, generateLayerReference(wide))).to.equal(true);
  });

  it('different seeds, layers, tensors and rows give different weights', () => {
    const base: LayerSpec = { seed: 1, layer: 1, rows: 2, cols: 64 };
    const h = sha256(generateLayer(base));
    for (const other of [{ ...base, seed: 2 }, { ...base, layer: 2 }, { ...base, tensor: 1 }]) expect(sha256(generateLayer(other))).to.not.equal(h);
    const layer = generateLayer(base);
    expect(sha256(layer.subarray(0, 64))).to.not.equal(sha256(layer.subarray(64)));
  });

  it('x advances by X_STEP along a segment and re-starts at each segment', () => {
    const x0 = weightX(3, 4, 0, 5, 0);
    for (let j = 1; j < SEGMENT_LENGTH; j++) expect(weightX(3, 4, 0, 5, j)).to.equal(x0 + j * X_STEP);
    expect(weightX(3, 4, 0, 5, SEGMENT_LENGTH)).to.not.equal(x0 + SEGMENT_LENGTH * X_STEP);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.nat(100), fc.nat(5000), (seed, row, col) => {
        const x = weightX(seed, 0, 0, row, col);
        return x > -4 && x < 4 + (SEGMENT_LENGTH - 1) * X_STEP && x !== 0;
      }),
    );
  });
});

describe('shape validation', () => {
  const bad: Array<[string, unknown]> = [
    ['rows 0', { seed: 1, layer: 0, rows: 0, cols: 4 }],
    ['negative cols', { seed: 1, layer: 0, rows: 2, cols: -4 }],
    ['fractional rows', { seed: 1, layer: 0, rows: 1.5, cols: 4 }],
    ['NaN cols', { seed: 1, layer: 0, rows: 2, cols: NaN }],
    ['string rows', { seed: 1, layer: 0, rows: '2', cols: 4 }],
    ['too many elements', { seed: 1, layer: 0, rows: 2 ** 14, cols: 2 ** 14 + 1 }],
    ['negative seed', { seed: -1, layer: 0, rows: 1, cols: 1 }],
    ['seed ≥ 2^32', { seed: 2 ** 32, layer: 0, rows: 1, cols: 1 }],
    ['fractional layer', { seed: 1, layer: 0.5, rows: 1, cols: 1 }],
    ['negative tensor', { seed: 1, layer: 0, rows: 1, cols: 1, tensor: -2 }],
    ['missing layer', { seed: 1, rows: 1, cols: 1 }],
    ['null', null],
  ];
  for (const [name, spec] of bad) {
    it(`rejects ${name} with MATH_INVALID_SHAPE`, () => {
      for (const gen of [generateLayer, generateLayerReference, generateLayerBuiltin]) {
        let error: unknown;
        try {
          gen(spec as LayerSpec);
        } catch (e) {
          error = e;
        }
        expect(isKpcError(error, 'MATH_INVALID_SHAPE'), `${gen.name}: ${String(error)}`).to.equal(true);
      }
    });
  }

  it('accepts exactly 2^28 elements as a valid shape (checked without generating)', () => {
    // rows·cols = 2^28 passes validation: only a wrong `out` makes it throw here.
    let error: unknown;
    try {
      generateLayer({ seed: 1, layer: 0, rows: 2 ** 14, cols: 2 ** 14 }, new Float32Array(1));
    } catch (e) {
      error = e;
    }
    expect(isKpcError(error, 'MATH_INVALID_SHAPE') && (error as Error).message.includes('out')).to.equal(true);
  });

  it('rejects an `out` of the wrong length or type', () => {
    const spec = { seed: 1, layer: 0, rows: 2, cols: 3 };
    expect(() => generateLayer(spec, new Float32Array(5))).to.throw(/out must be/);
    expect(() => generateLayer(spec, new Float64Array(6) as unknown as Float32Array)).to.throw(/out must be/);
  });
});
