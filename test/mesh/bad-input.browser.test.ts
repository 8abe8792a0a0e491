import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { KpcError } from '../../src/errors.js';
import { PiNode } from '../../src/node.js';
import { MessageType, encodeEnvelope, envelopeToText, type Message } from '../../src/protocol/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';

interface Rejection {
  error: KpcError;
  source: string;
  from?: string;
}

/** A raw y-webrtc client: what a hostile or broken participant on the signaling server can send. */
async function rawClient(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return ws;
}

describe('a node under bad input drops it with a typed error and keeps its links', function () {
  this.timeout(60_000);
  let signaling: string;
  let cluster: string;
  let nodes: PiNode[];
  let target: PiNode;
  let rejections: Rejection[];
  let attacker: WebSocket;
  let mallory: Identity;
  let seq = 0;

  const directTopic = () => `kpc/v1/${cluster}/${target.nodeId}`;
  const clusterTopic = () => `kpc/v1/${cluster}`;
  const publish = (topic: string, data: unknown) => attacker.send(JSON.stringify({ type: 'publish', topic, data }));
  const envelope = (who: Identity, msg: Omit<Message, 'seq' | 'timestamp'>) =>
    encodeEnvelope(who, { ...msg, seq: ++seq, timestamp: Date.now() } as Message);

  /** Sends one bad input, waits for the rejection it must cause, and checks nothing moved. */
  async function expectRejected(send: () => void, code: string): Promise<void> {
    const before = { state: target.state, peers: target.peers.map((p) => p.nodeId).join() };
    const count = rejections.length;
    send();
    await waitFor(() => rejections.length > count, `a rejection with ${code}`);
    expect(rejections[count].error.code).to.equal(code);
    expect(rejections[count].error.name).to.equal('KpcError');
    expect(target.state).to.equal(before.state);
    expect(target.peers.map((p) => p.nodeId).join()).to.equal(before.peers);
  }

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
    cluster = uniqueCluster('bad');
    // Admission off: this suite feeds unadmitted identities to the checks behind it
    // (admission itself: test/security/admission.browser.test.ts).
    nodes = [0, 1, 2].map(() => new PiNode({ admission: false, clusterId: cluster, signaling, identity: generateIdentity() }));
    target = nodes[0];
    rejections = [];
    target.addEventListener('reject', (ev) => rejections.push((ev as CustomEvent<Rejection>).detail));
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three READY nodes');
    attacker = await rawClient(signaling);
    mallory = generateIdentity();
  });

  after(async () => {
    attacker?.close();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  it('a payload that is not an envelope', async () => {
    await expectRejected(() => publish(directTopic(), { not: 'a string' }), 'PROTO_MALFORMED');
    await expectRejected(() => publish(directTopic(), '***not base64***'), 'PROTO_MALFORMED');
  });

  it('an envelope with a flipped body byte, or a signature byte', async () => {
    const good = envelope(mallory, { type: MessageType.ANNOUNCE, body: { clusterId: cluster, state: 'READY' } });
    const body = good.slice();
    body[60] ^= 0x01;
    await expectRejected(() => publish(clusterTopic(), envelopeToText(body)), 'PROTO_BAD_SIGNATURE');
    const sig = good.slice();
    sig[sig.length - 1] ^= 0x80;
    await expectRejected(() => publish(clusterTopic(), envelopeToText(sig)), 'PROTO_BAD_SIGNATURE');
  });

  it('another key’s signature over a peer’s public key', async () => {
    const victim = nodes[1];
    const forged = envelope(mallory, { type: MessageType.ANNOUNCE, body: { clusterId: cluster, state: 'OFFLINE' } });
    // Claim to be node 1: put its public key in `from`, keep Mallory's signature.
    const pk = (victim as unknown as { identityValue: Identity }).identityValue.publicKey;
    forged.set(pk, 4);
    await expectRejected(() => publish(clusterTopic(), envelopeToText(forged)), 'PROTO_BAD_SIGNATURE');
    expect(target.peers.find((p) => p.nodeId === victim.nodeId)?.state).to.not.equal('OFFLINE');
  });

  it('an unknown message type', async () => {
    const good = envelope(mallory, { type: MessageType.ANNOUNCE, body: { clusterId: cluster, state: 'READY' } });
    const bad = good.slice();
    bad[3] = 0x7e;
    await expectRejected(() => publish(clusterTopic(), envelopeToText(bad)), 'PROTO_UNKNOWN_TYPE');
  });

  it('a message type that does not belong on signaling', async () => {
    const app = envelope(mallory, { type: MessageType.APP, body: new Uint8Array([1, 2, 3]) });
    await expectRejected(() => publish(directTopic(), envelopeToText(app)), 'PROTO_UNKNOWN_TYPE');
  });

  it('a signal on the wrong topic, or addressed to another node', async () => {
    const offer = { session: 'feedfacefeedface', data: { type: 'offer', sdp: 'v=0' } };
    const onCluster = envelope(mallory, { type: MessageType.SIGNAL, body: { to: target.nodeId!, signal: offer } });
    await expectRejected(() => publish(clusterTopic(), envelopeToText(onCluster)), 'MESH_WRONG_TOPIC');
    const elsewhere = envelope(mallory, { type: MessageType.SIGNAL, body: { to: nodes[2].nodeId!, signal: offer } });
    await expectRejected(() => publish(directTopic(), envelopeToText(elsewhere)), 'MESH_WRONG_TOPIC');
  });

  it('a signal for a connection attempt the node never made', async () => {
    const answer = { session: '0123456789abcdef', data: { type: 'answer', sdp: 'v=0' } };
    const env = envelope(mallory, { type: MessageType.SIGNAL, body: { to: target.nodeId!, signal: answer } });
    await expectRejected(() => publish(directTopic(), envelopeToText(env)), 'MESH_SIGNAL_UNKNOWN_PEER');
  });

  it('an announce for another cluster', async () => {
    const env = envelope(mallory, { type: MessageType.ANNOUNCE, body: { clusterId: 'someone-else', state: 'READY' } });
    await expectRejected(() => publish(directTopic(), envelopeToText(env)), 'MESH_WRONG_TOPIC');
  });

  it('garbage, signed, mistagged and foreign envelopes on an authenticated data channel', async () => {
    const peer = nodes[1];
    // Reach the link the way a compromised peer would: send raw bytes down its data channel.
    type Entry = { link: { send(b: Uint8Array): void }; auth: { keys: { send: Uint8Array } } };
    const internals = peer as unknown as { identityValue: Identity; net: { mesh: { peersById: Map<string, Entry> } } };
    const entry = internals.net.mesh.peersById.get(target.nodeId!)!;
    const { link } = entry;
    const macKey = entry.auth.keys.send;
    const app = { type: MessageType.APP, body: new Uint8Array([9]) } as const;
    await expectRejected(() => link.send(new Uint8Array([1, 2, 3, 4])), 'PROTO_MALFORMED');
    // After the handshake only HMAC-tagged envelopes count, even ones the peer signed itself.
    await expectRejected(() => link.send(envelope(internals.identityValue, app)), 'PROTO_BAD_MAC');
    const mistagged = encodeEnvelope(internals.identityValue, { ...app, seq: 4_000_000_000, timestamp: Date.now() }, { macKey });
    mistagged[mistagged.length - 1] ^= 1;
    await expectRejected(() => link.send(mistagged), 'PROTO_BAD_MAC');
    // The peer holds the link key, so it can tag a frame in another's name: the sender check refuses it.
    const foreign = encodeEnvelope(mallory, { ...app, seq: 4_000_000_001, timestamp: Date.now() }, { macKey });
    await expectRejected(() => link.send(foreign), 'PROTO_WRONG_SENDER');
  });

  it('after all of it, every link still carries messages', async () => {
    const got = new Set<string>();
    target.addEventListener('message', (ev) => got.add((ev as CustomEvent<{ from: string }>).detail.from));
    nodes[1].send(target.nodeId!, new Uint8Array([1]));
    nodes[2].send(target.nodeId!, new Uint8Array([2]));
    await waitFor(() => got.size === 2, 'messages from both peers');
    expect(target.state).to.equal('READY');
  });
});
