import { expect } from 'chai';
import { CacheStorageTensorStore, tensorEntryUrl } from '../../src/model/hosted/cache-storage-store.js';
import { openTensorStore } from '../../src/model/hosted/open-store.js';

const bytesOf = (n: number, fill: number): Uint8Array<ArrayBuffer> => new Uint8Array(n).fill(fill);

describe('CacheStorageTensorStore in Chromium (real Cache Storage)', () => {
  let cacheName = '';
  let n = 0;
  beforeEach(() => {
    // A cache per test, so a failure cannot leak entries into the next one.
    cacheName = `kpc-tensors-test-${Date.now()}-${n++}`;
  });
  afterEach(async () => {
    await caches.delete(cacheName);
  });

  it('accepts the synthetic kpc.invalid URLs and round-trips bytes', async () => {
    const store = new CacheStorageTensorStore({ cacheName, now: () => 77 });
    const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 255);
    await store.put('sha256:abcd', bytes, 'model-a');
    await store.put('model-a/odd ../key#?%', bytesOf(5, 9), 'model-a');
    expect(await store.get('sha256:abcd', 'model-a')).to.deep.equal(bytes);
    expect(await store.get('model-a/odd ../key#?%', 'model-a')).to.deep.equal(bytesOf(5, 9));
    expect(await store.get('nothing', 'model-a')).to.equal(undefined);
    const cache = await caches.open(cacheName);
    expect(await cache.match(tensorEntryUrl('sha256:abcd'))).to.not.equal(undefined);
    expect((await cache.keys()).map((r) => r.url).sort()).to.deep.equal(
      ['https://kpc.invalid/index.json', tensorEntryUrl('model-a/odd ../key#?%'), tensorEntryUrl('sha256:abcd')].sort(),
    );
    expect(await store.models()).to.deep.equal([{ modelId: 'model-a', bytes: 4101, entries: 2, lastUsed: 77 }]);
  });

  it('keeps entries across two store instances (a reload)', async () => {
    const first = new CacheStorageTensorStore({ cacheName, now: () => 1234 });
    await first.put('m/tok_embd', bytesOf(1000, 1), 'm');
    await first.put('m/output', bytesOf(500, 2), 'm');
    await first.flush();
    const second = new CacheStorageTensorStore({ cacheName });
    expect(await second.models()).to.deep.equal([{ modelId: 'm', bytes: 1500, entries: 2, lastUsed: 1234 }]);
    expect(await second.get('m/tok_embd', 'm')).to.deep.equal(bytesOf(1000, 1));
    expect(await second.get('m/output', 'm')).to.deep.equal(bytesOf(500, 2));
  });

  it('evicts least recently used models to stay under maxBytes, also for the next instance', async () => {
    const store = new CacheStorageTensorStore({ cacheName, maxBytes: 2500 });
    await store.put('a/1', bytesOf(1000, 1), 'a');
    await store.put('b/1', bytesOf(1000, 2), 'b');
    await store.get('a/1', 'a');
    await store.put('c/1', bytesOf(1000, 3), 'c');
    expect((await store.models()).map((m) => m.modelId)).to.deep.equal(['c', 'a']);
    expect(await store.get('b/1', 'b')).to.equal(undefined);
    expect(await (await caches.open(cacheName)).match(tensorEntryUrl('b/1'))).to.equal(undefined);
    await store.flush();
    const reloaded = new CacheStorageTensorStore({ cacheName, maxBytes: 2500 });
    expect((await reloaded.models()).map((m) => m.modelId)).to.deep.equal(['c', 'a']);
    try {
      await reloaded.put('c/2', bytesOf(3000, 4), 'c');
      expect.fail('a put larger than maxBytes must fail');
    } catch (err) {
      expect((err as { code?: string }).code).to.equal('MODEL_STORAGE_FULL');
      expect((err as { detail?: unknown }).detail).to.deep.include({ needed: 3000, quota: 2500 });
    }
    expect((await reloaded.models()).map((m) => m.modelId)).to.deep.equal(['c', 'a']);
  });

  it('keeps an entry shared by two models until both are evicted', async () => {
    const store = new CacheStorageTensorStore({ cacheName });
    await store.put('sha256:shared', bytesOf(64, 7), 'a');
    await store.put('sha256:shared', bytesOf(64, 7), 'b');
    expect(await store.totalBytes()).to.equal(64);
    await store.evict('a');
    expect(await store.get('sha256:shared', 'b')).to.deep.equal(bytesOf(64, 7));
    await store.evict('b');
    expect(await store.get('sha256:shared', 'b')).to.equal(undefined);
    const urls = (await (await caches.open(cacheName)).keys()).map((r) => r.url);
    expect(urls).to.deep.equal(['https://kpc.invalid/index.json']);
  });

  it('treats bytes of the wrong length as missing and deletes them', async () => {
    const store = new CacheStorageTensorStore({ cacheName });
    await store.put('m/t', bytesOf(100, 1), 'm');
    await (await caches.open(cacheName)).put(tensorEntryUrl('m/t'), new Response(bytesOf(10, 1)));
    expect(await store.get('m/t', 'm')).to.equal(undefined);
    expect(await (await caches.open(cacheName)).match(tensorEntryUrl('m/t'))).to.equal(undefined);
    expect(await store.models()).to.deep.equal([]);
  });

  it('openTensorStore picks Cache Storage in a secure context', async () => {
    const store = await openTensorStore({ cacheName });
    expect(store.kind).to.equal('cache-storage');
  });
});
