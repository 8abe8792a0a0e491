/**
 * Cluster-state figures (spec §5, §9): sync latency over real WebRTC, and how fast
 * signed deltas merge beside Yjs applying the equivalent map updates.
 */
import * as Y from 'yjs';
import { generateIdentity } from '../src/crypto/index.js';
import { PiNode } from '../src/node.js';
import { HybridClock, MemoryStorage, Replica, decodeDelta, encodeDelta, signDelta, type EntryWrite } from '../src/sync/index.js';
import type { BenchResults } from './types.js';
import { median, waitFor } from './util.js';

const WRITES = 200;
const MERGE_DELTAS = 200;
const WRITES_PER_DELTA = 50;

function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))] * 10) / 10;
}

/** Write on one node of four → the moment the last of the other three sees it. */
async function syncLatency(signaling: string): Promise<number[]> {
  const clusterId = `bench-sync-${Math.random().toString(36).slice(2)}`;
  const nodes = [0, 1, 2, 3].map(
    () => new PiNode({ clusterId, signaling, identity: generateIdentity(), syncStorage: () => new MemoryStorage() }),
  );
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 3), 30_000);
  const seen = new Map<string, number>();
  for (const n of nodes) {
    n.subscribe('lat/', (key) => seen.set(`${n.nodeId}|${key}`, performance.now()));
  }
  const latencies: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const writer = nodes[i % 4];
    const key = `lat/${i}`;
    const t0 = performance.now();
    await writer.put(key, i);
    const others = nodes.filter((n) => n !== writer);
    await waitFor(() => others.every((n) => seen.has(`${n.nodeId}|${key}`)), 10_000);
    latencies.push(Math.max(...others.map((n) => seen.get(`${n.nodeId}|${key}`)!)) - t0);
  }
  await Promise.all(nodes.map((n) => n.stop()));
  return latencies;
}

/** Signed deltas (decode + verify + merge) into a fresh replica, in writes per second. */
async function mergeOpsPerSecond(): Promise<number> {
  const authors = [generateIdentity(), generateIdentity(), generateIdentity(), generateIdentity()];
  const clock = new HybridClock(() => Date.now());
  const wire: Uint8Array[] = [];
  for (let d = 0; d < MERGE_DELTAS; d++) {
    const author = authors[d % authors.length];
    const writes: EntryWrite[] = [];
    for (let w = 0; w < WRITES_PER_DELTA; w++) writes.push({ key: `k/${(d * 7 + w) % 500}`, kind: 'json', value: { d, w }, ts: clock.tick() });
    wire.push(encodeDelta(signDelta(author, Math.floor(d / authors.length) + 1, writes)));
  }
  const replica = await Replica.open({ identity: generateIdentity(), storage: new MemoryStorage() });
  const t0 = performance.now();
  for (const bytes of wire) await replica.applyRemote(decodeDelta(bytes));
  const s = (performance.now() - t0) / 1000;
  replica.close();
  return (MERGE_DELTAS * WRITES_PER_DELTA) / s;
}

/** Yjs applying the same number of map updates, in the same batches. */
function yjsOpsPerSecond(): number {
  const source = new Y.Doc();
  const updates: Uint8Array[] = [];
  source.on('update', (u: Uint8Array) => updates.push(u));
  const map = source.getMap('m');
  for (let d = 0; d < MERGE_DELTAS; d++) {
    source.transact(() => {
      for (let w = 0; w < WRITES_PER_DELTA; w++) map.set(`k/${(d * 7 + w) % 500}`, { d, w });
    });
  }
  const target = new Y.Doc();
  const t0 = performance.now();
  for (const u of updates) Y.applyUpdate(target, u);
  const s = (performance.now() - t0) / 1000;
  return (MERGE_DELTAS * WRITES_PER_DELTA) / s;
}

/** Sync latency on four real nodes, and merge throughput beside Yjs. */
export async function runSyncBench(signaling: string): Promise<BenchResults> {
  const latencies = await syncLatency(signaling);
  const merge: number[] = [];
  const yjs: number[] = [];
  for (let i = 0; i < 3; i++) {
    merge.push(await mergeOpsPerSecond());
    yjs.push(yjsOpsPerSecond());
  }
  return {
    sync_latency_p50_ms: { value: percentile(latencies, 0.5), unit: 'ms' },
    sync_latency_p95_ms: { value: percentile(latencies, 0.95), unit: 'ms', spec: 200, goal: 25 },
    merge_ops_per_s: { value: Math.round(median(merge)), unit: 'ops/s' },
    yjs_map_ops_per_s: { value: Math.round(median(yjs)), unit: 'ops/s' },
  };
}
