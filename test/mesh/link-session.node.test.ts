/**
 * The link handshake (spec §8.2, src/mesh/link-session.ts) between two LinkSessions over
 * a fake Link, with the receive path of a peer's first link message replicated from
 * `Mesh.onLinkMessage`: decode (fresh, signed v1) → signer = link peer → seq → accept.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { fromHex, generateIdentity, generateLinkKeyPair, toHex, type Identity } from '../../src/crypto/index.js';
import { KpcError, type KpcErrorCode } from '../../src/errors.js';
import { HANDSHAKE_MAX_SKEW_MS, LinkSession } from '../../src/mesh/link-session.js';
import {
  MessageType,
  decodeEnvelope,
  encodeEnvelope,
  validateHandshake,
  type DecodedEnvelope,
  type HandshakeBody,
  type Message,
} from '../../src/protocol/index.js';
import { codeOf } from '../helpers/errors.js';
import { FingerprintLink } from '../helpers/fake-link.js';
import { LOW_ORDER_X25519 } from '../helpers/x25519.js';

const NOW = 1_800_000_000_000;
/** The mesh's default `maxMessageBytes` on links. */
const LINK_MAX_BYTES = 256 * 1024;
const FP_A = 'sha-256 ' + Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':');
const FP_B = 'sha-256 ' + Array.from({ length: 32 }, (_, i) => (255 - i).toString(16).padStart(2, '0').toUpperCase()).join(':');


const A = generateIdentity();
const B = generateIdentity();
const M = generateIdentity(); // Mallory, a third identity

interface Pair {
  a: LinkSession;
  b: LinkSession;
}

/** Two ends of one link; with fingerprints (as over WebRTC) or without (as in the simulator). */
function pair(opts: { session?: string; fps?: boolean } = {}): Pair {
  const session = opts.session ?? 'c0ffee';
  return {
    a: new LinkSession(A, B.nodeId, session, new FingerprintLink(B.nodeId, opts.fps ? { local: FP_A, remote: FP_B } : undefined)),
    b: new LinkSession(B, A.nodeId, session, new FingerprintLink(A.nodeId, opts.fps ? { local: FP_B, remote: FP_A } : undefined)),
  };
}

function envelope(signer: Identity, body: unknown, extra: Partial<Message> = {}): Uint8Array {
  return encodeEnvelope(signer, { type: MessageType.HANDSHAKE, seq: 1, timestamp: NOW, body, ...extra } as Message);
}

/** What `Mesh.onLinkMessage` does with a peer's first message (before the link keys exist). */
function receiveFirst(auth: LinkSession, remoteId: string, bytes: Uint8Array, lastSeq = -1, now = NOW): DecodedEnvelope {
  const env = decodeEnvelope(bytes, { maxBytes: LINK_MAX_BYTES, now, maxSkewMs: HANDSHAKE_MAX_SKEW_MS });
  if (env.fromId !== remoteId) throw new KpcError('PROTO_WRONG_SENDER', 'envelope signed by another node than the link peer', { signer: env.fromId });
  if (env.seq <= lastSeq) throw new KpcError('PROTO_REPLAY', 'envelope seq not above the last one on this link');
  auth.accept(env);
  return env;
}


/** Both handshakes, each through the receive path. */
function complete(p: Pair): void {
  const ha = envelope(A, p.a.handshake());
  const hb = envelope(B, p.b.handshake());
  receiveFirst(p.b, A.nodeId, ha);
  receiveFirst(p.a, B.nodeId, hb);
}

/** The two ends' keys agree: each one's frames decode under the other's receive key only. */
function expectAgreed(p: Pair): void {
  const ka = p.a.keys!;
  const kb = p.b.keys!;
  expect(toHex(ka.send)).to.equal(toHex(kb.recv));
  expect(toHex(ka.recv)).to.equal(toHex(kb.send));
  expect(toHex(ka.send)).to.not.equal(toHex(ka.recv));
  const app = { type: MessageType.APP, seq: 2, timestamp: NOW, body: new Uint8Array([1, 2, 3]) } as Message;
  const fromA = encodeEnvelope(A, app, { macKey: ka.send });
  expect(decodeEnvelope(fromA, { macKey: kb.recv }).body).to.deep.equal(new Uint8Array([1, 2, 3]));
  const fromB = encodeEnvelope(B, { ...app, seq: 9 } as Message, { macKey: kb.send });
  expect(decodeEnvelope(fromB, { macKey: ka.recv }).seq).to.equal(9);
  // Reflected at its sender, or read with the wrong direction: refused.
  expect(codeOf(() => decodeEnvelope(fromA, { macKey: ka.recv }))).to.equal('PROTO_BAD_MAC');
  expect(codeOf(() => decodeEnvelope(fromA, { macKey: kb.send }))).to.equal('PROTO_BAD_MAC');
}

