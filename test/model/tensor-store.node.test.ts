import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import { CacheStorageTensorStore, tensorEntryUrl } from '../../src/model/hosted/cache-storage-store.js';
import { MemoryTensorStore } from '../../src/model/hosted/memory-store.js';
import { openTensorStore } from '../../src/model/hosted/open-store.js';
import type { IndexedTensorStore } from '../../src/model/hosted/store-index.js';

const INDEX_URL = 'https://kpc.invalid/index.json';

const urlOf = (req: RequestInfo | URL): string => {
  const url = new URL(typeof req === 'string' ? req : req instanceof URL ? req.href : req.url);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError('Request scheme must be http or https');
  url.hash = '';
  return url.href;
};

/** Cache Storage in memory, like the browser's where it matters: atomic puts, an origin-wide quota. */
class FakeCacheStorage {
  readonly caches = new Map<string, FakeCache>();
  constructor(readonly quota = Infinity) {}
  used(): number {
    let n = 0;
    for (const c of this.caches.values()) for (const b of c.entries.values()) n += b.byteLength;
    return n;
  }
  async open(name: string): Promise<FakeCache> {
    let c = this.caches.get(name);
    if (!c) this.caches.set(name, (c = new FakeCache(this)));
    return c;
  }
  async delete(name: string): Promise<boolean> {
    return this.caches.delete(name);
  }
  /** The entry bytes (not the index) held under `name`. */
  tensorBytes(name = 'kpc-tensors-v1'): number {
    let n = 0;
    for (const [url, b] of this.caches.get(name)?.entries ?? []) if (url !== INDEX_URL) n += b.byteLength;
    return n;
  }
  asCaches(): CacheStorage {
    return this as unknown as CacheStorage;
  }
}

class FakeCache {
  readonly entries = new Map<string, Uint8Array>();
  constructor(readonly owner: FakeCacheStorage) {}
  async match(req: RequestInfo | URL): Promise<Response | undefined> {
    const b = this.entries.get(urlOf(req));
    return b ? new Response(b.slice()) : undefined;
  }
  async put(req: RequestInfo | URL, res: Response): Promise<void> {
    const url = urlOf(req);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const old = this.entries.get(url)?.byteLength ?? 0;
    if (this.owner.used() - old + bytes.byteLength > this.owner.quota) {
      throw new DOMException('Quota exceeded.', 'QuotaExceededError');
    }
    this.entries.set(url, bytes);
  }
  async delete(req: RequestInfo | URL): Promise<boolean> {
    return this.entries.delete(urlOf(req));
  }
  async keys(): Promise<Request[]> {
    return [...this.entries.keys()].map((u) => new Request(u));
  }
}

const bytesOf = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

async function rejectsWith(p: Promise<unknown>, code: string): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    assert.ok(isKpcError(err), `expected a KpcError, got ${String(err)}`);
    assert.equal(err.code, code);
    return { message: err.message, ...err.detail };
  }
  assert.fail(`expected ${code}`);
}

type Factory = (opts?: { maxBytes?: number; now?: () => number }) => IndexedTensorStore;
const kinds: [string, Factory][] = [
  ['MemoryTensorStore', (opts) => new MemoryTensorStore(opts)],
  ['CacheStorageTensorStore (fake CacheStorage)', (opts) => new CacheStorageTensorStore({ ...opts, caches: new FakeCacheStorage().asCaches() })],
];

