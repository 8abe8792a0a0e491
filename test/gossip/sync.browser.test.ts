import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { type Identity } from '../../src/crypto/index.js';
import { MessageType } from '../../src/protocol/index.js';
import { PiNode } from '../../src/node.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { rawBinary, rawBody, signRaw } from '../sync/helpers.js';
import { testNode } from '../helpers/nodes.js';

const snapshot = (n: PiNode) => JSON.stringify(n.entries().map((e) => [e.key, e.value, e.writer, e.ts]));

describe('cluster state over real WebRTC (spec §5.1)', function () {
  this.timeout(90_000);
  let signaling: string;
  const running: PiNode[] = [];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  const spawn = (cluster: string) => {
    const node = testNode(cluster, signaling);
    running.push(node);
    return node;
  };

  it('four nodes converge after concurrent writes, including to the same keys', async () => {
    const cluster = uniqueCluster();
    const nodes = [0, 1, 2, 3].map(() => spawn(cluster));
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 3), 'four READY nodes');
    await Promise.all(
      nodes.flatMap((n, i) => [
        n.put(`own/${i}`, { from: i }),
        n.put('shared/winner', `node ${i}`),
        n.put(`bytes/${i}`, new Uint8Array([i, i + 1, i + 2])),
      ]),
    );
    // Nine writes here, plus each node's announced model budget (cluster/capacity/<id>).
    await waitFor(() => nodes.every((n) => n.entries().length === 9 + 4), 'every write everywhere');
    await waitFor(() => new Set(nodes.map(snapshot)).size === 1, 'identical state on all four');
    const winner = nodes[0].get('shared/winner')!;
    // Last-writer-wins by (timestamp, writer id): every node picked the same one.
    for (const n of nodes) expect(n.get('shared/winner')).to.deep.include({ value: winner.value, writer: winner.writer });
    expect(nodes[2].get('bytes/1')!.value).to.deep.equal(new Uint8Array([1, 2, 3]));
    expect(nodes[2].get('bytes/1')!.checksum).to.match(/^[0-9a-f]{64}$/);
  });

  it('a node that joins late catches up during SYNCING and only then becomes READY', async () => {
    const cluster = uniqueCluster();
    const early = [0, 1].map(() => spawn(cluster));
    await Promise.all(early.map((n) => n.start()));
    await waitFor(() => early.every((n) => n.state === 'READY'), 'two READY nodes');
    for (let i = 0; i < 20; i++) await early[i % 2].put(`k/${i}`, i);
    const late = spawn(cluster);
    await late.start();
    await late.whenState('READY');
    // READY is reached only after catching up: everything acknowledged before is there.
    expect(late.entries('k/')).to.have.length(20);
    expect(late.history.map((c) => c.to)).to.include('SYNCING');
  });

  it('a node in an iframe is reloaded and comes back with every acknowledged write', async () => {
    const cluster = uniqueCluster();
    const local = spawn(cluster);
    await local.start();
    let last: { state?: string; keys?: string[]; nodeId?: string } = {};
    const acked = new Set<string>();
    const onMsg = (ev: MessageEvent) => {
      if (ev.data?.kind !== 'kpc-sync-frame') return;
      if (ev.data.event === 'acked') acked.add(ev.data.key);
      else last = ev.data;
    };
    window.addEventListener('message', onMsg);
    const frame = document.createElement('iframe');
    frame.src = `/test/fixtures/sync-frame.html?cluster=${cluster}&signaling=${encodeURIComponent(signaling)}&slot=${cluster}`;
    document.body.append(frame);
    try {
      await waitFor(() => last.state === 'READY', 'iframe node READY');
      const firstId = last.nodeId;
      for (let i = 0; i < 5; i++) frame.contentWindow!.postMessage({ kind: 'kpc-sync-cmd', key: `t/${i}`, value: `v${i}` }, '*');
      await waitFor(() => acked.size === 5, 'five writes acknowledged by the iframe node');
      // Reload right after the acks: whatever was acknowledged must survive, whether or not gossip got it out.
      last = {};
      frame.contentWindow!.location.reload();
      await waitFor(() => last.state === 'READY', 'iframe node READY again after reload');
      expect(last.nodeId, 'same identity').to.equal(firstId);
      await waitFor(() => (last.keys ?? []).length === 5, 'all acknowledged writes back');
      await waitFor(() => local.entries('t/').length === 5, 'and gossiped to the page node');
    } finally {
      window.removeEventListener('message', onMsg);
      frame.remove();
    }
  });

  it('a delta with a bad checksum is refused, nothing applied, and the sender is penalised', async () => {
    const cluster = uniqueCluster();
    const [a, b] = [spawn(cluster), spawn(cluster)];
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.state === 'READY' && b.state === 'READY' && a.peers.length === 1, 'a linked pair');
    // Each node announces its model budget on READY: a's next delta comes after that one.
    await waitFor(() => b.entries('cluster/capacity/').length === 2, 'both budgets announced');
    const rejected: string[] = [];
    b.addEventListener('reject', (ev) => rejected.push((ev as CustomEvent<{ error: { code: string } }>).detail.error.code));
    // A delta correctly signed by node a, whose binary write carries a wrong checksum.
    const id = (a as unknown as { identityValue: Identity }).identityValue;
    const seq = (b.versionVector()[a.nodeId!] ?? 0) + 1;
    const bad = signRaw(id, rawBody(id.publicKey, seq, [{ ...rawBinary('evil', new Uint8Array([1, 2, 3])), checksum: new Uint8Array(32) }]));
    const framed = new Uint8Array(4 + bad.length);
    new DataView(framed.buffer).setUint32(0, bad.length);
    framed.set(bad, 4);
    (a as unknown as { net: { mesh: { sendMessage(n: string, m: object): boolean } } }).net.mesh.sendMessage(b.nodeId!, { type: MessageType.SYNC_DELTAS, body: framed });
    await waitFor(() => rejected.length > 0, 'a rejection');
    expect(rejected[0]).to.equal('SYNC_BAD_CHECKSUM');
    expect(b.get('evil')).to.equal(undefined);
    expect(b.peers.map((p) => p.nodeId)).to.include(a.nodeId);
  });
});
