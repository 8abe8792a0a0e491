/**
 * Replica behaviour: local writes and acks, events, batching, persistence across a
 * simulated crash, failure atomicity, and the checks applyRemote makes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import {
  MemoryStorage,
  compareEntries,
  decodeDelta,
  encodeDelta,
  signDelta,
  type ChangeDetail,
  type Delta,
  type Entry,
  type MemorySnapshot,
  type Replica,
  type SyncStorage,
} from '../../src/sync/index.js';
import { IDENTITIES, NOW, expectKpcError, openReplica, summary } from './helpers.js';

const [alice, bob, carol] = IDENTITIES;

/** Records every event of a replica. */
function record(r: Replica): { changes: ChangeDetail[]; deltas: Delta[] } {
  const log = { changes: [] as ChangeDetail[], deltas: [] as Delta[] };
  r.addEventListener('change', (ev) => log.changes.push(ev.detail));
  r.addEventListener('delta', (ev) => log.deltas.push(ev.detail));
  return log;
}

/** Everything observable about a replica's state, as plain data. */
function observable(r: Replica): unknown {
  return { entries: r.entries().map(summary), vv: r.versionVector(), log: r.deltasSince({}).map((d) => encodeDelta(d)), buffered: r.bufferedCount };
}

/** A storage whose appends fail while `failing` is set (with `error`, default a plain Error). */
class FlakyStorage implements SyncStorage {
  failing = false;
  error: unknown = new Error('disk full');
  constructor(readonly inner = new MemoryStorage()) {}
  load() {
    return this.inner.load();
  }
  async append(d: Delta) {
    if (this.failing) throw this.error;
    return this.inner.append(d);
  }
  clear() {
    return this.inner.clear();
  }
  close() {
    this.inner.close();
  }
}

