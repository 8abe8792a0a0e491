/**
 * The eclipse rule in isolation (spec §8.1, docs/security.md "A lying server"): among
 * the links a node initiates, members that only one server vouches for take at most
 * that server's share (a real Mesh on hand-fed channels: test/helpers/hand-mesh.ts).
 */
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { generateIdentity } from '../../src/crypto/index.js';
import { handMesh } from '../helpers/hand-mesh.js';

function setup() {
  const { mesh, rt, links, channel } = handMesh(['ws://liar', 'ws://honest']);
  return { mesh, rt, links, liar: channel('ws://liar'), honest: channel('ws://honest') };
}

describe('eclipse mitigation: the per-server share of initiated links', () => {
  it('a lying server that announces only its own identities gets at most ⌈5/2⌉ = 3 of the 5 initiated links', () => {
    const { mesh, rt, links, liar, honest } = setup();
    const fakes = Array.from({ length: 12 }, () => generateIdentity());
    const real = Array.from({ length: 3 }, () => generateIdentity());
    // The liar is faster: all its fakes arrive before any honest member.
    for (const f of fakes) liar.announce(f, rt.now());
    for (const r of real) {
      liar.announce(r, rt.now()); // a lying server may also relay honest nodes…
      honest.announce(r, rt.now()); // …which the other server confirms
    }
    const fakeIds = new Set(fakes.map((f) => f.nodeId));
    const toFakes = links.tried.filter((id) => fakeIds.has(id));
    expect(toFakes).to.have.length(3);
    // The two remaining attempts go to members both servers vouch for.
    expect(links.tried.filter((id) => !fakeIds.has(id))).to.have.length(2);
    expect(links.tried).to.have.length(5);
    mesh.crash();
  });

  it('members one honest server alone announces are limited the same way, per server', () => {
    const { mesh, rt, links, liar, honest } = setup();
    const onlyLiar = Array.from({ length: 4 }, () => generateIdentity());
    const onlyHonest = Array.from({ length: 4 }, () => generateIdentity());
    for (const m of onlyLiar) liar.announce(m, rt.now());
    for (const m of onlyHonest) honest.announce(m, rt.now());
    const liarIds = new Set(onlyLiar.map((f) => f.nodeId));
    expect(links.tried.filter((id) => liarIds.has(id))).to.have.length(3);
    expect(links.tried.filter((id) => !liarIds.has(id))).to.have.length(2);
    expect(links.tried).to.have.length(5);
    mesh.crash();
  });

  it('with one server there is nothing to share: the first five members get the attempts', () => {
    const { mesh, rt, links, channel } = handMesh(['ws://only']);
    const members = Array.from({ length: 7 }, () => generateIdentity());
    for (const m of members) channel('ws://only').announce(m, rt.now());
    expect(links.tried).to.deep.equal(members.slice(0, 5).map((m) => m.nodeId));
    mesh.crash();
  });
});