describe('LinkSession handshake', () => {
  for (const fps of [false, true]) {
    it(`two ends agree on the link keys (${fps ? 'with' : 'without'} DTLS fingerprints)`, () => {
      const p = pair({ fps });
      expect(p.a.keys).to.equal(undefined);
      complete(p);
      expectAgreed(p);
    });
  }

  it('handshake(): a valid body for the peer, stable until accepted, with fp only where the link has fingerprints', () => {
    const p = pair({ fps: true });
    const h = p.a.handshake();
    expect(validateHandshake(h)).to.deep.equal(h);
    expect(h).to.deep.equal({ session: 'c0ffee', to: B.nodeId, eph: h.eph, fp: FP_A });
    expect(h.eph).to.match(/^[0-9a-f]{64}$/);
    expect(p.a.handshake()).to.deep.equal(h);
    expect(pair().a.handshake()).to.not.have.property('fp');
    // A new link gets a new ephemeral key.
    expect(pair().a.handshake().eph).to.not.equal(h.eph);
  });

  it('takes its ephemeral secret from keyBytes where given', () => {
    const secret = new Uint8Array(32).fill(5);
    const s = new LinkSession(A, B.nodeId, 's', new FingerprintLink(B.nodeId), (n) => {
      expect(n).to.equal(32);
      return Uint8Array.from(secret);
    });
    expect(s.handshake().eph).to.equal(toHex(generateLinkKeyPair(secret).publicKey));
  });

  it('agrees for any session id, and the keys differ between sessions (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 64 }), fc.boolean(), (session, fps) => {
        const p = pair({ session, fps });
        complete(p);
        const k = p.a.keys!;
        expect(toHex(k.send)).to.equal(toHex(p.b.keys!.recv));
        expect(toHex(k.recv)).to.equal(toHex(p.b.keys!.send));
      }),
      { numRuns: 30 },
    );
    const p1 = pair({ session: 's1' });
    const p2 = pair({ session: 's2' });
    complete(p1);
    complete(p2);
    expect(toHex(p1.a.keys!.send)).to.not.equal(toHex(p2.a.keys!.send));
  });
});

