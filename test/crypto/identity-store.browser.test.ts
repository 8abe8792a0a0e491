import { expect } from 'chai';
import { openDB } from 'idb';
import {
  IDENTITY_STORE,
  deleteIdentity,
  loadOrCreateIdentity,
  sign,
  toHex,
  verify,
} from '../../src/crypto/index.js';
import { KpcError } from '../../src/errors.js';

// Mocha globals provided by web-test-runner (no @types/mocha in this project).
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => Promise<void> | void) => void;
declare const afterEach: (fn: () => Promise<void> | void) => void;

describe('identity store (IndexedDB)', () => {
  const dbNames: string[] = [];
  const freshDb = (): string => {
    const name = `kpc-test-${Math.random().toString(36).slice(2)}`;
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

  it('loads the same identity twice from one slot, across a close and reopen', async () => {
    const dbName = freshDb();
    const first = await loadOrCreateIdentity({ dbName, slot: 'a' });
    // Every call opens and closes its own connection, so this second load is a
    // fresh open of the database, as after a page reload.
    const again = await loadOrCreateIdentity({ dbName, slot: 'a' });
    expect(again.nodeId).to.equal(first.nodeId);
    expect(toHex(again.secretKey)).to.equal(toHex(first.secretKey));
    expect(toHex(again.publicKey)).to.equal(toHex(first.publicKey));
    // The bytes really are on disk: a separate connection reads the same key.
    const db = await openDB(dbName);
    const record = (await db.get(IDENTITY_STORE, 'a')) as { secretKey: Uint8Array };
    db.close();
    expect(toHex(record.secretKey)).to.equal(toHex(first.secretKey));
    // The reloaded identity is fully usable.
    const msg = new Uint8Array([1, 2, 3]);
    expect(verify(first.publicKey, msg, sign(again, msg))).to.equal(true);
  });

  it('gives different slots different identities', async () => {
    const dbName = freshDb();
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((slot) => loadOrCreateIdentity({ dbName, slot })));
    expect(new Set([a.nodeId, b.nodeId, c.nodeId]).size).to.equal(3);
    expect((await loadOrCreateIdentity({ dbName, slot: 'b' })).nodeId).to.equal(b.nodeId);
  });

  it('concurrent loads of one empty slot agree on one identity', async () => {
    const dbName = freshDb();
    const ids = await Promise.all(Array.from({ length: 5 }, () => loadOrCreateIdentity({ dbName, slot: 'x' })));
    expect(new Set(ids.map((i) => i.nodeId)).size).to.equal(1);
  });

  it('deleteIdentity removes one slot only; the next load creates a new identity', async () => {
    const dbName = freshDb();
    const a = await loadOrCreateIdentity({ dbName, slot: 'a' });
    const b = await loadOrCreateIdentity({ dbName, slot: 'b' });
    await deleteIdentity({ dbName, slot: 'a' });
    const a2 = await loadOrCreateIdentity({ dbName, slot: 'a' });
    expect(a2.nodeId).to.not.equal(a.nodeId);
    expect((await loadOrCreateIdentity({ dbName, slot: 'b' })).nodeId).to.equal(b.nodeId);
    await deleteIdentity({ dbName, slot: 'never-used' }); // no error
  });

  it('uses the default database and slot when given no options', async () => {
    const a = await loadOrCreateIdentity();
    const b = await loadOrCreateIdentity({ dbName: 'kpc', slot: 'default' });
    expect(a.nodeId).to.equal(b.nodeId);
    await deleteIdentity();
  });

  it('shares a database with other stores: adds its store without touching theirs', async () => {
    const dbName = freshDb();
    const other = await openDB(dbName, 3, {
      upgrade(db) {
        db.createObjectStore('crdt');
      },
    });
    await other.put('crdt', 'v', 'k');
    other.close();
    const id = await loadOrCreateIdentity({ dbName, slot: 'a' });
    const db = await openDB(dbName);
    expect(db.version).to.equal(4);
    expect(db.objectStoreNames.contains('crdt')).to.equal(true);
    expect(db.objectStoreNames.contains(IDENTITY_STORE)).to.equal(true);
    expect(await db.get('crdt', 'k')).to.equal('v');
    db.close();
    expect((await loadOrCreateIdentity({ dbName, slot: 'a' })).nodeId).to.equal(id.nodeId);
  });

  it('refuses a corrupt record instead of silently replacing the identity', async () => {
    const dbName = freshDb();
    await loadOrCreateIdentity({ dbName, slot: 'a' });
    const db = await openDB(dbName);
    await db.put(IDENTITY_STORE, { v: 1, secretKey: new Uint8Array(5), createdAt: 0 }, 'a');
    db.close();
    let err: unknown;
    try {
      await loadOrCreateIdentity({ dbName, slot: 'a' });
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(KpcError);
    expect((err as KpcError).code).to.equal('CRYPTO_BAD_KEY');
    await deleteIdentity({ dbName, slot: 'a' });
    expect((await loadOrCreateIdentity({ dbName, slot: 'a' })).secretKey).to.have.length(32);
  });
});
