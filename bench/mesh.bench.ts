/**
 * Mesh figures (spec §9), measured in the browser over real WebRTC and the
 * local signaling server: `mesh_formation_4_ms` and `startup_ms`.
 */
import { generateIdentity } from '../src/crypto/index.js';
import { PiNode } from '../src/node.js';
import type { BenchResults } from './types.js';
import { median, waitFor } from './util.js';

const RUNS = 5;

async function formMesh(signaling: string, clusterId: string, count: number, meshed: number): Promise<{ nodes: PiNode[]; ms: number }> {
  const nodes = Array.from({ length: count }, () => new PiNode({ clusterId, signaling, identity: generateIdentity() }));
  const t0 = performance.now();
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length >= meshed), 30_000);
  return { nodes, ms: performance.now() - t0 };
}

/** Four nodes from `start()` to all READY with 3 links each; then a fifth node's start-up. */
export async function runMeshBench(signaling: string): Promise<BenchResults> {
  const formation: number[] = [];
  const startup: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const clusterId = `bench-${run}-${Math.random().toString(36).slice(2)}`;
    const { nodes, ms } = await formMesh(signaling, clusterId, 4, 3);
    formation.push(ms);
    // Start-up as a user sees it: identity from IndexedDB, discovery, links, READY with 3 peers.
    const joiner = new PiNode({ clusterId, signaling, identitySlot: `bench-joiner-${run}` });
    const t0 = performance.now();
    await joiner.start();
    await waitFor(() => joiner.state === 'READY' && joiner.peers.length >= 3, 30_000);
    startup.push(performance.now() - t0);
    await Promise.all([...nodes, joiner].map((n) => n.stop()));
  }
  return {
    mesh_formation_4_ms: { value: median(formation), unit: 'ms', spec: 10_000, goal: 1_000 },
    startup_ms: { value: median(startup), unit: 'ms', spec: 5_000, goal: 1_000 },
  };
}
