import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { generateIdentity } from '../../src/crypto/index.js';
import { DATA_CHANNEL_CONFIG } from '../../src/mesh/index.js';
import { PiNode } from '../../src/node.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { TEST_ADMISSION } from '../helpers/admission.js';

describe('mesh over real WebRTC and a real signaling server', function () {
  this.timeout(60_000);
  let signaling: string;
  const running: PiNode[] = [];

  const spawn = (clusterId: string, url = signaling, extra: Partial<ConstructorParameters<typeof PiNode>[0]> = {}) => {
    const node = new PiNode({ admission: TEST_ADMISSION, clusterId, signaling: url, identity: generateIdentity(), ...extra });
    running.push(node);
    return node;
  };

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  it('four nodes in one page reach READY with ≥ 3 peers each, and every link carries messages both ways', async () => {
    const cluster = uniqueCluster();
    const nodes = [0, 1, 2, 3].map(() => spawn(cluster));
    const received = new Map<string, Set<string>>();
    for (const n of nodes) {
      n.addEventListener('message', (ev) => {
        const { from, body } = (ev as CustomEvent<{ from: string; body: Uint8Array }>).detail;
        expect(new TextDecoder().decode(body)).to.equal(`hello ${n.nodeId} from ${from}`);
        received.set(`${from}→${n.nodeId}`, new Set());
      });
    }
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length >= 3), 'four READY nodes with 3 peers');

    for (const n of nodes) {
      for (const p of n.peers) n.send(p.nodeId, new TextEncoder().encode(`hello ${p.nodeId} from ${n.nodeId}`));
    }
    const pairs = nodes.flatMap((a) => nodes.filter((b) => b !== a).map((b) => `${a.nodeId}→${b.nodeId}`));
    await waitFor(() => pairs.every((p) => received.has(p)), 'a message on every directed link');
    expect(received.size).to.equal(12);

    for (const n of nodes) {
      for (const p of n.peers) {
        const info = n.channelInfo(p.nodeId);
        expect(info, 'live channel').to.not.equal(null);
        expect(info!.ordered).to.equal(DATA_CHANNEL_CONFIG.ordered);
        expect(info!.maxRetransmits).to.equal(3);
      }
    }
  });

  it('walks BOOTSTRAP → DISCOVERING → CONNECTING → SYNCING → READY, each step an event with a cause', async () => {
    const cluster = uniqueCluster();
    const [a, b] = [spawn(cluster), spawn(cluster)];
    const seen: string[] = [];
    b.addEventListener('statechange', (ev) => {
      const c = (ev as CustomEvent<{ from: string; to: string; at: number; cause: string }>).detail;
      expect(c.cause).to.be.a('string').and.not.equal('');
      expect(c.at).to.be.a('number');
      seen.push(`${c.from}→${c.to}`);
    });
    await a.start();
    await a.whenState('READY');
    await b.start();
    await b.whenState('READY');
    expect(seen).to.deep.equal(['BOOTSTRAP→DISCOVERING', 'DISCOVERING→CONNECTING', 'CONNECTING→SYNCING', 'SYNCING→READY']);
    await b.stop();
    expect(b.state).to.equal('OFFLINE');
  });

  it('a lone node becomes READY as a cluster of one, and later nodes link to it', async () => {
    const cluster = uniqueCluster();
    const lone = spawn(cluster, signaling, { discoveryWindowMs: 200 });
    await lone.start();
    await lone.whenState('READY');
    expect(lone.history.at(-1)!.cause).to.equal('alone in the cluster');
    const late = spawn(cluster);
    await late.start();
    await waitFor(() => late.state === 'READY' && lone.peers.length === 1, 'late node linked to the lone one');
  });

  it('a node in an iframe joins the cluster of this page', async () => {
    const cluster = uniqueCluster();
    const local = [spawn(cluster), spawn(cluster)];
    await Promise.all(local.map((n) => n.start()));
    let frameState: { nodeId?: string; state?: string; peers?: string[] } = {};
    const onMsg = (ev: MessageEvent) => {
      if (ev.data?.kind === 'kpc-frame') frameState = ev.data;
    };
    window.addEventListener('message', onMsg);
    const frame = document.createElement('iframe');
    frame.src = `/test/fixtures/node-frame.html?cluster=${cluster}&signaling=${encodeURIComponent(signaling)}&slot=${cluster}`;
    document.body.append(frame);
    try {
      await waitFor(() => frameState.state === 'READY' && frameState.peers?.length === 2, 'iframe node READY with both page nodes');
      await waitFor(() => local.every((n) => n.peers.some((p) => p.nodeId === frameState.nodeId)), 'page nodes linked to the iframe node');
    } finally {
      window.removeEventListener('message', onMsg);
      frame.remove();
    }
    // The iframe's node is gone with its document: its links close and the page's nodes notice.
    await waitFor(() => local.every((n) => n.peers.length === 1), 'links to the removed iframe closed');
  });

  it('nodes meet through the plain y-webrtc signaling server', async () => {
    const { id, url } = (await executeServerCommand('ywebrtc-start')) as { id: string; url: string };
    try {
      const cluster = uniqueCluster();
      const nodes = [0, 1, 2].map(() => spawn(cluster, url));
      await Promise.all(nodes.map((n) => n.start()));
      await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three nodes meshed via y-webrtc');
    } finally {
      await Promise.all(running.splice(0).map((n) => n.stop()));
      await executeServerCommand('signal-stop', { id });
    }
  });

  it('a node keeps its identity across a restart in the same origin', async () => {
    const slot = uniqueCluster('slot');
    const cluster = uniqueCluster();
    const first = new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identitySlot: slot, discoveryWindowMs: 100 });
    await first.start();
    const id = first.nodeId;
    await first.stop();
    const again = new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identitySlot: slot, discoveryWindowMs: 100 });
    running.push(again);
    await again.start();
    expect(again.nodeId).to.be.a('string').with.length(32);
    expect(again.nodeId).to.equal(id);
    const other = new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identitySlot: `${slot}-other`, discoveryWindowMs: 100 });
    running.push(other);
    await other.start();
    expect(other.nodeId).to.not.equal(id);
  });

  it('two nodes asking for one identity slot at once get distinct identities', async () => {
    const slot = uniqueCluster('shared-slot');
    const cluster = uniqueCluster();
    const [a, b] = [0, 1].map(() => new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identitySlot: slot }));
    running.push(a, b);
    await Promise.all([a.start(), b.start()]);
    expect(a.nodeId).to.not.equal(b.nodeId);
    expect([a.identitySlot, b.identitySlot].sort()).to.deep.equal([slot, `${slot}-2`]);
    await waitFor(() => a.state === 'READY' && b.state === 'READY' && a.peers.length === 1, 'the two linked');
    // Once the holder of the asked-for slot lets go, a new node gets that identity back.
    const holder = a.identitySlot === slot ? a : b;
    const firstId = holder.nodeId;
    await holder.stop();
    const c = new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identitySlot: slot });
    running.push(c);
    await c.start();
    expect(c.nodeId).to.equal(firstId);
  });

  it('stop() and start() again begins a new lifecycle that reaches READY', async () => {
    const cluster = uniqueCluster();
    const [a, b] = [spawn(cluster), spawn(cluster)];
    await Promise.all([a.start(), b.start()]);
    await waitFor(() => a.state === 'READY' && b.state === 'READY', 'both READY');
    await b.stop();
    await b.start();
    await waitFor(() => b.state === 'READY' && b.peers.length === 1, 'restarted node READY and linked');
    expect(b.history.filter((c) => c.to === 'OFFLINE')).to.have.length(1);
  });
});