for (const [name, make] of kinds) {
  describe(`${name}: shared semantics`, () => {
    it('round-trips bytes, isolated from the caller’s buffers, and reports usage', async () => {
      let t = 1000;
      const store = make({ now: () => t });
      const input = Uint8Array.from([1, 2, 3, 4]);
      await store.put('m1/tok_embd', input, 'm1');
      input[0] = 99;
      const out = await store.get('m1/tok_embd', 'm1');
      assert.deepEqual(out, Uint8Array.from([1, 2, 3, 4]));
      out![1] = 99;
      assert.deepEqual(await store.get('m1/tok_embd', 'm1'), Uint8Array.from([1, 2, 3, 4]));
      assert.equal(await store.get('m1/missing', 'm1'), undefined);
      t = 2000;
      await store.put('m2/x', bytesOf(10, 7), 'm2');
      assert.deepEqual(await store.models(), [
        { modelId: 'm2', bytes: 10, entries: 1, lastUsed: 2000 },
        { modelId: 'm1', bytes: 4, entries: 1, lastUsed: 1000 },
      ]);
      t = 3000;
      await store.get('m1/tok_embd', 'm1');
      assert.deepEqual((await store.models()).map((m) => [m.modelId, m.lastUsed]), [['m1', 3000], ['m2', 2000]]);
      assert.equal(store.kind, name.startsWith('Memory') ? 'memory' : 'cache-storage');
    });

    it('replaces the bytes of a key and keeps the totals right', async () => {
      const store = make();
      await store.put('k', bytesOf(100, 1), 'm');
      await store.put('k', bytesOf(30, 2), 'm');
      assert.deepEqual(await store.get('k', 'm'), bytesOf(30, 2));
      assert.equal(await store.totalBytes(), 30);
    });

    it('keeps an entry shared by two models until neither references it', async () => {
      const store = make({ now: () => 42 });
      await store.put('sha256:aa', bytesOf(50, 5), 'a');
      await store.put('a/own', bytesOf(20, 1), 'a');
      await store.put('sha256:aa', bytesOf(50, 5), 'b');
      assert.equal(await store.totalBytes(), 70, 'a shared entry counts once');
      await store.evict('a');
      assert.equal(await store.get('a/own', 'b'), undefined);
      assert.deepEqual(await store.get('sha256:aa', 'b'), bytesOf(50, 5));
      assert.deepEqual(await store.models(), [{ modelId: 'b', bytes: 50, entries: 1, lastUsed: 42 }]);
      await store.evict('b');
      assert.equal(await store.get('sha256:aa', 'b'), undefined);
      assert.deepEqual(await store.models(), []);
      assert.equal(await store.totalBytes(), 0);
    });

    it('evicts the least recently used other models, oldest first, to stay under maxBytes', async () => {
      const store = make({ maxBytes: 250 });
      await store.put('a/1', bytesOf(100, 1), 'a');
      await store.put('b/1', bytesOf(100, 2), 'b');
      await store.get('a/1', 'a'); // a is now more recent than b
      await store.put('c/1', bytesOf(100, 3), 'c');
      assert.deepEqual((await store.models()).map((m) => m.modelId), ['c', 'a']);
      assert.equal(await store.get('b/1', 'b'), undefined);
      // The model being written is never its own victim: c's second entry evicts a only.
      await store.put('c/2', bytesOf(150, 4), 'c');
      assert.deepEqual((await store.models()).map((m) => m.modelId), ['c']);
      assert.equal(await store.totalBytes(), 250);
    });

    it('rejects a put that cannot fit even alone with MODEL_STORAGE_FULL and changes nothing', async () => {
      const store = make({ maxBytes: 1_000_000 });
      await store.put('a/1', bytesOf(400_000, 1), 'a');
      await store.put('b/1', bytesOf(500_000, 2), 'b');
      const before = await store.models();
      const err = await rejectsWith(store.put('b/2', bytesOf(600_000, 3), 'b'), 'MODEL_STORAGE_FULL');
      assert.equal(err.needed, 600_000);
      assert.equal(err.usage, 900_000);
      assert.equal(err.quota, 1_000_000);
      assert.match(String(err.message), /0\.6 MB needed, 0\.5 MB available/);
      assert.deepEqual(await store.models(), before, 'no model was evicted for a put that could not succeed');
      assert.equal(await store.get('b/2', 'b'), undefined);
    });

    it('refuses a bad maxBytes and bad put arguments', async () => {
      assert.throws(() => make({ maxBytes: -1 }), (e: unknown) => isKpcError(e, 'CONFIG_INVALID'));
      await rejectsWith(make().put('', bytesOf(1, 1), 'm'), 'CONFIG_INVALID');
    });

    it('property: never above maxBytes; a get returns the last bytes put unless the key’s models were evicted', async () => {
      const maxBytes = 150;
      const op = fc.oneof(
        fc.record({ t: fc.constant('put' as const), key: fc.nat(4), model: fc.nat(2), size: fc.nat(90), fill: fc.nat(255) }),
        fc.record({ t: fc.constant('get' as const), key: fc.nat(4), model: fc.nat(2) }),
        fc.record({ t: fc.constant('evict' as const), model: fc.nat(2) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const store = make({ maxBytes });
          const last = new Map<string, Uint8Array>();
          const refs = new Map<string, Set<string>>(); // key → models
          const drop = (model: string): void => {
            for (const [key, set] of refs) if (set.delete(model) && set.size === 0) refs.delete(key);
          };
          for (const o of ops) {
            const model = `m${o.model}`;
            if (o.t === 'put') {
              const key = `k${o.key}`;
              let alone = o.size; // this model's bytes once every other model is gone
              for (const [k, set] of refs) if (k !== key && set.has(model)) alone += last.get(k)!.byteLength;
              try {
                await store.put(key, bytesOf(o.size, o.fill), model);
                assert.ok(alone <= maxBytes);
                last.set(key, bytesOf(o.size, o.fill));
                refs.set(key, (refs.get(key) ?? new Set()).add(model));
              } catch (err) {
                assert.ok(isKpcError(err, 'MODEL_STORAGE_FULL'));
                assert.ok(alone > maxBytes, 'full only when the model cannot fit alone');
              }
            } else if (o.t === 'get') {
              const key = `k${o.key}`;
              const got = await store.get(key, model);
              assert.deepEqual(got, refs.has(key) ? last.get(key) : undefined);
            } else {
              await store.evict(model);
              drop(model);
            }
            // Models the store evicted by itself lose their references.
            const held = new Map((await store.models()).map((m) => [m.modelId, m.entries]));
            for (const m of new Set([...refs.values()].flatMap((s) => [...s]))) if (!held.has(m)) drop(m);
            for (const [m, entries] of held) assert.equal(entries, [...refs.values()].filter((s) => s.has(m)).length);
            assert.ok((await store.totalBytes()) <= maxBytes);
          }
          for (const [key] of refs) assert.deepEqual(await store.get(key, 'm0'), last.get(key));
        }),
        { numRuns: 150 },
      );
    });
  });
}