describe('LinkSession refusals leave no keys', () => {
  /**
   * Feeds `bytes` to B's end of a fresh link as A's first message: it must be refused with
   * `code`, leave B without keys, and leave B able to take A's honest handshake afterwards.
   */
  function refused(make: (p: Pair, ha: HandshakeBody) => Uint8Array, code: KpcErrorCode, opts: { fps?: boolean } = {}): void {
    const p = pair(opts);
    const ha = p.a.handshake();
    const bytes = make(p, ha);
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, bytes))).to.equal(code);
    expect(p.b.keys).to.equal(undefined);
    // Nothing changed: the honest handshake still completes the link.
    complete(p);
    expectAgreed(p);
  }

  it('a handshake for another node (`to`) → MESH_BAD_HANDSHAKE', () => {
    refused((_, ha) => envelope(A, { ...ha, to: M.nodeId }), 'MESH_BAD_HANDSHAKE');
    // A's handshake to M, replayed by M onto M's own link… is signed by A, not M: see the forgery tests.
  });

  it('a handshake for another link session → MESH_BAD_HANDSHAKE', () => {
    refused((_, ha) => envelope(A, { ...ha, session: 'other' }), 'MESH_BAD_HANDSHAKE');
    // A real handshake of another link between the same two nodes.
    refused(() => envelope(A, pair({ session: 'older' }).a.handshake()), 'MESH_BAD_HANDSHAKE');
  });

  it('a wrong fingerprint where the link reports fingerprints → MESH_BAD_HANDSHAKE', () => {
    refused((_, ha) => envelope(A, { ...ha, fp: FP_B }), 'MESH_BAD_HANDSHAKE', { fps: true });
    refused((_, ha) => envelope(A, { ...ha, fp: FP_A.toLowerCase() }), 'MESH_BAD_HANDSHAKE', { fps: true });
    refused((_, ha) => envelope(A, { ...ha, fp: FP_A + ' ' }), 'MESH_BAD_HANDSHAKE', { fps: true });
  });

  it('a missing fingerprint where the link reports fingerprints → MESH_BAD_HANDSHAKE', () => {
    refused((_, ha) => {
      const body: Partial<HandshakeBody> = { ...ha };
      delete body.fp;
      return envelope(A, body);
    }, 'MESH_BAD_HANDSHAKE', { fps: true });
  });

  it('a first message that is not a HANDSHAKE → MESH_BAD_HANDSHAKE', () => {
    refused(() => encodeEnvelope(A, { type: MessageType.HELLO, seq: 1, timestamp: NOW, body: { clusterId: 'c', state: 'READY' } }), 'MESH_BAD_HANDSHAKE');
    refused(() => encodeEnvelope(A, { type: MessageType.APP, seq: 1, timestamp: NOW, body: new Uint8Array(8) }), 'MESH_BAD_HANDSHAKE');
    refused(() => encodeEnvelope(A, { type: MessageType.SIGNAL, seq: 1, timestamp: NOW, body: { to: B.nodeId, signal: {} } }), 'MESH_BAD_HANDSHAKE');
  });

  it('an all-zero ephemeral key → CRYPTO_BAD_KEY, and every other low-order point', () => {
    for (const eph of LOW_ORDER_X25519) refused((_, ha) => envelope(A, { ...ha, eph }), 'CRYPTO_BAD_KEY');
  });

  it('a stale or future handshake → PROTO_CLOCK_SKEW', () => {
    refused((_, ha) => envelope(A, ha, { timestamp: NOW - HANDSHAKE_MAX_SKEW_MS - 1 }), 'PROTO_CLOCK_SKEW');
    refused((_, ha) => envelope(A, ha, { timestamp: NOW + HANDSHAKE_MAX_SKEW_MS + 1 }), 'PROTO_CLOCK_SKEW');
  });

  it('an HMAC-tagged (v2) first message → PROTO_BAD_VERSION', () => {
    refused((_, ha) => encodeEnvelope(A, { type: MessageType.HANDSHAKE, seq: 1, timestamp: NOW, body: ha }, { macKey: new Uint8Array(32) }), 'PROTO_BAD_VERSION');
  });

  it('a second handshake after success → MESH_BAD_HANDSHAKE, keys unchanged', () => {
    const p = pair({ fps: true });
    complete(p);
    const before = p.b.keys!;
    const [send, recv] = [toHex(before.send), toHex(before.recv)];
    // The same handshake again, and a fresh one of a new ephemeral key.
    const again = decodeEnvelope(envelope(A, p.a.handshake(), { seq: 2 }));
    const fresh = decodeEnvelope(envelope(A, pair({ fps: true }).a.handshake(), { seq: 3 }));
    for (const env of [again, fresh]) {
      expect(codeOf(() => p.b.accept(env))).to.equal('MESH_BAD_HANDSHAKE');
      expect(p.b.keys).to.equal(before);
      expect([toHex(p.b.keys!.send), toHex(p.b.keys!.recv)]).to.deep.equal([send, recv]);
    }
    expectAgreed(p);
  });
});

