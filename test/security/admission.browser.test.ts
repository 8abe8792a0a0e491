import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { generateIdentity, toBase64, type Identity } from '../../src/crypto/index.js';
import type { KpcError } from '../../src/errors.js';
import { PiNode } from '../../src/node.js';
import { encodePowProof, epochOf, solveProof } from '../../src/pow/index.js';
import { MessageType, encodeEnvelope, envelopeToText } from '../../src/protocol/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { testNode } from '../helpers/nodes.js';

const ADMISSION = { difficulty: 8, epochMs: 3_600_000 };

describe('proof-of-π admission (spec §8.1 Sybil) over real WebRTC', function () {
  this.timeout(60_000);
  let signaling: string;
  let cluster: string;
  let nodes: PiNode[];
  let rejections: { code: string; from?: string }[];
  let raw: WebSocket;

  const announce = async (who: Identity, proof?: string) => {
    const env = encodeEnvelope(who, {
      type: MessageType.ANNOUNCE,
      seq: 1,
      timestamp: Date.now(),
      body: { clusterId: cluster, state: 'READY', ...(proof ? { proof } : {}) },
    });
    raw.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}`, data: envelopeToText(env) }));
  };
  const proofFor = async (publicKey: Uint8Array, epoch = epochOf(Date.now(), ADMISSION.epochMs), clusterId = cluster) =>
    toBase64(encodePowProof(await solveProof({ publicKey, clusterId, epoch, difficulty: ADMISSION.difficulty })));

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
    cluster = uniqueCluster('pow');
    nodes = [0, 1, 2].map(() => testNode(cluster, signaling, { admission: ADMISSION }));
    rejections = [];
    nodes[0].addEventListener('reject', (ev) => {
      const d = (ev as CustomEvent<{ error: KpcError; from?: string }>).detail;
      rejections.push({ code: d.error.code, from: d.from });
    });
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === 2), 'three admitted nodes READY');
    raw = new WebSocket(signaling);
    await new Promise((r) => (raw.onopen = r));
  });
  after(async () => {
    raw?.close();
    await Promise.all(nodes.map((n) => n.stop()));
  });

  /** Sends `who`'s bad input and expects its refusal (input from others, e.g. an earlier test's node, may interleave). */
  async function expectRefused(who: Identity, send: () => Promise<void>, code: string) {
    const n = rejections.length;
    await send();
    const mine = () => rejections.slice(n).filter((r) => r.from === who.nodeId);
    await waitFor(() => mine().length > 0, `a ${code} rejection`);
    expect(mine()[0].code).to.equal(code);
    expect(nodes[0].peers).to.have.length(2);
  }

  it('a node without a proof is refused by every admitted node and never linked', async () => {
    const outsider = testNode(cluster, signaling, { admission: false, discoveryWindowMs: 300 });
    const seen: string[] = [];
    nodes[1].addEventListener('reject', (ev) => seen.push((ev as CustomEvent<{ error: KpcError; from?: string }>).detail.error.code));
    await outsider.start();
    await waitFor(() => seen.includes('POW_INVALID'), 'its announce refused');
    // Alone as far as it can tell; nobody links to it.
    await waitFor(() => outsider.state === 'READY', 'the outsider thinks it is alone');
    expect(outsider.peers).to.have.length(0);
    expect(nodes.every((n) => n.peers.length === 2)).to.equal(true);
    await outsider.stop();
  });

  it('a proof for another key, another cluster, or a long-gone epoch is refused', async () => {
    const mallory = generateIdentity();
    const other = generateIdentity();
    await expectRefused(mallory, async () => announce(mallory, await proofFor(other.publicKey)), 'POW_WRONG_KEY');
    await expectRefused(mallory, async () => announce(mallory, await proofFor(mallory.publicKey, undefined, 'another-cluster')), 'POW_WRONG_CLUSTER');
    const old = epochOf(Date.now(), ADMISSION.epochMs) - 5;
    await expectRefused(mallory, async () => announce(mallory, await proofFor(mallory.publicKey, old)), 'POW_EXPIRED');
  });

  it('a signal from a node that never proved its work is refused', async () => {
    const mallory = generateIdentity();
    const env = encodeEnvelope(mallory, {
      type: MessageType.SIGNAL,
      seq: 2,
      timestamp: Date.now(),
      body: { to: nodes[0].nodeId!, signal: { session: '0011223344556677', data: { type: 'offer', sdp: 'v=0' } } },
    });
    await expectRefused(mallory, async () => raw.send(JSON.stringify({ type: 'publish', topic: `kpc/v1/${cluster}/${nodes[0].nodeId}`, data: envelopeToText(env) })), 'MESH_NOT_ADMITTED');
  });

  it('a valid proof admits: the newcomer links with everyone', async () => {
    const newcomer = testNode(cluster, signaling, { admission: ADMISSION });
    await newcomer.start();
    await waitFor(() => newcomer.state === 'READY' && newcomer.peers.length === 3, 'the newcomer linked to all three');
    await newcomer.stop();
  });
});
