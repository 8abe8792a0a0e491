/**
 * Failure detection and recovery figures (spec §4, §7, §9), over real WebRTC with the
 * spec's default 5 s heartbeat:
 *
 * - `detect_close_ms` / `recovery_close_ms`: a peer's channels close (a crashed tab) →
 *   the first survivor notices / every survivor is READY again.
 * - `detect_silent_ms` / `recovery_silent_ms`: a peer hangs with its channels open →
 *   dropped after 3 missed heartbeats / every survivor READY again.
 * - `recovery_signaling_restart_ms`: the only signaling server restarts → a new node
 *   that was waiting has joined (READY with its peers).
 */
import { generateIdentity } from '../src/crypto/index.js';
import { PiNode } from '../src/node.js';
import { MemoryStorage } from '../src/sync/index.js';
import type { BenchResults } from './types.js';
import { waitFor } from './util.js';

type Control = (command: string, payload?: unknown) => Promise<unknown>;

async function cluster(signaling: string, n: number): Promise<PiNode[]> {
  const clusterId = `bench-rec-${Math.random().toString(36).slice(2)}`;
  const nodes = Array.from({ length: n }, () => new PiNode({ clusterId, signaling, identity: generateIdentity(), syncStorage: () => new MemoryStorage() }));
  await Promise.all(nodes.map((x) => x.start()));
  await waitFor(() => nodes.every((x) => x.state === 'READY' && x.peers.length === n - 1), 30_000);
  return nodes;
}

/** Times a fault on node 3 of 4 until the first survivor drops it and until all are READY. */
async function fault(signaling: string, inject: (victim: PiNode) => void): Promise<{ detect: number; recover: number }> {
  const nodes = await cluster(signaling, 4);
  const [victim, ...rest] = [nodes[3], nodes[0], nodes[1], nodes[2]];
  let detected = 0;
  for (const n of rest) n.addEventListener('peer-close', () => (detected ||= performance.now()), { once: true });
  const t0 = performance.now();
  inject(victim);
  await waitFor(() => detected > 0, 30_000);
  await waitFor(() => rest.every((n) => n.state === 'READY' && n.peers.length === 2), 30_000);
  const recovered = performance.now();
  await Promise.all(rest.map((n) => n.stop()));
  return { detect: detected - t0, recover: recovered - t0 };
}

async function signalingRestart(control: Control): Promise<number> {
  const srv = (await control('signal-start')) as { id: string; url: string };
  const nodes = await cluster(srv.url, 2);
  await control('signal-stop', { id: srv.id });
  const late = new PiNode({ clusterId: nodes[0].options.clusterId, signaling: srv.url, identity: generateIdentity(), syncStorage: () => new MemoryStorage() });
  await late.start();
  const t0 = performance.now();
  const again = (await control('signal-start', { port: Number(new URL(srv.url).port) })) as { id: string };
  await waitFor(() => late.state === 'READY' && late.peers.length === 2, 60_000);
  const ms = performance.now() - t0;
  await Promise.all([...nodes, late].map((n) => n.stop()));
  await control('signal-stop', { id: again.id });
  return ms;
}

/** Detection and recovery times for the fault kinds above. */
export async function runRecoveryBench(signaling: string, control: Control): Promise<BenchResults> {
  const close = await fault(signaling, (v) => v.faults.crash());
  const silent = await fault(signaling, (v) => v.faults.silence(true));
  const restart = await signalingRestart(control);
  const r = (x: number) => Math.round(x);
  return {
    detect_close_ms: { value: r(close.detect), unit: 'ms' },
    recovery_close_ms: { value: r(close.recover), unit: 'ms', spec: 30_000, goal: 2_000 },
    detect_silent_ms: { value: r(silent.detect), unit: 'ms' },
    recovery_silent_ms: { value: r(silent.recover), unit: 'ms', spec: 30_000, goal: 20_000 },
    recovery_signaling_restart_ms: { value: r(restart), unit: 'ms', spec: 30_000 },
  };
}
