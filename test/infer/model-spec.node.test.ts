import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import { canonicalJson } from '../../src/protocol/canonical-json.js';
import {
  BYTE_VOCAB,
  MODEL_PRESETS,
  checkModelSpec,
  modelSpecId,
  normalizeModelSpec,
  parameterCount,
  resolveModelSpec,
  type ModelSpec,
} from '../../src/infer/index.js';

const TINY = MODEL_PRESETS['kpc-tiny'];

/** The error `fn` throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

function expectBadField(spec: unknown, field: string): void {
  const err = thrown(() => checkModelSpec(spec));
  expect(isKpcError(err, 'INFER_BAD_SPEC'), String(err)).to.equal(true);
  expect((err as { detail: { field: string } }).detail.field).to.equal(field);
}

describe('model spec', () => {
  it('presets are valid, small documents', () => {
    for (const [name, spec] of Object.entries(MODEL_PRESETS)) {
      const checked = resolveModelSpec(name);
      expect(checked).to.include(spec);
      expect(canonicalJson(normalizeModelSpec(spec)).length, name).to.be.below(512);
    }
  });

  it('preset sizes: kpc-tiny is sub-MB, kpc-small is tens of MB as float32', () => {
    expect(parameterCount(resolveModelSpec('kpc-tiny'))).to.equal(132_288);
    const small = parameterCount(resolveModelSpec('kpc-small'));
    expect(small).to.equal(23_866_880);
    expect(small * 4).to.be.within(10e6, 100e6);
  });

  const bad: [field: string, value: unknown][] = [
    ['format', 'kpc'],
    ['version', 2],
    ['mode', 'seed-compressed'],
    ['mode', 'trained'],
    ['architecture', 'gpt2'],
    ['dim', 0],
    ['dim', 64.5],
    ['dim', '64'],
    ['dim', 20000],
    ['layers', 0],
    ['layers', 1025],
    ['heads', 0],
    ['heads', 3], // 64 / 3 is not an integer
    ['heads', 64], // head size 1 is odd: no rotary pairs
    ['kvHeads', 3], // does not divide 4 heads
    ['kvHeads', 8], // more than heads
    ['kvHeads', 0],
    ['ffnDim', 0],
    ['ffnDim', 70000],
    ['vocab', 256],
    ['vocab', 260],
    ['contextLength', 0],
    ['contextLength', 65537],
    ['ropeTheta', 1],
    ['ropeTheta', -5],
    ['ropeTheta', Infinity],
    ['ropeTheta', '10000'],
    ['normEps', 0],
    ['normEps', 1],
    ['normEps', NaN],
    ['seed', -1],
    ['seed', 2 ** 32],
    ['seed', 1.5],
  ];
  for (const [field, value] of bad) {
    it(`rejects ${field} = ${String(value)} with INFER_BAD_SPEC naming the field`, () => {
      expectBadField({ ...TINY, [field]: value }, field);
    });
  }

  it('rejects missing fields, unknown fields and non-objects', () => {
    for (const field of ['format', 'dim', 'seed', 'normEps', 'ropeTheta']) {
      const spec: Record<string, unknown> = { ...TINY };
      delete spec[field];
      expectBadField(spec, field);
    }
    expectBadField({ ...TINY, name: 'x' }, 'name');
    expectBadField({ ...TINY, headDim: 16 }, 'headDim');
    for (const v of [null, 42, 'kpc-tiny', [TINY]]) expectBadField(v, '(root)');
    expectBadField({ ...TINY, dim: 16384, ffnDim: 65536 }, 'ffnDim'); // 2^30 weights in one tensor
  });

  it('says that seed-compressed is reserved, not implemented', () => {
    const err = thrown(() => checkModelSpec({ ...TINY, mode: 'seed-compressed' })) as Error;
    expect(err.message).to.match(/reserved/);
  });

  it('rejects unknown preset names', () => {
    expect(isKpcError(thrown(() => resolveModelSpec('kpc-huge')), 'INFER_BAD_SPEC')).to.equal(true);
    expect(isKpcError(thrown(() => resolveModelSpec('toString')), 'INFER_BAD_SPEC')).to.equal(true);
  });

  it('fills in kvHeads and derives headDim', () => {
    const { kvHeads: _, ...noKv } = MODEL_PRESETS['kpc-small'];
    const checked = checkModelSpec(noKv);
    expect(checked.kvHeads).to.equal(checked.heads);
    expect(checked.headDim).to.equal(64);
    expect(checkModelSpec(checked)).to.equal(checked);
  });

  it('the id is SHA-256 hex of the canonical normalized spec: key order and defaults do not matter', () => {
    const id = modelSpecId(TINY);
    expect(id).to.match(/^[0-9a-f]{64}$/);
    const reversed = Object.fromEntries(Object.entries(TINY).reverse()) as unknown as ModelSpec;
    expect(modelSpecId(reversed)).to.equal(id);
    const { kvHeads: _, ...noKv } = TINY; // kpc-tiny has kvHeads = heads
    expect(modelSpecId(noKv)).to.equal(id);
    expect(modelSpecId(resolveModelSpec('kpc-tiny'))).to.equal(id);
    expect(modelSpecId(MODEL_PRESETS['kpc-small'])).to.not.equal(id);
  });

  it('any change to a field changes the id', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (a, b) => {
        fc.pre(a !== b);
        return modelSpecId({ ...TINY, seed: a }) !== modelSpecId({ ...TINY, seed: b });
      }),
      { numRuns: 50 },
    );
    expect(modelSpecId({ ...TINY, normEps: 1e-6 })).to.not.equal(modelSpecId(TINY));
  });

  it('accepts every valid combination of heads and kvHeads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4 }), (heads, half, g) => {
        fc.pre(heads % g === 0);
        const c = checkModelSpec({ ...TINY, dim: heads * 2 * half, heads, kvHeads: heads / g });
        return c.headDim === 2 * half && c.vocab === BYTE_VOCAB;
      }),
    );
  });
});
