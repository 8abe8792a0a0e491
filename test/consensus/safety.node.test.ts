/**
 * Safety properties over random delivery orders: never two commits in one slot, the
 * same log everywhere, even with byzantine members (f < n/3).
 */
import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { GENESIS_ID, decodeMessage, signProposal, signVote, viewId, type Proposal } from '../../src/consensus/index.js';
import { KpcError } from '../../src/errors.js';
import { T0, logOf, makeCluster, outcome, type FakeNetwork, type TestNode, type VirtualRuntime } from './harness.js';
import type { Identity } from '../../src/crypto/identity.js';

/** No slot holds two different decisions across nodes, and each log is in slot order. */
function expectConsistent(nodes: readonly TestNode[]): void {
  const bySlot = new Map<number, string>();
  for (const n of nodes) {
    const log = logOf(n);
    for (let i = 1; i < log.length; i++) expect(log[i][0], 'slot order').to.be.greaterThan(log[i - 1][0]);
    for (const [slot, id] of log) {
      expect(bySlot.get(slot) ?? id, `slot ${slot}: two decisions`).to.equal(id);
      bySlot.set(slot, id);
    }
  }
}

function expectLoss(err: unknown): void {
  expect(err).to.be.instanceOf(KpcError);
  expect(['CONSENSUS_CONFLICT', 'CONSENSUS_TIMEOUT', 'CONSENSUS_REJECTED']).to.include((err as KpcError).code);
}

describe('consensus safety: conflicting proposals', () => {
  it('two concurrent proposals for one slot: at most one commits, every log agrees, the loser commits later', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 2, max: 150 }),
        fc.double({ min: 0, max: 0.5, noNaN: true }),
        async (seed, offset, maxDelayMs, duplicate) => {
          const { rt, net, nodes } = makeCluster({ seed, maxDelayMs, duplicate, timeoutMs: 1000 });
          const a = outcome(nodes[0].engine.propose('set', 100));
          await rt.advance(offset);
          const b = outcome(nodes[1].engine.propose('set', 200));
          await rt.advance(5000);
          expect(a.done() && b.done(), 'both settled').to.equal(true);
          // With a head start, b may already see slot 0 decided and go to slot 1: that is no conflict.
          const slots = [a, b].map((o) => o.value()?.slot ?? (o.error() as KpcError).detail?.slot);
          if (a.value() && b.value()) expect(slots[0], 'two commits in one slot').to.not.equal(slots[1]);
          expectConsistent(nodes);
          for (const n of nodes) expect(logOf(n)).to.deep.equal(logOf(nodes[0]));
          for (const [o, i, v] of [[a, 0, 100], [b, 1, 200]] as const) {
            if (o.value()) continue;
            expectLoss(o.error());
            const again = outcome(nodes[i].engine.propose('set', v));
            await rt.advance(5000);
            expect(again.value()?.slot, 're-proposed into a later slot').to.be.greaterThan(0);
          }
          for (const n of nodes) expect(logOf(n)).to.deep.equal(logOf(nodes[0]));
          expect(net.errors).to.deep.equal([]);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('with lost and duplicated messages: never two decisions in a slot', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.double({ min: 0, max: 0.4, noNaN: true }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 600 })), { minLength: 2, maxLength: 5 }),
        async (seed, drop, plan) => {
          const { rt, net, nodes } = makeCluster({ seed, drop, duplicate: 0.2, maxDelayMs: 80, timeoutMs: 500 });
          plan.forEach(([node, at], k) => rt.setTimeout(() => void nodes[node].engine.propose('set', k).catch(() => {}), at));
          await rt.advance(20_000);
          expectConsistent(nodes);
          expect(net.errors).to.deep.equal([]);
        },
      ),
      { numRuns: 15 },
    );
  });
});

/**
 * A byzantine member: it proposes two different things for slot 0 to different
 * nodes, and signs accept and final votes for every proposal it sees.
 */
function byzantine(rt: VirtualRuntime, net: FakeNetwork, me: number, id: Identity, members: readonly string[], honest: readonly number[]): void {
  const voted = new Set<string>();
  const sendAll = (b: Uint8Array) => net.send(me, b);
  const back = (p: Proposal) => {
    if (voted.has(p.id)) return;
    voted.add(p.id);
    const view = viewId(p.members);
    for (const phase of ['accept', 'final'] as const) sendAll(signVote(id, { phase, slot: p.slot, target: p.id, view }).bytes);
  };
  net.receivers[me] = (bytes) => {
    const m = decodeMessage(bytes);
    if (m.t === 'proposal') back(m);
  };
  const fork = (payload: number) =>
    signProposal(id, { slot: 0, parent: { slot: -1, id: GENESIS_ID }, kind: 'set', payload, members, created: T0, expires: T0 + 60_000 });
  const [pa, pb] = [fork(1), fork(2)];
  honest.forEach((to, k) => rt.setTimeout(() => net.deliver(to, me, k % 2 === 0 ? pa.bytes : pb.bytes), 1 + k));
  back(pa);
  back(pb);
}

describe('consensus safety: byzantine members', () => {
  it('n = 4, f = 1: voting for both conflicting proposals cannot make both commit', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 0x7fffffff }),
        fc.integer({ min: 2, max: 120 }),
        fc.boolean(),
        async (seed, maxDelayMs, honestToo) => {
          const { rt, net, nodes, members, identities } = makeCluster({ seed, maxDelayMs, active: [0, 1, 2], timeoutMs: 1000 });
          const equivocations: string[] = [];
          for (const n of nodes) n.engine.addEventListener('equivocation', (e) => equivocations.push(e.detail.author));
          byzantine(rt, net, 3, identities[3], members, [0, 1, 2]);
          if (honestToo) {
            void nodes[0].engine.propose('set', 10).catch(() => {});
            void nodes[1].engine.propose('set', 20).catch(() => {});
          }
          await rt.advance(10_000);
          expectConsistent(nodes);
          const slot0 = new Set(nodes.flatMap((n) => logOf(n).filter(([s]) => s === 0).map(([, id]) => id)));
          expect(slot0.size).to.be.at.most(1);
          expect(equivocations, 'the double vote is reported').to.include(identities[3].nodeId);
          expect(net.errors).to.deep.equal([]);
          // The honest three still decide afterwards.
          const later = outcome(nodes[2].engine.propose('set', 30));
          await rt.advance(5000);
          expect(later.value()?.status).to.equal('executed');
          expectConsistent(nodes);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('n = 7 with two byzantine members and three racing honest proposers: never two decisions in a slot', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 2, max: 100 }), async (seed, maxDelayMs) => {
        const honest = [0, 1, 2, 3, 4];
        const { rt, net, nodes, members, identities } = makeCluster({ n: 7, seed, maxDelayMs, active: honest, timeoutMs: 1000 });
        for (const b of [5, 6]) byzantine(rt, net, b, identities[b], members, honest);
        for (const i of [0, 1, 2]) void nodes[i].engine.propose('set', 10 + i).catch(() => {});
        await rt.advance(10_000);
        expectConsistent(nodes);
        expect(net.errors).to.deep.equal([]);
      }),
      { numRuns: 5 },
    );
  });
});
