/**
 * Opens a shared IndexedDB database with one object store present.
 *
 * Several modules keep stores in the same database (`kpc`) without owning its
 * version: each opens the current version and, only when its store is missing,
 * reopens at version + 1 to add it. Two callers can race on that; a VersionError
 * means someone else upgraded meanwhile, so the loop starts again.
 */
import { openDB, type IDBPDatabase, type OpenDBCallbacks } from 'idb';

/** Resolves with the database holding `store`, or null after a few lost races. */
export async function openWithStore(
  dbName: string,
  store: string,
  callbacks: Pick<OpenDBCallbacks<unknown>, 'blocking' | 'terminated'>,
): Promise<IDBPDatabase | null> {
  for (let attempt = 0; attempt < 5; attempt++) {
    let db: IDBPDatabase | undefined = await openDB(dbName, undefined, callbacks);
    if (db.objectStoreNames.contains(store)) return db;
    const next = db.version + 1;
    db.close();
    db = await openDB(dbName, next, {
      ...callbacks,
      upgrade(upgradeDb) {
        if (!upgradeDb.objectStoreNames.contains(store)) upgradeDb.createObjectStore(store);
      },
    }).catch((err: unknown) => {
      if (err instanceof DOMException && err.name === 'VersionError') return undefined;
      throw err;
    });
    if (db?.objectStoreNames.contains(store)) return db;
    db?.close();
  }
  return null;
}
