/**
 * Merge laws as properties: any delivery order, with duplicates and through
 * intermediaries, converges on the reference model; version vectors and
 * deltasSince hand over exactly what is missing; gaps are buffered.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { compareEntries, encodeDelta, peekDelta, type Delta, type Entry, type Replica } from '../../src/sync/index.js';
import { IDENTITIES, expectKpcError, historyArb, modelCompare, modelEntries, openReplica, shuffle, signHistory, smallWriteArb, summary } from './helpers.js';

/** Delivers every delta (some twice) in a seeded random order; returns the outcomes. */
async function deliver(replica: Replica, deltas: readonly Delta[], seed: number, dupEvery: number): Promise<string[]> {
  const withDups = deltas.flatMap((d, i) => (dupEvery > 0 && i % dupEvery === 0 ? [d, d] : [d]));
  const outcomes: string[] = [];
  for (const d of shuffle(withDups, seed)) outcomes.push(await replica.applyRemote(d));
  return outcomes;
}

function expectedVv(history: unknown[][]): Record<string, number> {
  const vv: Record<string, number> = {};
  history.forEach((deltas, i) => {
    if (deltas.length > 0) vv[IDENTITIES[i].nodeId] = deltas.length;
  });
  return vv;
}

describe('merge laws', () => {
  it('any order, with duplicates, converges on the reference model (commutative, idempotent)', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.integer(), fc.integer(), fc.nat(3), async (history, seedA, seedB, dupEvery) => {
        const deltas = signHistory(history);
        // Replicas of two of the authors: a node also takes its own deltas back from peers.
        const a = await openReplica(IDENTITIES[0]);
        const b = await openReplica(IDENTITIES[1]);
        const outcomesA = await deliver(a, deltas, seedA, dupEvery);
        await deliver(b, deltas, seedB, 0);
        const model = modelEntries(deltas);
        expect(a.entries().map(summary)).to.deep.equal(model);
        expect(b.entries().map(summary)).to.deep.equal(model);
        expect(a.versionVector()).to.deep.equal(expectedVv(history));
        expect(b.versionVector()).to.deep.equal(a.versionVector());
        expect(a.bufferedCount).to.equal(0);
        expect(outcomesA.filter((o) => o === 'applied').length + outcomesA.filter((o) => o === 'buffered').length).to.be.at.least(deltas.length);
        // Re-delivering everything changes nothing (idempotent) and is all 'duplicate'.
        const again = await deliver(a, deltas, seedB, 0);
        expect(again.every((o) => o === 'duplicate')).to.equal(true);
        expect(a.entries().map(summary)).to.deep.equal(model);
      }),
      { numRuns: 60 },
    );
  });

  it('merging through intermediaries gives the same map (associative)', async () => {
    const prefixesArb = fc.array(fc.nat(4), { minLength: IDENTITIES.length, maxLength: IDENTITIES.length });
    await fc.assert(
      fc.asyncProperty(historyArb, prefixesArb, prefixesArb, prefixesArb, async (history, pa, pb, pc) => {
        const deltas = signHistory(history);
        const byAuthor = IDENTITIES.map((id) => deltas.filter((d) => d.author === id.nodeId));
        // A replica state is a per-author prefix of the log; build three of them.
        const load = async (prefixes: number[]) => {
          const x = await openReplica(IDENTITIES[2]);
          for (let i = 0; i < byAuthor.length; i++) for (const d of byAuthor[i].slice(0, prefixes[i])) await x.applyRemote(d);
          return x;
        };
        const merge = async (into: Replica, from: Replica) => {
          for (const d of from.deltasSince(into.versionVector())) expect(await into.applyRemote(d)).to.equal('applied');
          return into;
        };
        const left = await merge(await merge(await load(pa), await load(pb)), await load(pc));
        const right = await merge(await load(pa), await merge(await load(pb), await load(pc)));
        const union = byAuthor.flatMap((ds, i) => ds.slice(0, Math.max(pa[i], pb[i], pc[i])));
        const model = modelEntries(union);
        expect(left.entries().map(summary)).to.deep.equal(model);
        expect(right.entries().map(summary)).to.deep.equal(model);
        expect(left.versionVector()).to.deep.equal(right.versionVector());
      }),
      { numRuns: 40 },
    );
  });

  it('compareEntries is a total order that agrees with the model', () => {
    const entryArb = fc.tuple(smallWriteArb, fc.constantFrom(...IDENTITIES.map((i) => i.nodeId))).map(([w, writer]) => ({ ...w, writer }) as Entry);
    fc.assert(
      fc.property(entryArb, entryArb, entryArb, (a, b, c) => {
        expect(Math.sign(compareEntries(a, b))).to.equal(Math.sign(modelCompare(a, b)));
        expect(Math.sign(compareEntries(a, b))).to.equal(-Math.sign(compareEntries(b, a)));
        if (compareEntries(a, b) <= 0 && compareEntries(b, c) <= 0) expect(compareEntries(a, c)).to.be.at.most(0);
      }),
      { numRuns: 2000 },
    );
  });

  it('an author signing two different writes with one timestamp cannot split replicas', async () => {
    const [x] = IDENTITIES;
    const ts = { wall: 1000, counter: 0 };
    const deltas = signHistory([[[{ key: 'k', kind: 'json', value: 'first', ts }], [{ key: 'k', kind: 'json', value: 'second', ts }]], [], []]);
    const a = await openReplica(IDENTITIES[1]);
    const b = await openReplica(IDENTITIES[2]);
    for (const d of deltas) await a.applyRemote(d);
    for (const d of [...deltas].reverse()) await b.applyRemote(d);
    expect(a.get('k')?.value).to.equal('second'); // content tie-break: "second" > "first" bytewise
    expect(b.get('k')?.value).to.equal('second');
    expect(a.get('k')?.writer).to.equal(x.nodeId);
  });
});

