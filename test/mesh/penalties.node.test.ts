import { expect } from 'chai';
import { describe, it } from 'node:test';
import { BAN_MS, PENALTY_DECAY_MS, PENALTY_LIMIT, PeerPenalties } from '../../src/mesh/penalties.js';
import { VirtualRuntime } from '../helpers/virtual-runtime.js';

describe('peer penalties', () => {
  it('bans a peer that reaches the limit quickly, for BAN_MS', () => {
    const rt = new VirtualRuntime(0, () => 0.5);
    const p = new PeerPenalties(rt);
    for (let i = 1; i < PENALTY_LIMIT; i++) expect(p.add('x', 1)).to.equal(false);
    expect(p.add('x', 1)).to.equal(true);
    expect(p.isBanned('x')).to.equal(true);
    rt.advanceSync(BAN_MS + 1);
    expect(p.isBanned('x')).to.equal(false);
  });

  it('points drain over time: occasional refusals (a quarter point per minute) never add up to a ban', () => {
    const rt = new VirtualRuntime(0, () => 0.5);
    const p = new PeerPenalties(rt);
    for (let minute = 0; minute < 24 * 60; minute++) {
      expect(p.add('relay', 0.25)).to.equal(false);
      rt.advanceSync(PENALTY_DECAY_MS);
    }
    expect(p.isBanned('relay')).to.equal(false);
    // …while a burst still bans at once.
    for (let i = 0; i < PENALTY_LIMIT - 1; i++) p.add('relay', 1);
    expect(p.add('relay', 1)).to.equal(true);
  });
});
