import { expect } from 'chai';
import { executeServerCommand } from '@web/test-runner-commands';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { KpcError } from '../../src/errors.js';
import type { Link, LinkFactory } from '../../src/mesh/link.js';
import { WebRtcLinkFactory } from '../../src/mesh/webrtc-link.js';
import { PiNode } from '../../src/node.js';
import { MessageType, decodeEnvelope, encodeEnvelope, type HandshakeBody } from '../../src/protocol/index.js';
import { MemoryStorage } from '../../src/sync/index.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { TEST_ADMISSION } from '../helpers/admission.js';
import { testNode } from '../helpers/nodes.js';

/** Rewrites the signed HANDSHAKE a node sends (everything else passes through unchanged). */
type Forge = (handshake: { body: HandshakeBody; seq: number; timestamp: number }, self: Identity) => Uint8Array;

/** WebRTC links whose outgoing handshake goes through `forge`: a peer running modified code. */
function tamperingLinks(forge: Forge, self: Identity): LinkFactory {
  const real = new WebRtcLinkFactory();
  return {
    create(remoteId: string, initiator: boolean): Link {
      const link = real.create(remoteId, initiator);
      const send = link.send.bind(link);
      link.send = (bytes) => {
        if (bytes[3] !== MessageType.HANDSHAKE) return send(bytes);
        const env = decodeEnvelope(bytes);
        send(forge({ body: env.body as HandshakeBody, seq: env.seq, timestamp: env.timestamp }, self));
      };
      return link;
    },
  };
}

const signedBy = (who: Identity, h: { body: HandshakeBody; seq: number; timestamp: number }) =>
  encodeEnvelope(who, { type: MessageType.HANDSHAKE, seq: h.seq, timestamp: h.timestamp, body: h.body });

describe('link handshake (spec §8.2): a forged handshake is refused and the link never opens', function () {
  this.timeout(60_000);
  let signaling: string;
  let nodes: PiNode[] = [];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });
  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    nodes = [];
  });

  /** An honest node and one whose handshakes go through `forge`; resolves with the honest node's rejection codes. */
  async function pair(forge: Forge): Promise<{ honest: PiNode; tamperer: PiNode; codes: string[] }> {
    const cluster = uniqueCluster('handshake');
    const id = generateIdentity();
    const honest = testNode(cluster, signaling);
    const tamperer = new PiNode({ admission: TEST_ADMISSION, clusterId: cluster, signaling, identity: id, syncStorage: () => new MemoryStorage(), links: tamperingLinks(forge, id) });
    nodes = [honest, tamperer];
    const codes: string[] = [];
    honest.addEventListener('reject', (ev) => {
      const d = (ev as CustomEvent<{ error: KpcError; source: string }>).detail;
      if (d.source === `link:${tamperer.nodeId}`) codes.push(d.error.code);
    });
    await Promise.all(nodes.map((n) => n.start()));
    return { honest, tamperer, codes };
  }

  async function expectRefused(forge: Forge, code: string): Promise<void> {
    const { honest, tamperer, codes } = await pair(forge);
    await waitFor(() => codes.length > 0, `a rejection with ${code}`);
    expect(codes[0]).to.equal(code);
    expect(honest.peers.map((p) => p.nodeId)).to.not.include(tamperer.nodeId);
    // Nothing from the tamperer got past its handshake.
    expect(honest.peers).to.have.length(0);
  }

  it('an unmodified handshake through the same wrapper links (the control case)', async () => {
    const { honest, tamperer, codes } = await pair((h, self) => signedBy(self, h));
    await waitFor(() => honest.peers.some((p) => p.nodeId === tamperer.nodeId) && tamperer.peers.length === 1, 'the pair linked');
    expect(codes).to.deep.equal([]);
  });

  it('signed by another identity than the link peer', async () => {
    const mallory = generateIdentity();
    await expectRefused((h) => signedBy(mallory, h), 'PROTO_WRONG_SENDER');
  });

  it('meant for another node', async () => {
    await expectRefused((h, self) => signedBy(self, { ...h, body: { ...h.body, to: generateIdentity().nodeId } }), 'MESH_BAD_HANDSHAKE');
  });

  it('for another link session', async () => {
    await expectRefused((h, self) => signedBy(self, { ...h, body: { ...h.body, session: 'ffffffffffffffff' } }), 'MESH_BAD_HANDSHAKE');
  });

  it('naming a DTLS fingerprint this channel did not negotiate', async () => {
    const fp = 'sha-256 ' + Array.from({ length: 32 }, () => 'AB').join(':');
    await expectRefused((h, self) => signedBy(self, { ...h, body: { ...h.body, fp } }), 'MESH_BAD_HANDSHAKE');
  });

  it('with a low-order ephemeral key (a key the attacker needs no secret for)', async () => {
    await expectRefused((h, self) => signedBy(self, { ...h, body: { ...h.body, eph: '00'.repeat(32) } }), 'CRYPTO_BAD_KEY');
  });

  it('stale (timestamp outside the window)', async () => {
    await expectRefused((h, self) => signedBy(self, { ...h, timestamp: h.timestamp - 120_000 }), 'PROTO_CLOCK_SKEW');
  });
});
