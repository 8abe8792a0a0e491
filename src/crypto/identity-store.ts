/**
 * Persistent node identities in IndexedDB (browser; via `idb`).
 *
 * One record per *slot*, so several nodes in one page (slots `'a'`, `'b'`, …) get
 * distinct identities, and a node keeps its identity, hence its node id, across
 * reloads. That stability matters: peers, CRDT entries and proof-of-π are all bound
 * to the node id, and a new id on every reload would look like a new member each time.
 *
 * **The secret key is stored unencrypted.** IndexedDB is scoped to the page's origin,
 * so other sites cannot read it; anything that can read it (script running in this
 * origin, someone with the device's browser profile) can also drive the node directly,
 * so encrypting it with a key the same page must hold would add no real protection.
 * The key only authenticates a node to its cluster: it guards no funds or user data,
 * and losing it just means re-joining as a new node. Apps that need more can wrap
 * the record with a WebCrypto key of their own (non-extractable) later; the record
 * carries a version for that migration.
 *
 * The database may be shared with other modules, so this module never assumes it
 * owns the schema: it opens the current version and, only if its object store is
 * missing, re-opens one version higher to add it. Connections are closed after each
 * call and on any `versionchange`, so they never block another module's upgrade.
 */
import type { IDBPDatabase } from 'idb';
import { openWithStore } from './idb-open.js';
import { KpcError } from '../errors.js';
import { generateIdentity, identityFromSecretKey, SECRET_KEY_BYTES, type Identity } from './identity.js';

/** The object store holding identity records, keyed by slot. */
export const IDENTITY_STORE = 'identities';

/** Where an identity lives. */
export interface IdentityStoreOptions {
  /** IndexedDB database name. Default `'kpc'`. */
  dbName?: string;
  /** Record key; one identity per slot. Default `'default'`. */
  slot?: string;
}

/** The stored record. `v` lets a later version (e.g. wrapped keys) migrate old ones. */
interface IdentityRecord {
  v: 1;
  secretKey: Uint8Array;
  createdAt: number;
}

function resolve(opts: IdentityStoreOptions): { dbName: string; slot: string } {
  const dbName = opts.dbName ?? 'kpc';
  const slot = opts.slot ?? 'default';
  if (typeof dbName !== 'string' || dbName.length === 0) throw new KpcError('CRYPTO_BAD_KEY', 'dbName must be a non-empty string');
  if (typeof slot !== 'string' || slot.length === 0) throw new KpcError('CRYPTO_BAD_KEY', 'slot must be a non-empty string');
  return { dbName, slot };
}

/** Opens `dbName` with the identity store present, adding the store if needed. */
async function openIdentityDb(dbName: string): Promise<IDBPDatabase> {
  let db: IDBPDatabase | null = null;
  // Another module (or tab) wants to upgrade: let it, we re-open per call anyway.
  db = await openWithStore(dbName, IDENTITY_STORE, { blocking: () => db?.close() });
  if (!db) throw new KpcError('CRYPTO_BAD_KEY', `could not create the identity store in database ${dbName}`);
  return db;
}

function recordToIdentity(record: unknown, slot: string): Identity {
  const r = record as Partial<IdentityRecord> | null;
  if (!r || r.v !== 1 || !(r.secretKey instanceof Uint8Array) || r.secretKey.length !== SECRET_KEY_BYTES) {
    // Do not silently replace it: a new key is a new node id, which the user should choose.
    throw new KpcError('CRYPTO_BAD_KEY', `stored identity in slot "${slot}" is corrupt; call deleteIdentity to replace it`, { slot });
  }
  return identityFromSecretKey(r.secretKey);
}

/**
 * The identity stored in `slot`, creating and storing a fresh one if there is none.
 *
 * Read and create happen in one read-write transaction, which IndexedDB serializes
 * against other read-write transactions on the store, so two callers (even in two
 * tabs) racing on the same empty slot both end up with the same identity.
 * @throws KpcError `CRYPTO_BAD_KEY` if the stored record is corrupt.
 */
export async function loadOrCreateIdentity(opts: IdentityStoreOptions = {}): Promise<Identity> {
  const { dbName, slot } = resolve(opts);
  const db = await openIdentityDb(dbName);
  try {
    const tx = db.transaction(IDENTITY_STORE, 'readwrite');
    // If we throw before awaiting `done` (corrupt record), its outcome is irrelevant.
    tx.done.catch(() => undefined);
    const existing: unknown = await tx.store.get(slot);
    let identity: Identity;
    if (existing === undefined) {
      // Key generation is synchronous, so the transaction stays active for the put.
      identity = generateIdentity();
      const record: IdentityRecord = { v: 1, secretKey: Uint8Array.from(identity.secretKey), createdAt: Date.now() };
      await tx.store.put(record, slot);
    } else {
      identity = recordToIdentity(existing, slot);
    }
    await tx.done;
    return identity;
  } finally {
    db.close();
  }
}

/** Removes the identity stored in `slot`, if any; the next load creates a new one. */
export async function deleteIdentity(opts: IdentityStoreOptions = {}): Promise<void> {
  const { dbName, slot } = resolve(opts);
  const db = await openIdentityDb(dbName);
  try {
    const tx = db.transaction(IDENTITY_STORE, 'readwrite');
    await tx.store.delete(slot);
    await tx.done;
  } finally {
    db.close();
  }
}