describe('Replica local writes', () => {
  it('put/get/delete/entries, acked after storage, with events', async () => {
    const storage = new MemoryStorage();
    const r = await openReplica(alice, storage);
    const ev = record(r);
    const pending = r.put('cfg/model', { layers: 4 });
    expect(r.get('cfg/model'), 'visible before the ack').to.equal(undefined);
    const entry = await pending;
    expect(storage.size).to.equal(1);
    expect(entry).to.include({ key: 'cfg/model', kind: 'json', writer: alice.nodeId });
    expect(r.get('cfg/model')?.value).to.deep.equal({ layers: 4 });
    await r.put('blob', new Uint8Array([1, 2, 3]));
    await r.put('w/0', new Uint8Array(8), { kind: 'weights' });
    expect(r.get('blob')).to.include({ kind: 'bytes' });
    expect(r.get('blob')?.checksum).to.match(/^[0-9a-f]{64}$/);
    expect(r.entries().map((e) => e.key)).to.deep.equal(['blob', 'cfg/model', 'w/0']);
    expect(r.entries('cfg/').map((e) => e.key)).to.deep.equal(['cfg/model']);
    await r.delete('blob');
    await r.delete('never-written'); // tombstone, but no visible change
    expect(r.get('blob')).to.equal(undefined);
    expect(r.entries().map((e) => e.key)).to.deep.equal(['cfg/model', 'w/0']);
    expect(r.versionVector()).to.deep.equal({ [alice.nodeId]: 5 });
    expect(ev.deltas.map((d) => d.seq)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(ev.changes.map((c) => [c.key, c.entry === undefined, c.local])).to.deep.equal([
      ['cfg/model', false, true],
      ['blob', false, true],
      ['w/0', false, true],
      ['blob', true, true],
    ]);
  });

  it('coalesces the writes of one burst into one delta (microtask, no timer)', async () => {
    const r = await openReplica(alice);
    const ev = record(r);
    const entries = await Promise.all([r.put('a', 1), r.put('b', 2), r.put('a', 3), r.delete('b')]);
    expect(ev.deltas).to.have.length(1);
    expect(ev.deltas[0].writes.map((w) => w.key)).to.deep.equal(['a', 'b', 'a', 'b']);
    expect(entries[2]).to.include({ value: 3 });
    expect(r.entries().map((e) => [e.key, e.value])).to.deep.equal([['a', 3]]);
    // Timestamps within the burst strictly increase, so the later write wins.
    const ts = ev.deltas[0].writes.map((w) => w.ts.wall * 65536 + w.ts.counter);
    expect(ts).to.deep.equal([...ts].sort((x, y) => x - y));
  });

  it('with batchMs, also coalesces writes made across microtasks', async () => {
    const r = await openReplica(alice, undefined, { batchMs: 5 });
    const ev = record(r);
    const p1 = r.put('a', 1);
    await Promise.resolve();
    await Promise.resolve();
    const p2 = r.put('b', 2);
    await Promise.all([p1, p2]);
    expect(ev.deltas).to.have.length(1);
  });

  it('splits a large burst into deltas within maxDeltaBytes; a single oversized write is refused', async () => {
    const r = await openReplica(alice, undefined, { maxDeltaBytes: 600 });
    const ev = record(r);
    await Promise.all([1, 2, 3, 4, 5].map((i) => r.put(`k${i}`, new Uint8Array(150))));
    expect(ev.deltas.length).to.be.at.least(2);
    for (const d of ev.deltas) expect(encodeDelta(d).length).to.be.at.most(600);
    expect(r.entries()).to.have.length(5);
    await expectKpcError(() => r.put('huge', new Uint8Array(600)), 'PROTO_OVERSIZE');
  });

  it('rejects bad writes with typed errors and changes nothing', async () => {
    const r = await openReplica(alice);
    const before = observable(r);
    await expectKpcError(() => r.put('', 1), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k'.repeat(257), 1), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k', null as never), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k', { f: () => 1 } as never), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k', 'text', { kind: 'weights' }), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k', new Uint8Array(1), { kind: 'json' }), 'SYNC_BAD_WRITE');
    await expectKpcError(() => r.put('k', 1, { kind: 'tensor' as never }), 'SYNC_UNKNOWN_KIND');
    await expectKpcError(() => r.delete(''), 'SYNC_BAD_WRITE');
    expect(observable(r)).to.deep.equal(before);
  });

  it('a failing storage append rejects the put and leaves the replica exactly as before', async () => {
    const storage = new FlakyStorage();
    const r = await openReplica(alice, storage);
    await r.put('a', 1);
    const ev = record(r);
    const before = observable(r);
    storage.failing = true;
    const err = await expectKpcError(() => r.put('a', 2), 'SYNC_STORAGE_FAILED');
    expect(err.detail?.cause).to.equal(storage.error);
    await expectKpcError(() => Promise.all([r.put('b', 1), r.delete('a')]), 'SYNC_STORAGE_FAILED');
    storage.error = new KpcError('SYNC_CLOSED', 'gone');
    await expectKpcError(() => r.put('c', 1), 'SYNC_CLOSED');
    expect(observable(r)).to.deep.equal(before);
    expect(ev.changes).to.deep.equal([]);
    expect(ev.deltas).to.deep.equal([]);
    // Once storage recovers, the next delta takes the next seq: no gap, no reuse of a sent one.
    storage.failing = false;
    await r.put('a', 3);
    expect(r.versionVector()).to.deep.equal({ [alice.nodeId]: 2 });
    expect(ev.deltas.map((d) => d.seq)).to.deep.equal([2]);
  });

  it('close rejects unflushed and later writes with SYNC_CLOSED', async () => {
    const r = await openReplica(alice);
    const p = r.put('a', 1);
    r.close();
    await expectKpcError(() => p, 'SYNC_CLOSED');
    await expectKpcError(() => r.put('b', 1), 'SYNC_CLOSED');
    await expectKpcError(() => r.applyRemote(signDelta(bob, 1, [{ key: 'x', kind: 'json', value: 1, ts: { wall: 1, counter: 0 } }])), 'SYNC_CLOSED');
    expect(r.closed).to.equal(true);
  });
});

