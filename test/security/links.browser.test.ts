import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { type Identity } from '../../src/crypto/index.js';
import type { KpcError } from '../../src/errors.js';
import { PiNode } from '../../src/node.js';
import { MessageType, encodeEnvelope } from '../../src/protocol/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

type Entry = { link: { send(b: Uint8Array): void }; auth: { keys: { send: Uint8Array } } };
type Internals = { identityValue: Identity; net: { mesh: { peersById: Map<string, Entry> } } };
const internals = (n: PiNode) => n as unknown as Internals;

describe('links: replay protection and per-peer rate limits (spec §8.1 DoS)', function () {
  this.timeout(60_000);
  let signaling: string;
  let nodes: PiNode[];
  let codes: string[];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });
  beforeEach(async () => {
    const cluster = uniqueCluster('links');
    // Node 1 allows 50 messages/s, bursts of 100: a test page can outpace that, not the default.
    nodes = [0, 1, 2].map(
      (i) => testNode(cluster, signaling, i === 1 ? { linkRate: { perSecond: 50, burst: 100 } } : {}),
    );
    codes = [];
    nodes[1].addEventListener('reject', (ev) => codes.push((ev as CustomEvent<{ error: KpcError }>).detail.error.code));
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three READY nodes');
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('a replayed envelope from a linked peer is dropped', async () => {
    const [a, b] = nodes;
    // Record what a really sends b (tagged with their link key), then send one of those frames again.
    const link = internals(a).net.mesh.peersById.get(b.nodeId!)!.link;
    const sent: Uint8Array[] = [];
    const send = link.send.bind(link);
    link.send = (bytes) => {
      sent.push(Uint8Array.from(bytes));
      send(bytes);
    };
    const got: number[] = [];
    b.addEventListener('message', (ev) => got.push((ev as CustomEvent<{ body: Uint8Array }>).detail.body[0]));
    a.send(b.nodeId!, new Uint8Array([7]));
    await waitFor(() => got.includes(7), 'the original delivered');
    const original = sent.find((bytes) => bytes[3] === MessageType.APP)!;
    a.send(b.nodeId!, new Uint8Array([8]));
    await waitFor(() => got.includes(8), 'a later message delivered');
    send(original);
    await waitFor(() => codes.includes('PROTO_REPLAY'), 'a replay rejection');
    expect(got.filter((x) => x === 7)).to.have.length(1);
    expect(b.peers.map((p) => p.nodeId)).to.include(a.nodeId);
  });

  it('a flooding peer is throttled, then cut off and refused, while the others keep exchanging', async () => {
    const [a, b, c] = nodes;
    const id = internals(a).identityValue;
    const { link, auth } = internals(a).net.mesh.peersById.get(b.nodeId!)!;
    // Valid, correctly tagged, ever-increasing envelopes: only the rate is wrong.
    const flood = Array.from({ length: 1_500 }, (_, i) =>
      encodeEnvelope(id, { type: MessageType.APP, seq: 1_000_000 + i, timestamp: Date.now(), body: new Uint8Array([1]) }, { macKey: auth.keys.send }),
    );
    for (const env of flood) link.send(env);
    await waitFor(() => codes.includes('MESH_RATE_LIMITED'), 'throttled');
    await waitFor(() => !b.peers.some((p) => p.nodeId === a.nodeId), 'the flooder cut off');
    const got: string[] = [];
    b.addEventListener('message', (ev) => got.push((ev as CustomEvent<{ from: string }>).detail.from));
    c.send(b.nodeId!, new Uint8Array([9]));
    await waitFor(() => got.includes(c.nodeId!), 'the honest peer still gets through');
    // Refused for a while: the flooder does not get its link back.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(b.peers.some((p) => p.nodeId === a.nodeId)).to.equal(false);
  });
});
