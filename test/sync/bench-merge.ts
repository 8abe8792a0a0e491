/**
 * Rough throughput of the CRDT core in Node (not a test; no assertions):
 *   node --import tsx test/sync/bench-merge.ts [deltas] [writesPerDelta]
 * Wire bytes → decodeDelta (Ed25519 verify, checksums) → Replica.applyRemote on MemoryStorage.
 */
import { generateIdentity } from '../../src/crypto/index.js';
import { MemoryStorage, Replica, decodeDelta, encodeDelta, signDelta, type EntryWrite } from '../../src/sync/index.js';

const deltas = Number(process.argv[2] ?? 1000);
const perDelta = Number(process.argv[3] ?? 10);
const authors = [generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()];
const now = Date.now();

const wire: Uint8Array[] = [];
for (let i = 0; i < deltas; i++) {
  const a = i % authors.length;
  const writes: EntryWrite[] = [];
  for (let j = 0; j < perDelta; j++) {
    const n = i * perDelta + j;
    writes.push(
      n % 5 === 0
        ? { key: `w/${n % 997}`, kind: 'weights', value: new Uint8Array(64).fill(n & 255), ts: { wall: now, counter: n % 65536 } }
        : { key: `k/${n % 997}`, kind: 'json', value: { n, tag: 'x'.repeat(16) }, ts: { wall: now, counter: n % 65536 } },
    );
  }
  wire.push(encodeDelta(signDelta(authors[a], Math.floor(i / authors.length) + 1, writes)));
}
const bytes = wire.reduce((s, b) => s + b.length, 0);

let t = performance.now();
const decoded = wire.map((b) => decodeDelta(b));
const tDecode = performance.now() - t;

const replica = await Replica.open({ identity: generateIdentity(), storage: new MemoryStorage() });
t = performance.now();
for (const d of decoded) await replica.applyRemote(d);
const tApply = performance.now() - t;

const replica2 = await Replica.open({ identity: generateIdentity(), storage: new MemoryStorage() });
t = performance.now();
for (const b of wire) await replica2.applyRemote(decodeDelta(b));
const tAll = performance.now() - t;

const local = await Replica.open({ identity: generateIdentity(), storage: new MemoryStorage() });
t = performance.now();
for (let i = 0; i < 200; i++) await Promise.all(Array.from({ length: perDelta }, (_, j) => local.put(`k/${j}`, { i, j })));
const tLocal = performance.now() - t;

const f = (x: number) => Math.round(x).toLocaleString('en');
console.log(`${deltas} deltas × ${perDelta} writes, ${f(bytes / 1024)} KiB on the wire, ${replica.entries().length} live keys`);
console.log(`decode+verify only:      ${f(deltas / (tDecode / 1000))} deltas/s`);
console.log(`applyRemote only:        ${f(deltas / (tApply / 1000))} deltas/s`);
console.log(`decode+verify+apply:     ${f(deltas / (tAll / 1000))} deltas/s (${f((deltas * perDelta) / (tAll / 1000))} writes/s, ${f(tAll)} ms total)`);
console.log(`local put (sign+store):  ${f(200 / (tLocal / 1000))} deltas/s of ${perDelta} writes`);
