import { expect } from 'chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { fromBase64, generateIdentity, sign, toBase64, type Identity } from '../../src/crypto/index.js';
import { signalingAdmitMessage } from '../../src/mesh/signaling.js';
import { PiNode } from '../../src/node.js';
import { encodePowProof, epochOf, solveProof, DEFAULT_EPOCH_MS } from '../../src/pow/index.js';
import { MessageType, encodeEnvelope, envelopeToText } from '../../src/protocol/index.js';
import { TEST_ADMISSION } from '../helpers/admission.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

type Frame = { type: string; code?: string; message?: string; nonce?: string; topic?: string };

/** A raw client of the server, as a hostile page would open one, keeping every frame it gets. */
async function rawClient(url: string): Promise<{ ws: WebSocket; frames: Frame[] }> {
  const ws = new WebSocket(url);
  const frames: Frame[] = [];
  ws.onmessage = (ev) => frames.push(JSON.parse(String(ev.data)) as Frame);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  return { ws, frames };
}

describe('our signaling server asks for proof-of-π before relaying (spec §8.1)', function () {
  this.timeout(60_000);
  let server: { id: string; url: string };
  let cluster: string;
  let nodes: PiNode[];

  const proofFor = async (publicKey: Uint8Array, epoch = epochOf(Date.now(), DEFAULT_EPOCH_MS), clusterId = cluster) =>
    toBase64(encodePowProof(await solveProof({ publicKey, clusterId, epoch, difficulty: TEST_ADMISSION.difficulty })));

  /** Answers the connection's challenge as `who`, showing `proof`; resolves with the server's answer frame. */
  async function admit(c: { ws: WebSocket; frames: Frame[] }, who: Identity, proof: string): Promise<Frame> {
    await waitFor(() => c.frames.some((f) => f.type === 'kpc-challenge'), 'the challenge');
    const nonce = fromBase64(c.frames.find((f) => f.type === 'kpc-challenge')!.nonce!);
    const n = c.frames.length;
    const sig = sign(who, signalingAdmitMessage(nonce, server.url));
    c.ws.send(JSON.stringify({ type: 'kpc-admit', key: toBase64(who.publicKey), proof, sig: toBase64(sig), url: server.url }));
    await waitFor(() => c.frames.slice(n).some((f) => f.type === 'kpc-admitted' || f.type === 'error'), 'the server answers the admit');
    return c.frames.slice(n).find((f) => f.type === 'kpc-admitted' || f.type === 'error')!;
  }

  before(async () => {
    server = (await executeServerCommand('signal-start', { admission: { difficulty: TEST_ADMISSION.difficulty } })) as { id: string; url: string };
    cluster = uniqueCluster('srv-pow');
    nodes = [0, 1, 2].map(() => testNode(cluster, server.url));
    await Promise.all(nodes.map((n) => n.start()));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await executeServerCommand('signal-stop', { id: server.id });
  });

  it('admitted nodes answer its challenge and form their mesh through it', async () => {
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three linked nodes');
  });

  it('refuses to relay for a connection without a proof, and the nodes see none of it', async () => {
    const c = await rawClient(server.url);
    const mallory = generateIdentity();
    const env = encodeEnvelope(mallory, { type: MessageType.ANNOUNCE, seq: 1, timestamp: Date.now(), body: { clusterId: cluster, state: 'READY' } });
    const seen: string[] = [];
    nodes[0].addEventListener('reject', (ev) => seen.push((ev as CustomEvent<{ error: { code: string } }>).detail.error.code));
    c.ws.send(JSON.stringify({ type: 'subscribe', topics: [`kpc/v1/${cluster}`] }));
    c.ws.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}`, data: envelopeToText(env) }));
    await waitFor(() => c.frames.some((f) => f.type === 'error'), 'an error frame');
    expect(c.frames.find((f) => f.type === 'error')!.code).to.equal('not-admitted');
    // What is not relayed never reaches a node: no rejection there, no new member.
    expect(seen).to.deep.equal([]);
    expect(nodes[0].peers).to.have.length(2);
    // Unadmitted, it gets nothing either: the nodes' own announces are not delivered to it.
    expect(c.frames.filter((f) => f.type === 'publish')).to.deep.equal([]);
    c.ws.close();
  });

  it('refuses a proof for another key, for another cluster, an expired one, and a signature over another server', async () => {
    const mallory = generateIdentity();
    const other = generateIdentity();
    const wrongKey = await admit(await rawClient(server.url), mallory, await proofFor(other.publicKey));
    expect([wrongKey.type, wrongKey.code]).to.deep.equal(['error', 'admit-failed']);
    expect(wrongKey.message).to.contain('POW_WRONG_KEY');
    const expired = await admit(await rawClient(server.url), mallory, await proofFor(mallory.publicKey, epochOf(Date.now(), DEFAULT_EPOCH_MS) - 5));
    expect(expired.message).to.contain('POW_EXPIRED');
    // A proof for another cluster admits only to that cluster: publishing here is refused.
    const c = await rawClient(server.url);
    const elsewhere = await admit(c, mallory, await proofFor(mallory.publicKey, undefined, 'another-cluster'));
    expect(elsewhere.type).to.equal('kpc-admitted');
    const n = c.frames.length;
    c.ws.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}`, data: 'x' }));
    await waitFor(() => c.frames.slice(n).some((f) => f.type === 'error'), 'an error frame');
    expect(c.frames.slice(n).find((f) => f.type === 'error')!.code).to.equal('wrong-cluster');
  });

  it('a valid proof admits a raw client too: what it publishes is relayed', async () => {
    const c = await rawClient(server.url);
    const mallory = generateIdentity();
    const answer = await admit(c, mallory, await proofFor(mallory.publicKey));
    expect(answer.type).to.equal('kpc-admitted');
    c.ws.send(JSON.stringify({ type: 'subscribe', topics: [`kpc/v1/${cluster}`] }));
    // OFFLINE: a member that leaves at once, so the nodes' links stay as they are.
    const env = encodeEnvelope(mallory, { type: MessageType.ANNOUNCE, seq: 1, timestamp: Date.now(), body: { clusterId: cluster, state: 'OFFLINE' } });
    c.ws.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}`, data: envelopeToText(env) }));
    await waitFor(() => c.frames.some((f) => f.type === 'publish'), 'the relay, back to the admitted client as to every subscriber');
    expect(c.frames.filter((f) => f.type === 'error')).to.deep.equal([]);
    c.ws.close();
  });
});
