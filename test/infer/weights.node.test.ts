import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import {
  BLOCK_TENSORS,
  GLOBAL_LAYER,
  GLOBAL_TENSORS,
  ModelWeights,
  WeightCache,
  allTensors,
  finishTensor,
  materializeTensor,
  modelSpecId,
  parameterCount,
  resolveModelSpec,
  tensorShape,
  tensorSource,
} from '../../src/infer/index.js';
import { generateLayer } from '../../src/math/index.js';

const tiny = resolveModelSpec('kpc-tiny');
const small = resolveModelSpec('kpc-small');

describe('procedural weights', () => {
  it('each block tensor is the kernel at (seed, layer, documented index), scaled as documented', () => {
    const residual = 1 / Math.sqrt(2 * tiny.layers);
    const expected: Record<string, { tensor: number; rows: number; cols: number; scale: number; offset: number }> = {
      wq: { tensor: 0, rows: 64, cols: 64, scale: 1, offset: 0 },
      wk: { tensor: 1, rows: 64, cols: 64, scale: 1, offset: 0 },
      wv: { tensor: 2, rows: 64, cols: 64, scale: 1, offset: 0 },
      wo: { tensor: 3, rows: 64, cols: 64, scale: residual, offset: 0 },
      w1: { tensor: 4, rows: 172, cols: 64, scale: 1, offset: 0 },
      w2: { tensor: 5, rows: 64, cols: 172, scale: residual, offset: 0 },
      w3: { tensor: 6, rows: 172, cols: 64, scale: 1, offset: 0 },
      attnNorm: { tensor: 7, rows: 1, cols: 64, scale: 1, offset: 1 },
      ffnNorm: { tensor: 8, rows: 1, cols: 64, scale: 1, offset: 1 },
    };
    const weights = new ModelWeights(tiny, modelSpecId(tiny));
    for (const [name, e] of Object.entries(expected)) {
      expect(BLOCK_TENSORS[name as keyof typeof BLOCK_TENSORS]).to.equal(e.tensor);
      const raw = generateLayer({ seed: tiny.seed, layer: 1, tensor: e.tensor, rows: e.rows, cols: e.cols });
      const got = weights.block(1, name as keyof typeof BLOCK_TENSORS);
      expect(got.length, name).to.equal(e.rows * e.cols);
      for (let i = 0; i < got.length; i++) expect(got[i], `${name}[${i}]`).to.equal(Math.fround(raw[i] * e.scale + e.offset));
    }
  });

  it('whole-model tensors live in kernel layer 0xFFFFFFFF', () => {
    expect(GLOBAL_LAYER).to.equal(0xffffffff);
    const emb = materializeTensor(tensorSource(tiny, { layer: 'global', name: 'embedding' }));
    const raw = generateLayer({ seed: tiny.seed, layer: GLOBAL_LAYER, tensor: GLOBAL_TENSORS.embedding, rows: 259, cols: 64 });
    for (let i = 0; i < emb.length; i++) expect(emb[i]).to.equal(Math.fround(raw[i] * 8));
    const out = materializeTensor(tensorSource(tiny, { layer: 'global', name: 'output' }));
    expect(out).to.deep.equal(generateLayer({ seed: tiny.seed, layer: GLOBAL_LAYER, tensor: 1, rows: 259, cols: 64 }));
    const norm = materializeTensor(tensorSource(tiny, { layer: 'global', name: 'finalNorm' }));
    for (const g of norm) expect(g).to.be.within(0, 2);
  });

  it('norm gains stay near 1', () => {
    for (const spec of [tiny, small]) {
      const g = materializeTensor(tensorSource(spec, { layer: 0, name: 'attnNorm' }));
      let mean = 0;
      for (const v of g) mean += v / g.length;
      expect(Math.abs(mean - 1)).to.be.below(0.1);
    }
  });

  it('shapes follow the spec (grouped-query attention in kpc-small)', () => {
    expect(tensorShape(small, { layer: 0, name: 'wk' })).to.deep.equal({ rows: 256, cols: 512 });
    expect(tensorShape(small, { layer: 0, name: 'w2' })).to.deep.equal({ rows: 512, cols: 1408 });
    expect(allTensors(small)).to.have.length(8 * 9 + 3);
    expect(parameterCount(small)).to.equal(allTensors(small).reduce((n, r) => { const s = tensorShape(small, r); return n + s.rows * s.cols; }, 0));
  });

  it('rejects tensors the model does not have', () => {
    for (const ref of [{ layer: 2, name: 'wq' }, { layer: -1, name: 'wq' }, { layer: 0, name: 'embedding' }, { layer: 'global', name: 'wq' }]) {
      let err: unknown;
      try {
        tensorSource(tiny, ref as never);
      } catch (e) {
        err = e;
      }
      expect(isKpcError(err, 'INFER_BAD_INPUT'), JSON.stringify(ref)).to.equal(true);
    }
    expect(() => finishTensor(new Float32Array(3), tensorSource(tiny, { layer: 0, name: 'wq' }))).to.throw(/64×64/);
  });
});

describe('WeightCache', () => {
  const make = (n: number) => () => new Float32Array(n);

  it('keeps the most recently used tensors within its byte budget', () => {
    const cache = new WeightCache(40); // ten floats
    const a = cache.get('a', make(4));
    cache.get('b', make(4));
    expect(cache.bytes).to.equal(32);
    expect(cache.get('a', make(4))).to.equal(a); // hit: a is now the most recent
    cache.get('c', make(3)); // 44 bytes would exceed 40: b (least recent) goes
    expect(cache.has('a')).to.equal(true);
    expect(cache.has('b')).to.equal(false);
    expect(cache.has('c')).to.equal(true);
    expect(cache.bytes).to.equal(28);
    expect(cache.stats).to.deep.equal({ hits: 1, misses: 3 });
  });

  it('never caches a tensor larger than the budget', () => {
    const cache = new WeightCache(16);
    cache.get('big', make(5));
    expect(cache.size).to.equal(0);
    expect(cache.bytes).to.equal(0);
  });

  it('clear() empties it', () => {
    const cache = new WeightCache();
    cache.get('a', make(8));
    cache.put('b', new Float32Array(8));
    cache.clear();
    expect(cache.size).to.equal(0);
    expect(cache.bytes).to.equal(0);
    expect(cache.stats).to.deep.equal({ hits: 0, misses: 0 });
  });

  it('never exceeds the budget under any sequence of uses', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 1, max: 30 }))), (budget, ops) => {
        const cache = new WeightCache(budget);
        const sizes = new Map<number, number>();
        for (const [key, n] of ops) {
          const len = sizes.get(key) ?? n;
          sizes.set(key, len);
          const got = cache.get(String(key), make(len));
          if (got.length !== len || cache.bytes > budget) return false;
        }
        return true;
      }),
    );
  });

  it('rejects a bad budget', () => {
    expect(() => new WeightCache(-1)).to.throw(/budget/);
    expect(() => new WeightCache(NaN)).to.throw(/budget/);
  });
});
