/**
 * Who answers a newcomer's broadcast announce: the DIRECT_REPLIERS members that weigh
 * most with it. Every member decides alone, so the rule must give exactly k answers
 * when members know the same ids, and spread the work evenly over newcomers.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { DIRECT_REPLIERS } from '../../src/mesh/discovery.js';
import { inTopK, pairScore, topK } from '../../src/rendezvous.js';

const idArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('hex'));

describe('direct repliers (rendezvous top-k)', () => {
  it('exactly min(k, members) members answer when all know the same ids', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 1, maxLength: 60 }), idArb, fc.integer({ min: 1, max: 12 }), (members, newcomer, k) => {
        fc.pre(!members.includes(newcomer));
        const answering = members.filter((self) => inTopK(newcomer, self, [...members, newcomer], k));
        expect(answering.length).to.equal(Math.min(k, members.length));
      }),
      { numRuns: 300 },
    );
  });

  it('different newcomers get different repliers: over 200 newcomers no member of 100 answers more than 4× its share', () => {
    const members = Array.from({ length: 100 }, (_, i) => pairScore('member', String(i)).toString(16).padStart(8, '0').repeat(4));
    const answered = new Map<string, number>();
    for (let n = 0; n < 200; n++) {
      const newcomer = pairScore('newcomer', String(n)).toString(16).padStart(8, '0').repeat(4);
      for (const self of members) if (inTopK(newcomer, self, members, DIRECT_REPLIERS)) answered.set(self, (answered.get(self) ?? 0) + 1);
    }
    const share = (200 * DIRECT_REPLIERS) / 100;
    expect(Math.max(...answered.values())).to.be.at.most(4 * share);
    expect([...answered.values()].reduce((a, b) => a + b, 0)).to.equal(200 * DIRECT_REPLIERS);
  });

  it('the pair order matters and the separator keeps (a, b) splits apart', () => {
    expect(pairScore('ab', 'c')).to.not.equal(pairScore('a', 'bc'));
    expect(pairScore('a', 'b')).to.not.equal(pairScore('b', 'a'));
  });

  it('topK: the same committee whatever the order the ids come in, all of them when there are few', () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 0, maxLength: 150 }), fc.string(), (ids, seed) => {
        const a = topK(seed, ids, 96);
        const b = topK(seed, [...ids].reverse(), 96);
        expect(a).to.deep.equal(b);
        expect(a).to.have.length(Math.min(96, ids.length));
        expect([...a].sort()).to.deep.equal(a);
        for (const id of a) expect(ids).to.include(id);
      }),
      { numRuns: 100 },
    );
  });
});
