/**
 * Slots and chains: a notarized but unfinalized proposal is settled by its
 * descendants, skipped slots, far-future proposals, joining late, healing partitions.
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import { ConsensusEngine, GENESIS_ID, decodeMessage, signProposal, signVote, viewId, type ParentRef, type Proposal, type VotePhase } from '../../src/consensus/index.js';
import type { Identity } from '../../src/crypto/identity.js';
import { KpcError } from '../../src/errors.js';
import { Register, T0, VirtualRuntime, identity, logOf, makeCluster, outcome } from './harness.js';

const ids = [0, 1, 2, 3].map(identity);
const members = ids.map((i) => i.nodeId).sort();
const view = viewId(members);

/** Engine of member 0, driven by hand-made messages from members 1–3. */
function member0() {
  const rt = new VirtualRuntime();
  const own: string[] = [];
  const register = new Register();
  const engine = new ConsensusEngine({ identity: ids[0], runtime: rt, timeoutMs: 1000, executors: { set: register.executor() }, members: () => members, send: () => {} });
  engine.addEventListener('vote', (e) => e.detail.voter === ids[0].nodeId && own.push(`${e.detail.phase}@${e.detail.slot}`));
  return { rt, engine, own, register };
}

function prop(by: Identity, slot: number, parent: ParentRef, payload: number): Proposal {
  return signProposal(by, { slot, parent, kind: 'set', payload, members, created: T0, expires: T0 + 60_000 });
}

function votes(phase: VotePhase, slot: number, target: string, from: number[]): Uint8Array[] {
  return from.map((i) => signVote(ids[i], { phase, slot, target, view }).bytes);
}

const genesis: ParentRef = { slot: -1, id: GENESIS_ID };

describe('consensus chains', () => {
  it('a proposal notarized but not finalized in its slot commits when a later one extending it is finalized', async () => {
    const { rt, engine, own } = member0();
    const p = prop(ids[1], 0, genesis, 1);
    engine.receive(p.bytes);
    for (const b of votes('accept', 0, p.id, [1, 2])) engine.receive(b);
    expect(own).to.deep.equal(['accept@0', 'final@0']); // notarized here: node 0 votes final
    // The others timed out before they saw the notarization: they skip. Slot 0 is now
    // notarized both ways and finalized neither way.
    for (const b of votes('skip', 0, '', [1, 2, 3])) engine.receive(b);
    await rt.advance(10);
    expect(engine.decisions).to.have.length(0);
    expect(engine.nextSlot()).to.equal(1);
    // A proposal for slot 1 that builds on p settles slot 0 in p's favour.
    const q = prop(ids[2], 1, { slot: 0, id: p.id }, 2);
    engine.receive(q.bytes);
    expect(own).to.include('accept@1');
    for (const b of [...votes('accept', 1, q.id, [2, 3]), ...votes('final', 1, q.id, [2, 3])]) engine.receive(b);
    await rt.advance(10);
    expect(engine.decisions.map((d) => [d.slot, d.payload])).to.deep.equal([[0, 1], [1, 2]]);
    // Its certificate carries p, so a node that saw nothing can replay both.
    const [cert] = engine.certificates(1);
    const c = decodeMessage(cert);
    expect(c.t === 'cert' && c.chain.map((a) => a.id)).to.deep.equal([p.id]);
    const late = member0();
    expect(late.engine.receive(cert)).to.equal('applied');
    await late.rt.advance(10);
    expect(late.engine.decisions.map((d) => d.slot)).to.deep.equal([0, 1]);
  });

  it('a skipped slot leaves a gap; the next proposal extends the chain across it', async () => {
    const { rt, engine } = member0();
    const p = prop(ids[1], 0, genesis, 1);
    engine.receive(p.bytes);
    for (const b of votes('reject', 0, p.id, [2, 3])) engine.receive(b);
    for (const b of votes('skip', 0, '', [1, 2, 3])) engine.receive(b);
    expect(engine.nextSlot()).to.equal(1);
    const q = prop(ids[3], 1, genesis, 5); // parent: genesis, slot 0 skipped in between
    engine.receive(q.bytes);
    for (const b of [...votes('accept', 1, q.id, [1, 3]), ...votes('final', 1, q.id, [1, 3])]) engine.receive(b);
    await rt.advance(10);
    expect(engine.decisions.map((d) => d.slot)).to.deep.equal([1]);
  });

  it('signs nothing for a far-future slot whose earlier slots are undecided', async () => {
    const { rt, engine, own } = member0();
    const far = prop(ids[1], 5, genesis, 1);
    expect(engine.receive(far.bytes)).to.equal('applied');
    await rt.advance(10_000);
    expect(own, 'no accept (chain not ready) and no skip (slot not current)').to.deep.equal([]);
    const tooFar = prop(ids[1], 1000, genesis, 1);
    expect(engine.receive(tooFar.bytes)).to.equal('ignored');
  });

  it('a node far behind adopts a certificate instead of replaying the whole log', async () => {
    const { rt, net, nodes } = makeCluster();
    net.down.add(3);
    for (const v of [1, 2, 3]) {
      outcome(nodes[0].engine.propose('set', v));
      await rt.advance(300);
    }
    net.down.delete(3);
    const newest = nodes[0].engine.certificates().at(-1)!;
    expect(nodes[3].engine.receive(newest)).to.equal('buffered');
    expect(nodes[3].engine.adopt(newest)).to.equal('applied');
    await rt.advance(10);
    expect(logOf(nodes[3])).to.deep.equal(logOf(nodes[0]).slice(-1));
    expect(nodes[3].register.value).to.equal(3);
    const next = outcome(nodes[3].engine.propose('set', 4));
    await rt.advance(300);
    expect(next.value()?.slot).to.equal(3);
    for (const n of nodes) expect(n.register.value).to.equal(4);
    let error: unknown;
    try {
      nodes[3].engine.adopt(new Uint8Array(0));
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(KpcError);
  });

  it('after a partition heals, the cluster decides again', async () => {
    const { rt, net, nodes } = makeCluster({ timeoutMs: 1000 });
    net.down.add(2).add(3);
    const lost = outcome(nodes[0].engine.propose('set', 1));
    await rt.advance(20_000); // long enough for every timer round to run out
    expect((lost.error() as KpcError).code).to.equal('CONSENSUS_TIMEOUT');
    net.down.clear();
    // Node 2 did not know slot 0 was taken: its first proposal there learns it and fails fast.
    const first = outcome(nodes[2].engine.propose('set', 2));
    await rt.advance(500);
    expect((first.error() as KpcError).code).to.equal('CONSENSUS_CONFLICT');
    const again = outcome(nodes[2].engine.propose('set', 2));
    await rt.advance(500);
    expect(again.value()).to.deep.include({ slot: 1, status: 'executed' });
    for (const n of nodes) expect(logOf(n)).to.deep.equal(logOf(nodes[0]));
  });
});
