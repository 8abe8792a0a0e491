/**
 * The engine end to end on a fake network in virtual time: quorums, timeouts,
 * rollback, catching up from certificates, restarts.
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { ConsensusEngine, GENESIS_ID, signProposal, viewId, type Decision, type Executor, type VoteJournal } from '../../src/consensus/index.js';
import { KpcError } from '../../src/errors.js';
import { Register, T0, VirtualRuntime, identity, logOf, makeCluster, outcome, type TestNode } from './harness.js';

function expectCode(err: unknown, code: string): void {
  expect(err, `expected ${code}`).to.be.instanceOf(KpcError);
  expect((err as KpcError).code).to.equal(code);
}

function expectSameLogs(nodes: readonly TestNode[]): void {
  for (const n of nodes.slice(1)) expect(logOf(n), `node ${n.index}`).to.deep.equal(logOf(nodes[0]));
}

describe('consensus engine: quorum', () => {
  it('4 of 4 participating: commits everywhere with the same log', async () => {
    const { rt, net, nodes } = makeCluster();
    const kinds: string[] = [];
    nodes[2].engine.addEventListener('proposal', (e) => kinds.push(e.detail.kind));
    const r = outcome(nodes[0].engine.propose('set', 5));
    await rt.advance(200);
    expect(r.error()).to.equal(undefined);
    expect(r.value()).to.deep.include({ slot: 0, kind: 'set', payload: 5, status: 'executed', proposer: nodes[0].identity.nodeId });
    for (const n of nodes) {
      expect(n.register.value, `node ${n.index}`).to.equal(5);
      expect(n.commits.map((d) => d.id)).to.deep.equal([r.value()!.id]);
      expect(n.engine.finalizedSlot).to.equal(0);
      expect(n.engine.nextSlot()).to.equal(1);
    }
    expectSameLogs(nodes);
    expect(kinds).to.deep.equal(['set']);
    expect(net.errors).to.deep.equal([]);
  });

  it('3 of 4 participating: commits on the three', async () => {
    const { rt, net, nodes } = makeCluster({ active: [0, 1, 2] });
    const r = outcome(nodes[1].engine.propose('set', 7));
    await rt.advance(200);
    expect(r.value()?.status).to.equal('executed');
    for (const n of nodes) expect(n.register.value).to.equal(7);
    expectSameLogs(nodes);
    expect(net.errors).to.deep.equal([]);
  });

  it('2 of 4 participating: no commit, CONSENSUS_TIMEOUT', async () => {
    const { rt, nodes } = makeCluster({ active: [0, 1], timeoutMs: 1000 });
    const timeouts: unknown[] = [];
    nodes[0].engine.addEventListener('timeout', (e) => timeouts.push(e.detail));
    const r = outcome(nodes[0].engine.propose('set', 9));
    await rt.advance(999);
    expect(r.done(), 'still waiting before timeoutMs').to.equal(false);
    await rt.advance(10_000);
    expectCode(r.error(), 'CONSENSUS_TIMEOUT');
    for (const n of nodes) {
      expect(n.engine.decisions).to.have.length(0);
      expect(n.register.value).to.equal(0);
      expect(n.engine.finalizedSlot).to.equal(-1);
    }
    expect(timeouts).to.deep.include({ slot: 0, proposalId: (r.error() as KpcError).detail!.proposalId });
  });

  it('decides sequential proposals from different nodes in slot order', async () => {
    const { rt, nodes } = makeCluster();
    const results: Decision[] = [];
    for (const [i, v] of [[0, 1], [3, 2], [1, 3], [0, 4]] as const) {
      const r = outcome(nodes[i].engine.propose('set', v));
      await rt.advance(300);
      results.push(r.value()!);
    }
    expect(results.map((d) => d.slot)).to.deep.equal([0, 1, 2, 3]);
    expect(results.map((d) => d.payload)).to.deep.equal([1, 2, 3, 4]);
    expectSameLogs(nodes);
    for (const n of nodes) expect(n.register.value).to.equal(4);
  });

  it('queues own proposals and sends them one at a time', async () => {
    const { rt, nodes } = makeCluster();
    const a = outcome(nodes[2].engine.propose('set', 10));
    const b = outcome(nodes[2].engine.propose('set', 11));
    await rt.advance(500);
    expect([a.value()?.slot, b.value()?.slot]).to.deep.equal([0, 1]);
    for (const n of nodes) expect(n.register.value).to.equal(11);
  });

  it('refuses unknown kinds, invalid payloads and non-members before sending anything', async () => {
    const { rt, net, nodes } = makeCluster();
    const e = nodes[0].engine;
    const unknown = outcome(e.propose('nope', 1));
    const invalid = outcome(e.propose('set', 'text'));
    await rt.advance(1);
    expectCode(unknown.error(), 'CONSENSUS_UNKNOWN_KIND');
    expectCode(invalid.error(), 'CONFIG_INVALID'); // the executor's own error
    expect(net.sent[0] ?? []).to.have.length(0);
    const outsider = new ConsensusEngine({ identity: identity(9), runtime: rt, executors: { set: new Register().executor() }, members: () => [], send: () => {} });
    const r = outcome(outsider.propose('set', 1));
    await rt.advance(1);
    expectCode(r.error(), 'CONSENSUS_NOT_MEMBER');
  });

  it('members that refuse the payload make it fail fast with CONSENSUS_REJECTED; the slot is then skipped', async () => {
    const picky = (i: number, r: Register): Executor<number> => ({
      ...r.executor(),
      validate: (p) => {
        if (i !== 0 && p === 42) throw new KpcError('CONFIG_INVALID', 'not 42');
        return r.executor().validate(p);
      },
    });
    const { rt, nodes } = makeCluster({ timeoutMs: 1000, executor: picky });
    const r = outcome(nodes[0].engine.propose('set', 42));
    await rt.advance(100);
    expectCode(r.error(), 'CONSENSUS_REJECTED');
    // Everyone saw the refusals, so slot 0 is skipped without waiting for the timers.
    const next = outcome(nodes[0].engine.propose('set', 43));
    await rt.advance(100);
    expect(next.value()?.slot).to.equal(1);
    for (const n of nodes) expect(logOf(n).map(([s]) => s)).to.deep.equal([1]);
  });
});

describe('consensus engine: rollback (spec §5.2)', () => {
  it('restores the snapshot when execution throws, everywhere, and carries on', async () => {
    const { rt, nodes } = makeCluster();
    const first = outcome(nodes[0].engine.propose('set', 3));
    await rt.advance(200);
    expect(first.value()?.status).to.equal('executed');
    const rollbacks: unknown[] = [];
    nodes[1].engine.addEventListener('rollback', (e) => rollbacks.push(e.detail));
    const bad = outcome(nodes[1].engine.propose('set', -1));
    await rt.advance(200);
    expect(bad.value()).to.deep.include({ slot: 1, status: 'rolled-back', error: 'cannot set -1' });
    for (const n of nodes) {
      expect(n.register.value, 'state as before').to.equal(3);
      expect(n.register.restored, 'restore got the snapshot taken before execute').to.deep.equal([n.register.snapshots.at(-1)]);
      expect(n.register.restored[0]).to.equal(n.register.snapshots.at(-1));
      expect(n.commits.map((d) => d.status)).to.deep.equal(['executed', 'rolled-back']);
    }
    expect(rollbacks).to.have.length(1);
    expect((rollbacks[0] as { decision: Decision }).decision.slot).to.equal(1);
    const after = outcome(nodes[2].engine.propose('set', 8));
    await rt.advance(200);
    expect(after.value()?.slot).to.equal(2);
    for (const n of nodes) expect(n.register.value).to.equal(8);
  });
});

describe('consensus engine: catching up and restarting', () => {
  it('a node that missed a decision learns it from a certificate and executes it', async () => {
    const { rt, net, nodes } = makeCluster();
    net.down.add(3);
    const r = outcome(nodes[0].engine.propose('set', 6));
    await rt.advance(300);
    expect(r.value()?.slot).to.equal(0);
    expect(nodes[3].engine.decisions).to.have.length(0);
    net.down.delete(3);
    const certs = nodes[1].engine.certificates();
    expect(certs).to.have.length(1);
    expect(nodes[3].engine.receive(certs[0], nodes[1].identity.nodeId)).to.equal('applied');
    await rt.advance(10);
    expect(nodes[3].register.value).to.equal(6);
    expect(nodes[3].engine.receive(certs[0])).to.equal('duplicate');
    // And it takes part again.
    const next = outcome(nodes[3].engine.propose('set', 12));
    await rt.advance(300);
    expect(next.value()?.slot).to.equal(1);
    expectSameLogs(nodes);
  });

  it('a certificate whose ancestors are missing waits for them', async () => {
    const { rt, net, nodes } = makeCluster();
    net.down.add(3);
    for (const v of [1, 2]) {
      outcome(nodes[0].engine.propose('set', v));
      await rt.advance(300);
    }
    net.down.delete(3);
    const [c0, c1] = nodes[0].engine.certificates();
    expect(nodes[3].engine.receive(c1)).to.equal('buffered'); // its parent (slot 0) is unknown here
    await rt.advance(10);
    expect(nodes[3].engine.decisions).to.have.length(0);
    expect(nodes[3].engine.receive(c0)).to.equal('applied'); // and it unblocks c1
    await rt.advance(10);
    expect(logOf(nodes[3])).to.deep.equal(logOf(nodes[0]));
    expect(nodes[3].register.value).to.equal(2);
    expect(nodes[3].engine.receive(c1)).to.equal('duplicate');
  });

  it('with a journal, a restarted node never accepts a second proposal in a slot it voted in', async () => {
    const rt = new VirtualRuntime();
    const ids = [0, 1, 2, 3].map(identity);
    const members = ids.map((i) => i.nodeId).sort();
    const stored: Uint8Array[] = [];
    const journal: VoteJournal = { load: () => stored, append: (b) => void stored.push(b) };
    const make = () => {
      const sent: string[] = [];
      const e = new ConsensusEngine({ identity: ids[0], runtime: rt, executors: { set: new Register().executor() }, members: () => members, send: () => {}, journal });
      e.addEventListener('vote', (ev) => ev.detail.voter === ids[0].nodeId && sent.push(`${ev.detail.phase}:${ev.detail.target}`));
      return { e, sent };
    };
    const propose = (i: number, payload: number) =>
      signProposal(ids[i], { slot: 0, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload, members, created: T0, expires: T0 + 10_000 });
    const p1 = propose(1, 1);
    const p2 = propose(2, 2);
    const before = make();
    before.e.receive(p1.bytes);
    expect(before.sent).to.deep.equal([`accept:${p1.id}`]);
    before.e.close(); // "page reload"
    const after = make();
    after.e.receive(p2.bytes);
    expect(after.sent, 'no accept for a rival in the same slot').to.deep.equal([]);
    expect(viewId(members)).to.match(/^[0-9a-f]{64}$/);
  });

  it('close() rejects pending proposals and ignores further input', async () => {
    const { rt, nodes } = makeCluster({ active: [0, 1] });
    const r = outcome(nodes[0].engine.propose('set', 1));
    await rt.advance(10);
    nodes[0].engine.close();
    await rt.advance(1);
    expectCode(r.error(), 'CONSENSUS_CLOSED');
    const late = outcome(nodes[0].engine.propose('set', 2));
    await rt.advance(1);
    expectCode(late.error(), 'CONSENSUS_CLOSED');
    expect(nodes[0].engine.receive(new Uint8Array([1, 2, 3]))).to.equal('ignored');
  });
});
