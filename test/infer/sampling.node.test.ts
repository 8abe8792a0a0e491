import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { mulberry32, sampleNext } from '../../src/infer/sampler.js';

const none = new Set<number>();
const logitsArb = fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: 2, maxLength: 40 });

describe('sampleNext (penalty, top-k, top-p, temperature)', () => {
  it('is greedy at temperature 0, whatever top-k and top-p say', () => {
    fc.assert(fc.property(logitsArb, fc.integer({ min: 0, max: 5 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (l, k, p) => {
      let best = 0;
      for (let i = 1; i < l.length; i++) if (l[i] > l[best]) best = i;
      return sampleNext(l, [], { temperature: 0, topK: k, topP: p }, mulberry32(1), none) === best;
    }));
  });

  it('the repetition penalty moves the choice off a repeated token', () => {
    const logits = [1, 2.0, 1.9, -1];
    expect(sampleNext(logits, [], {}, mulberry32(0), none)).to.equal(1);
    expect(sampleNext(logits, [1], { repeatPenalty: 1.1 }, mulberry32(0), none)).to.equal(2);
    // Outside the window it no longer counts.
    expect(sampleNext(logits, [1, 0, 0], { repeatPenalty: 1.1, repeatLastN: 2 }, mulberry32(0), none)).to.equal(1);
    // A negative logit is made more negative, not less.
    expect(sampleNext([-1, -1.05], [0], { repeatPenalty: 1.1 }, mulberry32(0), none)).to.equal(1);
  });

  it('top-k keeps only the k most likely tokens', () => {
    fc.assert(fc.property(logitsArb, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (l, k, seed) => {
      const order = l.map((_, i) => i).sort((a, b) => (l[b] - l[a]) || (a - b));
      const t = sampleNext(l, [], { temperature: 5, topK: k }, mulberry32(seed), none);
      return order.slice(0, k).includes(t);
    }));
  });

  it('top-p keeps the smallest head of the distribution that reaches p', () => {
    // Probabilities ≈ 0.665, 0.245, 0.090: p = 0.6 keeps one token, p = 0.8 two.
    const l = [2, 1, 0];
    for (let seed = 0; seed < 50; seed++) {
      expect(sampleNext(l, [], { temperature: 1, topP: 0.6 }, mulberry32(seed), none)).to.equal(0);
      expect(sampleNext(l, [], { temperature: 1, topP: 0.8 }, mulberry32(seed), none)).to.be.oneOf([0, 1]);
    }
  });

  it('the same seed gives the same choices; banned ids never come out', () => {
    fc.assert(fc.property(logitsArb, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (l, seed) => {
      const banned = new Set([0]);
      const a = mulberry32(seed);
      const b = mulberry32(seed);
      for (let i = 0; i < 5; i++) {
        const x = sampleNext(l, [1], { temperature: 0.8, topK: 10, topP: 0.95, repeatPenalty: 1.2 }, a, banned);
        const y = sampleNext(l, [1], { temperature: 0.8, topK: 10, topP: 0.95, repeatPenalty: 1.2 }, b, banned);
        if (x !== y || x === 0) return false;
      }
      return true;
    }));
  });
});
