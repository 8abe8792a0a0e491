import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { generateIdentity } from '../../src/crypto/index.js';
import { PiNode, type PiNodeOptions } from '../../src/node.js';
import type { RecoveryEvent } from '../../src/recovery.js';
import { MemoryStorage } from '../../src/sync/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { TEST_ADMISSION } from '../helpers/admission.js';

/** The recovery events of a node, as `strategy:phase`. */
function recorder(node: PiNode): string[] {
  const log: string[] = [];
  node.addEventListener('recovery', (ev) => {
    const e = (ev as CustomEvent<RecoveryEvent>).detail;
    log.push(`${e.strategy}:${e.phase}`);
  });
  return log;
}

describe('health, degradation and recovery (spec §3, §4, §7) with real faults', function () {
  this.timeout(90_000);
  let signaling: string;
  const running: PiNode[] = [];

  const spawn = (cluster: string, extra: Partial<PiNodeOptions> = {}) => {
    const node = new PiNode({
      admission: TEST_ADMISSION,
      clusterId: cluster,
      signaling,
      identity: generateIdentity(),
      syncStorage: () => new MemoryStorage(),
      heartbeatMs: 400,
      healthCheckMs: 200,
      ...extra,
    });
    running.push(node);
    return node;
  };

  async function cluster(n: number, extra: Partial<PiNodeOptions> = {}): Promise<PiNode[]> {
    const id = uniqueCluster('rec');
    const nodes = Array.from({ length: n }, () => spawn(id, extra));
    await Promise.all(nodes.map((x) => x.start()));
    await waitFor(() => nodes.every((x) => x.state === 'READY' && x.peers.length === Math.min(3, n - 1)), `${n} READY nodes`);
    return nodes;
  }

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  it('a peer that dies without goodbye: DEGRADED, then reconnectPeers restores READY without it', async () => {
    const nodes = await cluster(4);
    const logs = nodes.map(recorder);
    await nodes[0].put('k', 'before');
    await waitFor(() => nodes.every((n) => n.get('k') !== undefined), 'write everywhere');
    // Kill node 3 as a closed tab: its channels close under the others, no goodbye.
    const dead = nodes[3];
    dead.faults.crash();
    const rest = nodes.slice(0, 3);
    await waitFor(() => rest.every((n) => n.history.some((c) => c.to === 'RECOVERING')), 'the others went RECOVERING');
    await waitFor(() => rest.every((n) => n.state === 'READY' && n.peers.length === 2), 'the others READY again with each other');
    for (const [i, n] of rest.entries()) {
      const transitions = n.history.map((c) => c.to);
      expect(transitions.slice(transitions.indexOf('DEGRADED'))).to.deep.equal(['DEGRADED', 'RECOVERING', 'READY']);
      expect(logs[i].slice(0, 2)).to.deep.equal(['reconnectPeers:start', 'reconnectPeers:ok']);
      expect(n.get('k')?.value, 'acknowledged data kept').to.equal('before');
    }
  });

  it('a silent peer (links open, nothing said) is dropped after 3 missed heartbeats and the rest recover', async () => {
    const nodes = await cluster(3);
    nodes[2].faults.silence(true);
    const rest = nodes.slice(0, 2);
    await waitFor(() => rest.every((n) => !n.peers.some((p) => p.nodeId === nodes[2].nodeId)), 'silent peer dropped');
    await waitFor(() => rest.every((n) => n.state === 'READY' && n.peers.length === 1), 'the rest READY');
    for (const n of rest) expect(n.history.map((c) => c.to)).to.include('RECOVERING');
  });

  it('a corrupted weight cache: the ladder climbs in order to resetMathEngine, which fixes it', async () => {
    const [a, b] = await cluster(2);
    const log = recorder(a);
    for await (const t of a.generate('x', { model: 'kpc-tiny', maxTokens: 2 })) void t;
    expect(a.faults.corruptWeightCache()).to.be.a('string');
    await waitFor(() => log.includes('resetMathEngine:ok') && a.state === 'READY', 'recovered by resetMathEngine');
    expect(log).to.deep.equal([
      'reconnectPeers:start',
      'reconnectPeers:ok',
      'resyncState:start',
      'resyncState:ok',
      'resetMathEngine:start',
      'resetMathEngine:ok',
    ]);
    expect(a.history.at(-1)!.cause).to.equal('recovered by resetMathEngine');
    expect(b.state).to.equal('READY');
  });

  it('one of two signaling servers stopped: links keep working and a new node still joins through the other', async () => {
    const extra = (await executeServerCommand('signal-start')) as { id: string; url: string };
    const both = `${signaling},${extra.url}`;
    const id = uniqueCluster('rec2');
    const nodes = [spawn(id, { signaling: both }), spawn(id, { signaling: both })];
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 1), 'two READY nodes');
    await executeServerCommand('signal-stop', { id: extra.id });
    const late = spawn(id, { signaling: both });
    await late.start();
    await waitFor(() => late.state === 'READY' && late.peers.length === 2, 'a late node joined through the remaining server');
    expect(nodes.every((n) => n.state === 'READY')).to.equal(true);
  });

  it('all signaling servers stopped: existing links keep working; a new node waits; a restarted server lets it in', async () => {
    const srv = (await executeServerCommand('signal-start')) as { id: string; url: string };
    const id = uniqueCluster('rec3');
    const nodes = [spawn(id, { signaling: srv.url }), spawn(id, { signaling: srv.url })];
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 1), 'two READY nodes');
    await executeServerCommand('signal-stop', { id: srv.id });
    const got: string[] = [];
    nodes[1].addEventListener('message', (ev) => got.push(new TextDecoder().decode((ev as CustomEvent<{ body: Uint8Array }>).detail.body)));
    nodes[0].broadcast(new TextEncoder().encode('still here'));
    await waitFor(() => got.includes('still here'), 'a message over the existing link');
    expect(nodes.every((n) => n.state === 'READY')).to.equal(true);
    // Restart a server on the same port: the nodes' signaling reconnects with back-off.
    const port = Number(new URL(srv.url).port);
    const again = (await executeServerCommand('signal-start', { port })) as { id: string; url: string };
    const late = spawn(id, { signaling: again.url });
    await late.start();
    await waitFor(() => late.state === 'READY' && late.peers.length === 2, 'a late node joined after the restart', 30_000);
    await executeServerCommand('signal-stop', { id: again.id });
  });

  it('the browser going offline and online: OFFLINE, then a new lifecycle back to READY, data kept', async () => {
    const [a, b] = await cluster(2);
    await a.put('kept', 1);
    window.dispatchEvent(new Event('offline'));
    await waitFor(() => a.state === 'OFFLINE' && b.state === 'OFFLINE', 'both OFFLINE');
    window.dispatchEvent(new Event('online'));
    await waitFor(() => a.state === 'READY' && b.state === 'READY' && a.peers.length === 1, 'both READY again');
    expect(a.get('kept')?.value).to.equal(1);
    expect(a.history.filter((c) => c.to === 'BOOTSTRAP' || c.from === 'BOOTSTRAP').length).to.be.greaterThan(1);
  });
});