describe('version vectors and deltasSince', () => {
  it('hand over exactly the missing deltas, per author in seq order, within the limit', async () => {
    await fc.assert(
      fc.asyncProperty(historyArb, fc.array(fc.nat(4), { minLength: 3, maxLength: 3 }), fc.nat(20), async (history, prefixes, limit) => {
        const deltas = signHistory(history);
        const full = await openReplica(IDENTITIES[0]);
        for (const d of deltas) await full.applyRemote(d);
        // The partial replica holds, per author, a prefix of its deltas.
        const partial = await openReplica(IDENTITIES[1]);
        const held = new Set<Delta>();
        history.forEach((ds, i) => {
          for (const d of deltas.filter((x) => x.author === IDENTITIES[i].nodeId).slice(0, Math.min(prefixes[i], ds.length))) held.add(d);
        });
        for (const d of held) await partial.applyRemote(d);
        const missing = full.deltasSince(partial.versionVector());
        const key = (d: Delta) => `${d.author}/${d.seq}`;
        expect(missing.map(key).sort()).to.deep.equal(deltas.filter((d) => !held.has(d)).map(key).sort());
        for (let i = 1; i < missing.length; i++) {
          if (missing[i].author === missing[i - 1].author) expect(missing[i].seq).to.equal(missing[i - 1].seq + 1);
        }
        expect(full.deltasSince(partial.versionVector(), limit)).to.deep.equal(missing.slice(0, limit));
        // Applying them leaves nothing to buffer and nothing missing.
        for (const d of missing) expect(await partial.applyRemote(d)).to.equal('applied');
        expect(full.deltasSince(partial.versionVector())).to.deep.equal([]);
        expect(partial.versionVector()).to.deep.equal(full.versionVector());
        expect(partial.entries().map(summary)).to.deep.equal(full.entries().map(summary));
      }),
      { numRuns: 40 },
    );
  });

  it('ignores authors it does not know and counts a remote ahead as having everything', async () => {
    const deltas = signHistory([[[{ key: 'k', kind: 'json', value: 1, ts: { wall: 1, counter: 0 } }]], [], []]);
    const r = await openReplica(IDENTITIES[1]);
    await r.applyRemote(deltas[0]);
    expect(r.deltasSince({ ['f'.repeat(32)]: 5 })).to.have.length(1);
    expect(r.deltasSince({ [IDENTITIES[0].nodeId]: 7 })).to.deep.equal([]);
    expect(r.deltasSince({}, 0)).to.deep.equal([]);
  });

  it('rejects malformed version vectors with SYNC_BAD_VECTOR', async () => {
    const r = await openReplica();
    for (const bad of [null, [], 'x', { a: -1 }, { a: 1.5 }, { a: '1' }, { a: 2 ** 53 }]) {
      await expectKpcError(() => r.deltasSince(bad as never), 'SYNC_BAD_VECTOR');
    }
    await expectKpcError(() => r.deltasSince({}, -1), 'SYNC_BAD_VECTOR');
  });
});

