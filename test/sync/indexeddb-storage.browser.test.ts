import { expect } from 'chai';
import { openDB } from 'idb';
import { IDENTITY_STORE, generateIdentity, loadOrCreateIdentity } from '../../src/crypto/index.js';
import { KpcError } from '../../src/errors.js';
import { IndexedDbStorage, Replica, SYNC_DELTA_STORE, decodeDelta, encodeDelta, type Entry } from '../../src/sync/index.js';

// Mocha globals provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => Promise<void> | void) => void;
declare const afterEach: (fn: () => Promise<void> | void) => void;

/** Comparable form of entries: bytes as plain arrays. */
function plain(entries: Entry[]): unknown {
  return entries.map((e) => ({ ...e, value: e.value instanceof Uint8Array ? Array.from(e.value) : e.value }));
}

describe('IndexedDbStorage + Replica (real IndexedDB)', () => {
  const dbNames: string[] = [];
  const freshDb = (): string => {
    const name = `kpc-sync-test-${Math.random().toString(36).slice(2)}`;
    dbNames.push(name);
    return name;
  };

  afterEach(async () => {
    await Promise.all(
      dbNames.splice(0).map(
        (name) =>
          new Promise<void>((resolve) => {
            const req = indexedDB.deleteDatabase(name);
            req.onsuccess = req.onerror = req.onblocked = () => resolve();
          }),
      ),
    );
  });

  it('acked writes survive close and reopen: same entries and version vector', async () => {
    const dbName = freshDb();
    const identity = generateIdentity();
    const name = `cluster-1/${identity.nodeId}`;
    const r = await Replica.open({ identity, storage: new IndexedDbStorage({ dbName, name }) });
    await Promise.all([r.put('cfg', { layers: 3, name: 'π' }), r.put('blob', new Uint8Array([1, 2, 3]))]);
    await r.put('w/0', new Uint8Array(new Float32Array([0.5, -1]).buffer), { kind: 'weights' });
    await r.delete('blob');
    // A delta from another node, persisted here as received.
    const other = generateIdentity();
    const o = await Replica.open({ identity: other, storage: new IndexedDbStorage({ dbName, name: `cluster-1/${other.nodeId}` }) });
    await o.put('from-other', 1);
    const [remote] = o.deltasSince({});
    o.close();
    expect(await r.applyRemote(decodeDelta(encodeDelta(remote)))).to.equal('applied');
    const entries = plain(r.entries());
    const vv = r.versionVector();
    const log = r.deltasSince({}).map((d) => Array.from(encodeDelta(d)));
    r.close();

    const again = await Replica.open({ identity, storage: new IndexedDbStorage({ dbName, name }) });
    expect(plain(again.entries())).to.deep.equal(entries);
    expect(again.versionVector()).to.deep.equal(vv);
    expect(again.deltasSince({}).map((d) => Array.from(encodeDelta(d)))).to.deep.equal(log);
    expect(again.get('blob')).to.equal(undefined);
    expect(again.get('w/0')?.kind).to.equal('weights');
    // The next local delta continues the sequence.
    await again.put('after', true);
    expect(again.versionVector()[identity.nodeId]).to.equal(4);
    again.close();
  });

  it('two replicas syncing via deltasSince/applyRemote converge', async () => {
    const dbName = freshDb();
    const [ia, ib] = [generateIdentity(), generateIdentity()];
    const a = await Replica.open({ identity: ia, storage: new IndexedDbStorage({ dbName, name: `c/${ia.nodeId}` }) });
    const b = await Replica.open({ identity: ib, storage: new IndexedDbStorage({ dbName, name: `c/${ib.nodeId}` }) });
    await Promise.all([a.put('shared', 'from a'), a.put('only-a', 1), b.put('shared', 'from b'), b.put('only-b', new Uint8Array([7]))]);
    await b.delete('only-b');
    // Anti-entropy round: each sends what the other lacks, over "the wire".
    const sync = async (from: Replica, to: Replica) => {
      for (const d of from.deltasSince(to.versionVector())) await to.applyRemote(decodeDelta(encodeDelta(d)));
    };
    await sync(a, b);
    await sync(b, a);
    expect(plain(a.entries())).to.deep.equal(plain(b.entries()));
    expect(a.versionVector()).to.deep.equal(b.versionVector());
    expect(a.entries().map((e) => e.key)).to.deep.equal(['only-a', 'shared']);
    // Reopened, both still agree (remote deltas were persisted too).
    a.close();
    b.close();
    const a2 = await Replica.open({ identity: ia, storage: new IndexedDbStorage({ dbName, name: `c/${ia.nodeId}` }) });
    const b2 = await Replica.open({ identity: ib, storage: new IndexedDbStorage({ dbName, name: `c/${ib.nodeId}` }) });
    expect(plain(a2.entries())).to.deep.equal(plain(b2.entries()));
    expect(a2.versionVector()).to.deep.equal(b2.versionVector());
    a2.close();
    b2.close();
  });

  it('shares a database with the identity store, in either creation order', async () => {
    const dbName = freshDb();
    const storage = new IndexedDbStorage({ dbName, name: 'x' });
    const identity = await loadOrCreateIdentity({ dbName, slot: 'a' });
    const r = await Replica.open({ identity, storage });
    await r.put('k', 1);
    expect((await loadOrCreateIdentity({ dbName, slot: 'a' })).nodeId).to.equal(identity.nodeId);
    r.close();
    const db = await openDB(dbName);
    expect([...db.objectStoreNames].sort()).to.deep.equal([IDENTITY_STORE, SYNC_DELTA_STORE].sort());
    db.close();
  });

  it('clear() empties only its own log; a closed storage fails with SYNC_CLOSED', async () => {
    const dbName = freshDb();
    const [i1, i2] = [generateIdentity(), generateIdentity()];
    const r1 = await Replica.open({ identity: i1, storage: new IndexedDbStorage({ dbName, name: 'one' }) });
    const r2 = await Replica.open({ identity: i2, storage: new IndexedDbStorage({ dbName, name: 'one-more' }) });
    await r1.put('a', 1);
    await r2.put('b', 2);
    r1.close();
    r2.close();
    const s1 = new IndexedDbStorage({ dbName, name: 'one' });
    await s1.clear();
    expect(await s1.load()).to.deep.equal([]);
    expect((await new IndexedDbStorage({ dbName, name: 'one-more' }).load()).map((d) => d.seq)).to.deep.equal([1]);
    s1.close();
    let caught: unknown;
    await s1.load().catch((e) => (caught = e));
    expect(caught).to.be.instanceOf(KpcError).with.property('code', 'SYNC_CLOSED');
  });
});