describe('CacheStorageTensorStore specifics', () => {
  it('persists entries and the index across instances (a reload) under synthetic URLs', async () => {
    const fake = new FakeCacheStorage();
    const first = new CacheStorageTensorStore({ caches: fake.asCaches(), now: () => 5 });
    await first.put('sha256:00ff', bytesOf(8, 1), 'model');
    await first.put('model/odd ../key#?%', bytesOf(3, 2), 'model');
    const cache = fake.caches.get('kpc-tensors-v1')!;
    assert.deepEqual([...cache.entries.keys()].sort(), [INDEX_URL, tensorEntryUrl('model/odd ../key#?%'), tensorEntryUrl('sha256:00ff')].sort());
    const second = new CacheStorageTensorStore({ caches: fake.asCaches() });
    assert.deepEqual(await second.models(), [{ modelId: 'model', bytes: 11, entries: 2, lastUsed: 5 }]);
    assert.deepEqual(await second.get('model/odd ../key#?%', 'model'), bytesOf(3, 2));
  });

  it('serializes concurrent puts: the index a reload reads holds every entry', async () => {
    const fake = new FakeCacheStorage();
    const store = new CacheStorageTensorStore({ caches: fake.asCaches() });
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(`m/${i}`, bytesOf(i + 1, i), i % 2 ? 'odd' : 'even')));
    await store.flush();
    const reloaded = new CacheStorageTensorStore({ caches: fake.asCaches() });
    assert.equal(await reloaded.totalBytes(), 210);
    for (let i = 0; i < 20; i++) assert.deepEqual(await reloaded.get(`m/${i}`, 'odd'), bytesOf(i + 1, i));
  });

  it('treats an entry whose length differs from the index as missing and deletes it', async () => {
    const fake = new FakeCacheStorage();
    const store = new CacheStorageTensorStore({ caches: fake.asCaches() });
    await store.put('m/t', bytesOf(16, 1), 'm');
    fake.caches.get('kpc-tensors-v1')!.entries.set(tensorEntryUrl('m/t'), bytesOf(7, 1));
    assert.equal(await store.get('m/t', 'm'), undefined);
    assert.equal(fake.caches.get('kpc-tensors-v1')!.entries.has(tensorEntryUrl('m/t')), false);
    assert.deepEqual(await store.models(), []);
  });

  it('at load, deletes bytes the index never recorded and forgets entries whose bytes are gone', async () => {
    const fake = new FakeCacheStorage();
    const store = new CacheStorageTensorStore({ caches: fake.asCaches() });
    await store.put('m/kept', bytesOf(4, 1), 'm');
    await store.put('m/lost', bytesOf(4, 2), 'm');
    const cache = fake.caches.get('kpc-tensors-v1')!;
    cache.entries.delete(tensorEntryUrl('m/lost'));
    cache.entries.set(tensorEntryUrl('m/orphan'), bytesOf(9, 3)); // written, then the tab died before the index
    const reloaded = new CacheStorageTensorStore({ caches: fake.asCaches() });
    assert.deepEqual((await reloaded.models()).map((m) => [m.modelId, m.entries, m.bytes]), [['m', 1, 4]]);
    assert.equal(cache.entries.has(tensorEntryUrl('m/orphan')), false);
    await reloaded.flush();
    const again = new CacheStorageTensorStore({ caches: fake.asCaches() });
    assert.deepEqual((await again.models()).map((m) => m.entries), [1]);
  });

  it('on QuotaExceededError evicts LRU other models and retries; MODEL_STORAGE_FULL when none is left', async () => {
    const fake = new FakeCacheStorage(3100); // entries and index share the quota, as in a browser
    const estimate = async (): Promise<StorageEstimate> => ({ usage: fake.used(), quota: fake.quota });
    const store = new CacheStorageTensorStore({ caches: fake.asCaches(), estimate });
    await store.put('a/1', bytesOf(1000, 1), 'a');
    await store.put('b/1', bytesOf(1000, 2), 'b');
    await store.get('a/1', 'a');
    await store.flush();
    await store.put('c/1', bytesOf(1000, 3), 'c'); // the quota refuses it until b goes
    assert.deepEqual((await store.models()).map((m) => m.modelId), ['c', 'a']);
    assert.equal(fake.caches.get('kpc-tensors-v1')!.entries.has(tensorEntryUrl('b/1')), false);

    const before = await store.models();
    const err = await rejectsWith(store.put('c/2', bytesOf(3000, 4), 'c'), 'MODEL_STORAGE_FULL');
    assert.equal(err.needed, 3000);
    assert.equal(err.quota, 3100);
    assert.equal(typeof err.usage, 'number');
    assert.match(String(err.message), /^The browser's storage quota is full: 0\.003 MB needed, 0\.\d{3} MB available \(0\.\d{3} MB used of 0\.003 MB\)/);
    assert.equal(fake.caches.get('kpc-tensors-v1')!.entries.has(tensorEntryUrl('c/2')), false, 'no partial entry');
    // a was evicted while trying (its bytes are gone); c, the model being written, is untouched.
    assert.deepEqual((await store.models()).map((m) => [m.modelId, m.bytes]), [['c', 1000]]);
    assert.notDeepEqual(before, await store.models());
    const reloaded = new CacheStorageTensorStore({ caches: fake.asCaches() });
    assert.deepEqual((await reloaded.models()).map((m) => [m.modelId, m.bytes]), [['c', 1000]]);
    assert.deepEqual(await reloaded.get('c/1', 'c'), bytesOf(1000, 3));
  });

  it('needs a CacheStorage; openTensorStore falls back to memory without one or when it refuses to open', async () => {
    assert.equal((globalThis as { caches?: unknown }).caches, undefined, 'Node has no Cache Storage');
    assert.throws(() => new CacheStorageTensorStore(), (e: unknown) => isKpcError(e, 'CONFIG_INVALID'));
    assert.equal((await openTensorStore()).kind, 'memory');
    assert.equal((await openTensorStore({ caches: new FakeCacheStorage().asCaches() })).kind, 'cache-storage');
    const refusing = { open: () => Promise.reject(new DOMException('denied', 'SecurityError')) } as unknown as CacheStorage;
    const store = await openTensorStore({ caches: refusing, maxBytes: 10 });
    assert.equal(store.kind, 'memory');
    await rejectsWith(store.put('k', bytesOf(11, 0), 'm'), 'MODEL_STORAGE_FULL');
  });
});