describe('out-of-order delivery', () => {
  const writes = (n: number) => [{ key: `k${n}`, kind: 'json' as const, value: n, ts: { wall: 1000 + n, counter: 0 } }];
  const chain = signHistory([[writes(1), writes(2), writes(3), writes(4)], [], []]);

  it('buffers gaps and applies them once the gap fills', async () => {
    const r = await openReplica(IDENTITIES[1]);
    expect(await r.applyRemote(chain[2])).to.equal('buffered');
    expect(await r.applyRemote(chain[1])).to.equal('buffered');
    expect(await r.applyRemote(chain[2])).to.equal('buffered'); // same delta again
    expect(r.bufferedCount).to.equal(2);
    expect(r.versionVector()).to.deep.equal({});
    expect(r.entries()).to.deep.equal([]);
    expect(await r.applyRemote(chain[0])).to.equal('applied');
    expect(r.versionVector()).to.deep.equal({ [IDENTITIES[0].nodeId]: 3 });
    expect(r.bufferedCount).to.equal(0);
    expect(r.entries().map((e) => e.key)).to.deep.equal(['k1', 'k2', 'k3']);
    expect(await r.applyRemote(chain[1])).to.equal('duplicate');
  });

  it('bounds the buffer and refuses beyond it with SYNC_BUFFER_FULL', async () => {
    const r = await openReplica(IDENTITIES[1], undefined, { maxBuffered: 2 });
    await r.applyRemote(chain[1]);
    await r.applyRemote(chain[2]);
    await expectKpcError(() => r.applyRemote(chain[3]), 'SYNC_BUFFER_FULL');
    expect(r.bufferedCount).to.equal(2);
    await r.applyRemote(chain[0]);
    expect(r.bufferedCount).to.equal(0);
    expect(await r.applyRemote(chain[3])).to.equal('applied');
    expect(r.versionVector()).to.deep.equal({ [IDENTITIES[0].nodeId]: 4 });
  });

  it('also bounds the buffered bytes', async () => {
    const r = await openReplica(IDENTITIES[1], undefined, { maxBufferedBytes: encodeDelta(chain[1]).length + 10 });
    expect(await r.applyRemote(chain[1])).to.equal('buffered');
    await expectKpcError(() => r.applyRemote(chain[2]), 'SYNC_BUFFER_FULL');
  });

  it('hasDelta + peekDelta let the gossip layer skip held deltas before verifying', async () => {
    const r = await openReplica(IDENTITIES[1]);
    await r.applyRemote(chain[0]);
    await r.applyRemote(chain[2]); // buffered: not held
    const head = peekDelta(encodeDelta(chain[0]));
    expect(head).to.deep.equal({ author: IDENTITIES[0].nodeId, seq: 1 });
    expect(r.hasDelta(head.author, head.seq)).to.equal(true);
    expect(r.hasDelta(IDENTITIES[0].nodeId, 3)).to.equal(false);
    expect(r.hasDelta(IDENTITIES[0].nodeId, 0)).to.equal(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          peekDelta(b);
        } catch (err) {
          expect(err).to.be.instanceOf(KpcError);
        }
      }),
    );
  });
});
