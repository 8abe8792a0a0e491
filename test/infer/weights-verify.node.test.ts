import { describe, it } from 'node:test';
import { expect } from 'chai';
import { WeightCache } from '../../src/infer/index.js';

describe('WeightCache integrity checks', () => {
  it('verify finds a corrupted tensor; verifySome finds it within one round of the cache', () => {
    const cache = new WeightCache();
    for (let i = 0; i < 10; i++) cache.put(`t${i}`, new Float32Array([i, i + 1, i + 2]));
    expect(cache.verify()).to.deep.equal([]);
    const t7 = cache.get('t7', () => new Float32Array(0));
    new Uint32Array(t7.buffer)[1] ^= 1;
    expect(cache.verify()).to.deep.equal(['t7']);
    const found: string[] = [];
    for (let round = 0; round < 3; round++) found.push(...cache.verifySome(4));
    expect(found).to.include('t7');
  });
});