describe('forged and misdirected handshakes', () => {
  it('a handshake signed by a third identity is refused by the signer check (PROTO_WRONG_SENDER)', () => {
    const p = pair({ fps: true });
    // Mallory knows everything public: the session, B's id, A's fingerprint; she brings her own key.
    const eph = toHex(generateLinkKeyPair().publicKey);
    const forged = envelope(M, { session: 'c0ffee', to: B.nodeId, eph, fp: FP_A });
    // The envelope itself is fine: it is Mallory's and her signature holds…
    const env = decodeEnvelope(forged, { maxBytes: LINK_MAX_BYTES, now: NOW, maxSkewMs: HANDSHAKE_MAX_SKEW_MS });
    expect(env.fromId).to.equal(M.nodeId);
    // …but LinkSession alone refuses it too (a second line behind the mesh's signer check).
    const alone = pair({ fps: true }).b;
    expect(codeOf(() => alone.accept(env))).to.equal('MESH_BAD_HANDSHAKE');
    expect(alone.keys).to.equal(undefined);
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, forged))).to.equal('PROTO_WRONG_SENDER');
    expect(p.b.keys).to.equal(undefined);
    complete(p);
    expectAgreed(p);
  });

  it('A’s key in `from` with Mallory’s signature → PROTO_BAD_SIGNATURE', () => {
    const p = pair();
    const forged = envelope(M, { session: 'c0ffee', to: B.nodeId, eph: toHex(generateLinkKeyPair().publicKey) });
    forged.set(A.publicKey, 4);
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, forged))).to.equal('PROTO_BAD_SIGNATURE');
    expect(p.b.keys).to.equal(undefined);
  });

  it('B’s own handshake reflected back at B → PROTO_WRONG_SENDER', () => {
    const p = pair();
    const hb = envelope(B, p.b.handshake());
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, hb))).to.equal('PROTO_WRONG_SENDER');
    expect(p.b.keys).to.equal(undefined);
  });

  it('A’s handshake to Mallory, relayed by Mallory to B, is refused (signed by A for M)', () => {
    // On Mallory's link to B the signer must be Mallory: A's signature does not pass.
    const toMallory = new LinkSession(A, M.nodeId, 'c0ffee', new FingerprintLink(M.nodeId));
    const relayed = envelope(A, toMallory.handshake());
    const bOnMalloryLink = new LinkSession(B, M.nodeId, 'c0ffee', new FingerprintLink(M.nodeId));
    expect(codeOf(() => receiveFirst(bOnMalloryLink, M.nodeId, relayed))).to.equal('PROTO_WRONG_SENDER');
    // And on a link with A it is for another node.
    const p = pair();
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, relayed))).to.equal('MESH_BAD_HANDSHAKE');
    expect(p.b.keys).to.equal(undefined);
    expect(bOnMalloryLink.keys).to.equal(undefined);
  });

  it('a replayed first message with a seq not above the last one → PROTO_REPLAY', () => {
    const p = pair();
    expect(codeOf(() => receiveFirst(p.b, A.nodeId, envelope(A, p.a.handshake(), { seq: 5 }), 5))).to.equal('PROTO_REPLAY');
    expect(p.b.keys).to.equal(undefined);
  });
});

describe('fingerprint checks depend on the link (documented behaviour)', () => {
  it('a link without fingerprints (simulator) takes a handshake with or without fp', () => {
    for (const fp of [undefined, 'sha-256 00', FP_A]) {
      const p = pair();
      const body = { ...p.a.handshake(), ...(fp ? { fp } : {}) };
      receiveFirst(p.b, A.nodeId, envelope(A, body));
      expect(p.b.keys).to.not.equal(undefined);
    }
  });

  it('a link that has fingerprints() but none negotiated yet refuses the handshake', () => {
    const b = new LinkSession(B, A.nodeId, 's', new FingerprintLink(A.nodeId, null));
    const a = new LinkSession(A, B.nodeId, 's', new FingerprintLink(B.nodeId, null));
    expect(codeOf(() => receiveFirst(b, A.nodeId, envelope(A, { ...a.handshake(), fp: 'anything' })))).to.equal('MESH_BAD_HANDSHAKE');
    expect(b.keys).to.equal(undefined);
  });
});

describe('handshake order', () => {
  it('the peer’s handshake accepted before this side sends its own still gives agreeing keys', () => {
    // Reachable: simple-peer emits "data" as soon as the channel has it, "connect" (our onOpen) only after an async getStats.
    const p = pair();
    receiveFirst(p.b, A.nodeId, envelope(A, p.a.handshake()));
    // B answers only now (its onOpen came after A's message).
    const hb = p.b.handshake();
    receiveFirst(p.a, B.nodeId, envelope(B, hb));
    expect(toHex(p.a.keys!.send)).to.equal(toHex(p.b.keys!.recv));
    expect(toHex(p.a.keys!.recv)).to.equal(toHex(p.b.keys!.send));
  });

  it('the ephemeral key B sends is the one B derived from, when B sends first (the mesh’s order)', () => {
    const p = pair();
    const hb = p.b.handshake();
    receiveFirst(p.b, A.nodeId, envelope(A, p.a.handshake()));
    receiveFirst(p.a, B.nodeId, envelope(B, hb));
    expectAgreed(p);
    expect(fromHex(hb.eph).length).to.equal(32);
  });
});
