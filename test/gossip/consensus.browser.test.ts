import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { MODEL_PRESETS } from '../../src/infer/index.js';
import { PiNode } from '../../src/node.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

/** A node that stays linked and READY but takes no part in consensus (its engine is closed). */
function silence(node: PiNode): void {
  (node as unknown as { net: { consensus: { close(): void } } }).net.consensus.close();
}

describe('consensus over real WebRTC (spec §5.2)', function () {
  this.timeout(90_000);
  let signaling: string;
  let nodes: PiNode[] = [];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });

  beforeEach(async () => {
    const cluster = uniqueCluster('cons');
    nodes = [0, 1, 2, 3].map(
      () => testNode(cluster, signaling, { consensusTimeoutMs: 3_000 }),
    );
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 3 && n.peers.every((p) => p.state === 'READY')), 'four READY nodes that see each other READY');
  });

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('commits the cluster model spec with 4 of 4 votes, on every node, into the replicated state', async () => {
    const spec = MODEL_PRESETS['kpc-tiny'];
    const decision = await nodes[0].propose('model-spec', spec as never);
    expect(decision.status).to.equal('executed');
    expect(decision.members).to.have.length(4);
    await waitFor(() => nodes.every((n) => n.decisions.length === 1 && n.get('cluster/model') !== undefined), 'decision everywhere');
    for (const n of nodes) {
      expect(n.decisions[0].id).to.equal(decision.id);
      expect(n.get('cluster/model')!.value).to.deep.equal(spec);
    }
  });

  it('commits with 3 of 4 nodes voting', async () => {
    silence(nodes[3]);
    const decision = await nodes[1].propose('model-spec', MODEL_PRESETS['kpc-tiny'] as never);
    expect(decision.status).to.equal('executed');
    await waitFor(() => nodes.slice(0, 3).every((n) => n.decisions.length === 1), 'decision on the three voters');
  });

  it('does not commit with 2 of 4 nodes voting', async () => {
    silence(nodes[2]);
    silence(nodes[3]);
    let error: unknown;
    try {
      await nodes[0].propose('model-spec', MODEL_PRESETS['kpc-tiny'] as never);
    } catch (err) {
      error = err;
    }
    expect(isKpcError(error, 'CONSENSUS_TIMEOUT'), String(error)).to.equal(true);
    expect(nodes[0].decisions).to.have.length(0);
    expect(nodes[1].decisions).to.have.length(0);
    expect(nodes[0].get('cluster/model')).to.equal(undefined);
  });

  it('an invalid payload is voted down, not executed', async () => {
    let error: unknown;
    try {
      await nodes[0].propose('model-spec', { format: 'not-a-model' });
    } catch (err) {
      error = err;
    }
    expect(isKpcError(error), String(error)).to.equal(true);
    expect(nodes.every((n) => n.get('cluster/model') === undefined)).to.equal(true);
  });

  it('writing an eviction key without a decision evicts nobody', async () => {
    const victim = nodes[3];
    await nodes[0].put(`cluster/evicted/${victim.nodeId}`, { reason: 'forged' });
    await waitFor(() => nodes.every((n) => n.get(`cluster/evicted/${victim.nodeId}`) !== undefined), 'the key replicated');
    // Links stay: only a committed consensus decision carries authority.
    nodes[0].faults.cutLink(victim.nodeId!);
    await waitFor(() => nodes[0].peers.some((p) => p.nodeId === victim.nodeId), 'the link re-formed', 30_000);
    expect(nodes.slice(0, 3).every((n) => n.peers.some((p) => p.nodeId === victim.nodeId))).to.equal(true);
  });

  it('evicting a node: every other node drops it and refuses it', async () => {
    const victim = nodes[3];
    const decision = await nodes[0].propose('evict', { nodeId: victim.nodeId!, reason: 'test' });
    expect(decision.status).to.equal('executed');
    const rest = nodes.slice(0, 3);
    await waitFor(() => rest.every((n) => !n.peers.some((p) => p.nodeId === victim.nodeId)), 'victim dropped everywhere');
    expect(rest.every((n) => n.get(`cluster/evicted/${victim.nodeId}`) !== undefined)).to.equal(true);
  });
});