describe('Replica persistence (simulated crash with MemoryStorage)', () => {
  it('acked writes survive a crash and reopen; unacked ones may not; the clock and seq continue', async () => {
    let now = NOW;
    const disk = new MemoryStorage();
    const r = await openReplica(alice, disk, { now: () => now });
    await r.put('a', 1);
    await r.put('b', new Uint8Array([1]));
    await r.delete('a');
    await r.applyRemote(signDelta(bob, 1, [{ key: 'c', kind: 'json', value: 'bob', ts: { wall: NOW, counter: 0 } }]));
    const unacked = r.put('d', 4);
    const crash = disk.snapshot(); // the process dies here: `d` was never acknowledged
    const acked = observable(r);
    await unacked;

    now = NOW - 3_600_000; // the machine restarts with its clock an hour behind
    const again = await openReplica(alice, MemoryStorage.fromSnapshot(crash), { now: () => now });
    expect(observable(again)).to.deep.equal(acked);
    expect(again.get('d')).to.equal(undefined);
    // New writes get the next seq and beat everything written before the crash.
    await again.put('b', new Uint8Array([2]));
    expect(again.get('b')?.value).to.deep.equal(new Uint8Array([2]));
    expect(again.versionVector()).to.deep.equal({ [alice.nodeId]: 4, [bob.nodeId]: 1 });
  });

  it('property: a crash at any moment keeps every write acked before it', async () => {
    const putArb = fc.record({ key: fc.constantFrom('a', 'b', 'c', 'd'), value: fc.integer(), awaitIt: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.array(putArb, { minLength: 1, maxLength: 12 }), fc.nat(40), fc.nat(6), async (puts, turns, latencyTurns) => {
        const disk = new MemoryStorage({ latencyTurns });
        const r = await openReplica(alice, disk);
        const acked: Entry[] = [];
        const all: Promise<unknown>[] = [];
        let crash: MemorySnapshot | undefined;
        let ackedAtCrash: Entry[] = [];
        // The crash strikes after `turns` microtask turns, wherever the writer is by then.
        const crasher = (async () => {
          for (let i = 0; i < turns; i++) await Promise.resolve();
          crash = disk.snapshot();
          ackedAtCrash = acked.slice();
        })();
        for (const p of puts) {
          const done = r.put(p.key, p.value).then((e) => acked.push(e));
          all.push(done);
          if (p.awaitIt) await done;
        }
        await Promise.all([...all, crasher]);
        const reopened = await openReplica(alice, MemoryStorage.fromSnapshot(crash!));
        for (const e of ackedAtCrash) {
          const now = reopened.get(e.key);
          expect(now, `acked write to ${e.key} lost`).to.not.equal(undefined);
          expect(compareEntries(now!, e)).to.be.at.least(0);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('property: after any acked operations, a reopen shows exactly the state at the crash', async () => {
    const opArb = fc.oneof(
      fc.record({ op: fc.constant('put' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.integer() }),
      fc.record({ op: fc.constant('del' as const), key: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ op: fc.constant('remote' as const), key: fc.constantFrom('a', 'b', 'c'), value: fc.integer(), wall: fc.integer({ min: NOW - 5, max: NOW + 5 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 3 }), { maxLength: 6 }), async (bursts) => {
        const disk = new MemoryStorage();
        const r = await openReplica(alice, disk);
        let bobSeq = 0;
        for (const burst of bursts) {
          // Each burst runs concurrently, then is awaited: everything in it is acked.
          await Promise.all(
            burst.map((o) =>
              o.op === 'put'
                ? r.put(o.key, o.value)
                : o.op === 'del'
                  ? r.delete(o.key)
                  : r.applyRemote(signDelta(bob, ++bobSeq, [{ key: o.key, kind: 'json', value: o.value, ts: { wall: o.wall, counter: 0 } }])),
            ),
          );
        }
        const reopened = await openReplica(alice, MemoryStorage.fromSnapshot(disk.snapshot()));
        expect(observable(reopened)).to.deep.equal(observable(r));
      }),
      { numRuns: 30 },
    );
  });
});

describe('Replica.applyRemote', () => {
  const write = (key: string, value: number, wall = NOW) => ({ key, kind: 'json' as const, value, ts: { wall, counter: 0 } });

  it('applies wire deltas, emits remote change events, and reports duplicates from any relay', async () => {
    const r = await openReplica(alice);
    const ev = record(r);
    const d = signDelta(bob, 1, [write('x', 1), write('y', 2)]);
    const wire = encodeDelta(d);
    expect(await r.applyRemote(decodeDelta(wire))).to.equal('applied');
    expect(ev.changes.map((c) => [c.key, c.local])).to.deep.equal([['x', false], ['y', false]]);
    expect(ev.deltas, 'remote deltas are not re-announced as local').to.deep.equal([]);
    // The same delta relayed by another peer (a fresh decode) is a duplicate.
    expect(await r.applyRemote(decodeDelta(wire.slice()))).to.equal('duplicate');
    expect(r.deltasSince({}).map(encodeDelta)).to.deep.equal([wire]);
  });

  it('rejects a timestamp beyond the skew bound: nothing applied, clock untouched', async () => {
    const r = await openReplica(alice, undefined, { maxSkewMs: 1000 });
    const before = observable(r);
    const future = signDelta(bob, 1, [write('x', 1, NOW + 1001)]);
    await expectKpcError(() => r.applyRemote(future), 'SYNC_CLOCK_SKEW');
    expect(observable(r)).to.deep.equal(before);
    // Our next write is not dragged past the rejected timestamp.
    const mine = await r.put('x', 2);
    expect(mine.ts.wall).to.be.below(NOW + 1001);
    // Also refused when it would only be buffered.
    await expectKpcError(() => r.applyRemote(signDelta(bob, 3, [write('x', 1, NOW + 5000)])), 'SYNC_CLOCK_SKEW');
    expect(r.bufferedCount).to.equal(0);
    expect(await r.applyRemote(signDelta(bob, 1, [write('x', 1, NOW + 1000)]))).to.equal('applied');
  });

  it('checksum mismatch → SYNC_BAD_CHECKSUM, nothing applied', async () => {
    const r = await openReplica(alice);
    const before = observable(r);
    const good = signDelta(bob, 1, [{ key: 'w', kind: 'weights', value: new Uint8Array([1, 2, 3, 4]), ts: { wall: NOW, counter: 0 } }]);
    // A tampered object (value changed after signing) handed to applyRemote directly.
    const tampered: Delta = { ...good, writes: [{ ...good.writes[0], value: new Uint8Array([1, 2, 3, 5]) }] };
    await expectKpcError(() => r.applyRemote(tampered), 'SYNC_BAD_CHECKSUM');
    expect(observable(r)).to.deep.equal(before);
    expect(await r.applyRemote(good)).to.equal('applied');
  });

  it('unknown kinds and bad signatures are rejected before anything is applied', async () => {
    const r = await openReplica(alice);
    const good = signDelta(bob, 1, [write('x', 1)]);
    await expectKpcError(() => r.applyRemote({ ...good, writes: [{ ...good.writes[0], kind: 'tensor' as never }] }), 'SYNC_UNKNOWN_KIND');
    await expectKpcError(() => r.applyRemote({ ...good, seq: 2 }), 'PROTO_BAD_SIGNATURE');
    await expectKpcError(() => r.applyRemote({ ...good, signature: new Uint8Array(64) }), 'PROTO_BAD_SIGNATURE');
    expect(r.versionVector()).to.deep.equal({});
  });

  it('a second, different delta under a held seq is SYNC_EQUIVOCATION (applied or buffered)', async () => {
    const r = await openReplica(alice);
    await r.applyRemote(signDelta(bob, 1, [write('x', 1)]));
    const err = await expectKpcError(() => r.applyRemote(signDelta(bob, 1, [write('x', 2)])), 'SYNC_EQUIVOCATION');
    expect(err.detail).to.deep.equal({ author: bob.nodeId, seq: 1 });
    await r.applyRemote(signDelta(bob, 3, [write('z', 1)]));
    await expectKpcError(() => r.applyRemote(signDelta(bob, 3, [write('z', 2)])), 'SYNC_EQUIVOCATION');
    expect(r.get('x')?.value).to.equal(1);
  });

  it('a failing append rejects the remote delta and leaves the replica unchanged; a retry applies', async () => {
    const storage = new FlakyStorage();
    const r = await openReplica(alice, storage);
    const d = signDelta(carol, 1, [write('x', 1)]);
    const before = observable(r);
    storage.failing = true;
    await expectKpcError(() => r.applyRemote(d), 'SYNC_STORAGE_FAILED');
    expect(observable(r)).to.deep.equal(before);
    storage.failing = false;
    expect(await r.applyRemote(d)).to.equal('applied');
  });

  it('concurrent deliveries of the same and of consecutive deltas are serialized', async () => {
    const r = await openReplica(alice);
    const d1 = signDelta(bob, 1, [write('x', 1)]);
    const d2 = signDelta(bob, 2, [write('x', 2, NOW + 1)]);
    const results = await Promise.all([r.applyRemote(d1), r.applyRemote(d1), r.applyRemote(d2), r.put('y', 1)]);
    expect(results.slice(0, 3)).to.deep.equal(['applied', 'duplicate', 'applied']);
    expect(r.versionVector()).to.deep.equal({ [alice.nodeId]: 1, [bob.nodeId]: 2 });
    expect(r.get('x')?.value).to.equal(2);
  });

  it('rejects junk with KpcError only', async () => {
    const r = await openReplica(alice);
    await fc.assert(
      fc.asyncProperty(fc.anything(), async (v) => {
        await expectKpcError(() => r.applyRemote(v as Delta));
      }),
      { numRuns: 200 },
    );
  });
});
