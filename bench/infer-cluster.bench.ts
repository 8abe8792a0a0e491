/**
 * Distributed inference figures, four real PiNodes in one page over real WebRTC and the
 * local signaling server:
 *
 * - `tokens_per_s_4node_tiny`, `tokens_per_s_4node_small`: decoding rate once the first
 *   token is out (weights cached on every holder), wall clock. kpc-tiny has 2 blocks, so
 *   2 of the 4 nodes hold a segment; kpc-small's 8 blocks make 4 segments, one per node.
 * - `failover_pause_ms`: kpc-small, a holder stops after the 8th token; from noticing it
 *   to the replacement's output being accepted (it regenerates its 2 blocks' weights and
 *   replays the positions so far).
 * - `bytes_per_token`: kpc-small, INFER bytes on the wire per decoded token, all four
 *   nodes, envelopes (116 bytes per frame) included.
 *
 * All four nodes share the page's one thread, so these figures measure the protocol's
 * cost, not parallel speed-up: one token's pipeline is sequential anyway (see
 * docs/distributed-inference.md). The weights are procedural (untrained).
 */
import { generateIdentity } from '../src/crypto/index.js';
import { ENVELOPE_MIN_BYTES } from '../src/protocol/envelope.js';
import type { FailoverDetail } from '../src/infer/cluster/index.js';
import type { ModelPresetName } from '../src/infer/index.js';
import { PiNode } from '../src/node.js';
import { MemoryStorage } from '../src/sync/index.js';
import type { BenchResults } from './types.js';
import { median, waitFor } from './util.js';

const PROMPT = 'The π-node regenerates its weights.';

interface Rig {
  nodes: PiNode[];
  stop(): Promise<void>;
}

async function rig(signaling: string): Promise<Rig> {
  const clusterId = `bench-infer-${Math.random().toString(36).slice(2)}`;
  const nodes = Array.from({ length: 4 }, () => new PiNode({ clusterId, signaling, identity: generateIdentity(), syncStorage: () => new MemoryStorage() }));
  await Promise.all(nodes.map((n) => n.start()));
  await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 3 && n.peers.every((p) => p.state === 'READY')), 30_000);
  return { nodes, stop: () => Promise.all(nodes.map((n) => n.stop())).then(() => undefined) };
}

const wire = (nodes: PiNode[]) =>
  nodes.reduce((sum, n) => sum + (n.inferenceStats?.bytesSent ?? 0) + (n.inferenceStats?.framesSent ?? 0) * ENVELOPE_MIN_BYTES, 0);

/** Decoding rate after the first token, and wire bytes per decoded token. */
async function decode(r: Rig, model: ModelPresetName, tokens: number): Promise<{ rate: number; bytes: number }> {
  let first = 0;
  let bytes0 = 0;
  let count = 0;
  for await (const t of r.nodes[0].generate(PROMPT, { model, maxTokens: tokens, temperature: 0.8, seed: 1, stopAtEos: false })) {
    if (t.index === 0) {
      first = performance.now();
      bytes0 = wire(r.nodes);
    }
    count++;
  }
  const ms = performance.now() - first;
  return { rate: (count - 1) / (ms / 1000), bytes: (wire(r.nodes) - bytes0) / (count - 1) };
}

/** ms from noticing a stopped holder to its replacement's accepted output, kpc-small. */
async function failoverPause(signaling: string): Promise<number> {
  const r = await rig(signaling);
  try {
    await decode(r, 'kpc-small', 4); // regenerate every holder's weights first
    let pause = NaN;
    r.nodes[0].addEventListener('failover', (e) => (pause = (e as CustomEvent<FailoverDetail>).detail.pauseMs));
    for await (const t of r.nodes[0].generate(PROMPT, { model: 'kpc-small', maxTokens: 12, stopAtEos: false })) {
      if (t.index !== 7) continue;
      const victim = t.route.map((h) => h.nodes[0]).find((id) => id !== r.nodes[0].nodeId)!;
      const i = r.nodes.findIndex((n) => n.nodeId === victim);
      void r.nodes[i].stop();
    }
    return pause;
  } finally {
    await r.stop();
  }
}

/** Runs the distributed inference benchmarks (< 60 s); returns figures keyed by name. */
export async function runClusterInferBench(signaling: string): Promise<BenchResults> {
  const r = await rig(signaling);
  let tiny: number;
  let small: number;
  let bytes: number;
  try {
    await decode(r, 'kpc-tiny', 20); // warm-up: weights, JIT
    const tinyRuns = [];
    for (let i = 0; i < 3; i++) tinyRuns.push((await decode(r, 'kpc-tiny', 200)).rate);
    tiny = median(tinyRuns);
    await decode(r, 'kpc-small', 4);
    const smallRuns = [];
    for (let i = 0; i < 3; i++) smallRuns.push(await decode(r, 'kpc-small', 24));
    small = median(smallRuns.map((x) => x.rate));
    bytes = median(smallRuns.map((x) => x.bytes));
  } finally {
    await r.stop();
  }
  const pauses = [];
  for (let i = 0; i < 3; i++) pauses.push(await failoverPause(signaling));
  return {
    tokens_per_s_4node_tiny: { value: tiny, unit: 'tokens/s' },
    tokens_per_s_4node_small: { value: small, unit: 'tokens/s' },
    failover_pause_ms: { value: median(pauses), unit: 'ms' },
    bytes_per_token: { value: Math.round(bytes), unit: 'bytes' },
  };
}
