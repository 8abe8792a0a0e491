/**
 * Version-2 (HMAC-tagged) link envelopes (spec §8.2, src/protocol/envelope.ts): same
 * layout as version 1 with a 32-byte HMAC-SHA256 tag over
 * 'kpc/link-envelope/v1' ‖ header ‖ body, accepted only under the link's key.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { concatBytes, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import { deriveLinkKeys, generateLinkKeyPair, linkTag, type LinkKeys } from '../../src/crypto/link-keys.js';
import type { KpcErrorCode } from '../../src/errors.js';
import {
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MIN_BYTES,
  LINK_ENVELOPE_DOMAIN,
  LINK_ENVELOPE_MIN_BYTES,
  LINK_ENVELOPE_VERSION,
  MessageType,
  decodeEnvelope,
  encodeEnvelope,
  type Message,
} from '../../src/protocol/index.js';
import { IDENTITIES, expectCode, expectDecodedAs, identityArb, messageArb } from './arbitraries.js';
import { codeOf } from '../helpers/errors.js';

const [alice, bob, carol] = IDENTITIES;
const RUNS = { numRuns: 150 };
const TAG = 32;
const DOMAIN = utf8Encode(LINK_ENVELOPE_DOMAIN);

/** Alice's and Bob's keys of one link, and of another link between them. */
function linkKeys(session: string): { a: LinkKeys; b: LinkKeys } {
  const ea = generateLinkKeyPair();
  const eb = generateLinkKeyPair();
  return {
    a: deriveLinkKeys({ own: ea, peerEphemeral: eb.publicKey, ownIdentity: alice.publicKey, peerIdentity: bob.publicKey, session }),
    b: deriveLinkKeys({ own: eb, peerEphemeral: ea.publicKey, ownIdentity: bob.publicKey, peerIdentity: alice.publicKey, session }),
  };
}
const K = linkKeys('s1');
const K2 = linkKeys('s2');

/** Every registered type. */
const anyMessageArb = messageArb;
const keyArb = fc.uint8Array({ minLength: 32, maxLength: 32 });

const app: Message = { type: MessageType.APP, seq: 7, timestamp: 1_800_000_000_000, body: new Uint8Array([1, 2, 3, 4]) };
const handshake: Message = {
  type: MessageType.HANDSHAKE,
  seq: 1,
  timestamp: 1_800_000_000_000,
  body: { session: 's1', to: bob.nodeId, eph: 'ab'.repeat(32), fp: 'sha-256 AB:CD' },
};
const hello: Message = { type: MessageType.HELLO, seq: 2, timestamp: 1_800_000_000_000, body: { clusterId: 'c', state: 'READY' } };

/** A v2 envelope from the documented byte table, tagged with `key` (independent writer). */
function rawLinkEnvelope(
  from: Uint8Array,
  f: { type: number; seq: number; timestamp: number; body: Uint8Array; version?: number },
  key: Uint8Array,
  domain = DOMAIN,
): Uint8Array {
  const head = new Uint8Array(ENVELOPE_HEADER_BYTES);
  const v = new DataView(head.buffer);
  head.set([0x4b, 0x50, f.version ?? 2, f.type]);
  head.set(from, 4);
  v.setUint32(36, f.seq);
  v.setBigUint64(40, BigInt(f.timestamp));
  v.setUint32(48, f.body.length);
  const unsigned = concatBytes(head, f.body);
  return concatBytes(unsigned, linkTag(key, domain, unsigned));
}


describe('link envelope (v2) round trip', () => {
  it('decodes every valid message of every type, tagged with the link key, to what was sent', () => {
    const types = new Set<number>();
    fc.assert(
      fc.property(identityArb, anyMessageArb, keyArb, (id, msg, key) => {
        types.add(msg.type);
        const bytes = encodeEnvelope(id, msg, { macKey: key });
        expectDecodedAs(decodeEnvelope(bytes, { macKey: key }), msg, id, bytes, LINK_ENVELOPE_VERSION);
        // Deterministic, and laid out as documented: 84 + n bytes, tag over domain ‖ header ‖ body.
        expect(encodeEnvelope(id, msg, { macKey: key })).to.deep.equal(bytes);
        const n = bytes.length - LINK_ENVELOPE_MIN_BYTES;
        expect(new DataView(bytes.buffer).getUint32(48)).to.equal(n);
        const body = bytes.subarray(ENVELOPE_HEADER_BYTES, ENVELOPE_HEADER_BYTES + n);
        expect(rawLinkEnvelope(id.publicKey, { type: msg.type, seq: msg.seq, timestamp: msg.timestamp, body }, key)).to.deep.equal(bytes);
        // Same header and body as the signed v1 envelope, apart from the version byte.
        const v1 = encodeEnvelope(id, msg);
        expect(v1.length).to.equal(ENVELOPE_MIN_BYTES + n);
        const head = Uint8Array.from(v1.subarray(0, ENVELOPE_HEADER_BYTES + n));
        head[2] = 2;
        expect(bytes.subarray(0, ENVELOPE_HEADER_BYTES + n)).to.deep.equal(head);
      }),
      { numRuns: 300 },
    );
    expect([...types].sort((x, y) => x - y)).to.deep.equal(Object.values(MessageType).sort((x, y) => x - y));
  });

  it('is 84 + n bytes: the header, the body and a 32-byte tag', () => {
    expect(LINK_ENVELOPE_MIN_BYTES).to.equal(84);
    for (const n of [0, 1, 100, 4096]) {
      const bytes = encodeEnvelope(alice, { ...app, body: new Uint8Array(n) } as Message, { macKey: K.a.send });
      expect(bytes.length).to.equal(84 + n);
      expect(Array.from(bytes.subarray(0, 4))).to.deep.equal([0x4b, 0x50, 2, 0xf0]);
      expect(bytes.subarray(bytes.length - TAG)).to.deep.equal(linkTag(K.a.send, DOMAIN, bytes.subarray(0, 52 + n)));
    }
  });

  it('carries messages both ways over a link with the derived keys', () => {
    const ab = encodeEnvelope(alice, app, { macKey: K.a.send });
    const ba = encodeEnvelope(bob, hello, { macKey: K.b.send });
    expect(decodeEnvelope(ab, { macKey: K.b.recv }).body).to.deep.equal(app.body);
    expect(decodeEnvelope(ba, { macKey: K.a.recv }).body).to.deep.equal(hello.body);
  });

  it('honours maxBytes and the skew window with a key as without', () => {
    const bytes = encodeEnvelope(alice, app, { macKey: K.a.send });
    expectCode(() => decodeEnvelope(bytes, { macKey: K.b.recv, maxBytes: bytes.length - 1 }), 'PROTO_OVERSIZE');
    expect(decodeEnvelope(bytes, { macKey: K.b.recv, maxBytes: bytes.length }).seq).to.equal(7);
    expectCode(() => decodeEnvelope(bytes, { macKey: K.b.recv, now: app.timestamp + 30_001, maxSkewMs: 30_000 }), 'PROTO_CLOCK_SKEW');
    expect(decodeEnvelope(bytes, { macKey: K.b.recv, now: app.timestamp - 30_000, maxSkewMs: 30_000 }).seq).to.equal(7);
    expectCode(() => encodeEnvelope(alice, app, { macKey: K.a.send, maxBytes: bytes.length - 1 }), 'PROTO_OVERSIZE');
  });
});

describe('link envelope keys', () => {
  it('another key → PROTO_BAD_MAC (property)', () => {
    fc.assert(
      fc.property(
        identityArb,
        anyMessageArb,
        fc.tuple(keyArb, keyArb).filter(([a, b]) => toHex(a) !== toHex(b)),
        (id, msg, [key, other]) => {
          expectCode(() => decodeEnvelope(encodeEnvelope(id, msg, { macKey: key }), { macKey: other }), 'PROTO_BAD_MAC');
        },
      ),
      RUNS,
    );
  });

  it('a key one bit away → PROTO_BAD_MAC', () => {
    const bytes = encodeEnvelope(alice, app, { macKey: K.a.send });
    for (let i = 0; i < 32 * 8; i++) {
      const k = Uint8Array.from(K.b.recv);
      k[i >> 3] ^= 1 << (i & 7);
      expectCode(() => decodeEnvelope(bytes, { macKey: k }), 'PROTO_BAD_MAC');
    }
  });

  it('reflection: a frame is refused under its sender’s own receive key, and under the send key', () => {
    const ab = encodeEnvelope(alice, app, { macKey: K.a.send });
    expectCode(() => decodeEnvelope(ab, { macKey: K.a.recv }), 'PROTO_BAD_MAC'); // bounced back to Alice
    expectCode(() => decodeEnvelope(ab, { macKey: K.b.send }), 'PROTO_BAD_MAC'); // Bob using the wrong direction
    expect(decodeEnvelope(ab, { macKey: K.b.recv }).fromId).to.equal(alice.nodeId);
    // Bob's own frame fed back to Bob.
    expectCode(() => decodeEnvelope(encodeEnvelope(bob, app, { macKey: K.b.send }), { macKey: K.b.recv }), 'PROTO_BAD_MAC');
  });

  it('a frame of another link (another session’s keys) → PROTO_BAD_MAC', () => {
    const ab = encodeEnvelope(alice, app, { macKey: K2.a.send });
    expectCode(() => decodeEnvelope(ab, { macKey: K.b.recv }), 'PROTO_BAD_MAC');
    expect(decodeEnvelope(ab, { macKey: K2.b.recv }).seq).to.equal(7);
  });

  it('the tag covers the domain: a tag without it, or under another one → PROTO_BAD_MAC', () => {
    const f = { type: app.type, seq: app.seq, timestamp: app.timestamp, body: app.body as Uint8Array };
    expect(decodeEnvelope(rawLinkEnvelope(alice.publicKey, f, K.a.send), { macKey: K.b.recv }).seq).to.equal(7);
    expectCode(() => decodeEnvelope(rawLinkEnvelope(alice.publicKey, f, K.a.send, new Uint8Array(0)), { macKey: K.b.recv }), 'PROTO_BAD_MAC');
    expectCode(() => decodeEnvelope(rawLinkEnvelope(alice.publicKey, f, K.a.send, utf8Encode('kpc/envelope/v1')), { macKey: K.b.recv }), 'PROTO_BAD_MAC');
  });

  it('the sender key in the header is bound: another `from` with the same tag → PROTO_BAD_MAC', () => {
    const bytes = encodeEnvelope(alice, app, { macKey: K.a.send });
    bytes.set(carol.publicKey, 4);
    expectCode(() => decodeEnvelope(bytes, { macKey: K.b.recv }), 'PROTO_BAD_MAC');
  });
});

describe('link envelope versions', () => {
  it('a signed v1 envelope given a key → PROTO_BAD_MAC (property)', () => {
    fc.assert(
      fc.property(identityArb, anyMessageArb, keyArb, (id, msg, key) => {
        expectCode(() => decodeEnvelope(encodeEnvelope(id, msg), { macKey: key }), 'PROTO_BAD_MAC');
      }),
      RUNS,
    );
  });

  it('a v2 envelope without a key → PROTO_BAD_VERSION (property)', () => {
    fc.assert(
      fc.property(identityArb, anyMessageArb, keyArb, (id, msg, key) => {
        expectCode(() => decodeEnvelope(encodeEnvelope(id, msg, { macKey: key })), 'PROTO_BAD_VERSION');
      }),
      RUNS,
    );
  });

  it('a v2 envelope relabelled v1 (or v1 relabelled v2) is refused', () => {
    const v2 = encodeEnvelope(alice, app, { macKey: K.a.send });
    v2[2] = 1;
    expectCode(() => decodeEnvelope(v2, { macKey: K.b.recv }), 'PROTO_BAD_MAC');
    expectCode(() => decodeEnvelope(v2), 'PROTO_MALFORMED'); // 84 + n is no valid v1 length
    const v1 = encodeEnvelope(alice, app);
    v1[2] = 2;
    expectCode(() => decodeEnvelope(v1, { macKey: K.b.recv }), 'PROTO_MALFORMED');
    expectCode(() => decodeEnvelope(v1), 'PROTO_BAD_VERSION');
  });

  it('other versions → PROTO_BAD_VERSION, with or without a key', () => {
    for (const version of [0, 3, 0x7f, 0xff]) {
      const bytes = rawLinkEnvelope(alice.publicKey, { type: app.type, seq: 1, timestamp: 1, body: new Uint8Array(3), version }, K.a.send);
      expectCode(() => decodeEnvelope(bytes, { macKey: K.b.recv }), 'PROTO_BAD_VERSION');
      expectCode(() => decodeEnvelope(bytes), 'PROTO_BAD_VERSION');
    }
  });

  it('encodeEnvelope refuses a link key that is not 32 bytes', () => {
    for (const n of [0, 16, 31, 33, 64]) expectCode(() => encodeEnvelope(alice, app, { macKey: new Uint8Array(n) }), 'CRYPTO_BAD_KEY');
    expectCode(() => encodeEnvelope(alice, app, { macKey: 'k'.repeat(32) as never }), 'CRYPTO_BAD_KEY');
  });
});

describe('link envelope tampering', () => {
  /** What flipping byte `i` of a v2 envelope may give (the decoder's order of checks). */
  function allowed(i: number, after: number): readonly KpcErrorCode[] {
    if (i < 2) return ['PROTO_MALFORMED'];
    if (i === 2) return after === 1 ? ['PROTO_BAD_MAC'] : ['PROTO_BAD_VERSION'];
    if (i === 3) return ['PROTO_UNKNOWN_TYPE', 'PROTO_BAD_MAC'];
    if (i >= 40 && i < 48) return ['PROTO_MALFORMED', 'PROTO_BAD_MAC']; // timestamp beyond 2^53 − 1, or tag
    if (i >= 48 && i < 52) return ['PROTO_MALFORMED']; // body length ≠ size
    return ['PROTO_BAD_MAC'];
  }

  it('every bit of every byte of a v2 envelope, flipped, is refused with its code', () => {
    for (const msg of [app, handshake, hello, { ...app, body: new Uint8Array(0) } as Message]) {
      const bytes = encodeEnvelope(alice, msg, { macKey: K.a.send });
      for (let i = 0; i < bytes.length; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const t = Uint8Array.from(bytes);
          t[i] ^= 1 << bit;
          const code = codeOf(() => decodeEnvelope(t, { macKey: K.b.recv }));
          expect(allowed(i, t[i]), `byte ${i} bit ${bit} of a ${msg.type} envelope gave ${code}`).to.include(code);
        }
      }
    }
  });

  it('any byte of any envelope replaced by any other value is refused (property)', () => {
    fc.assert(
      fc.property(identityArb, anyMessageArb, fc.nat(), fc.integer({ min: 1, max: 255 }), (id, msg, at, mask) => {
        const bytes = encodeEnvelope(id, msg, { macKey: K.a.send });
        const i = at % bytes.length;
        bytes[i] ^= mask;
        const code = codeOf(() => decodeEnvelope(bytes, { macKey: K.b.recv }));
        expect(allowed(i, bytes[i])).to.include(code);
      }),
      { numRuns: 500 },
    );
  });

  it('every truncation → PROTO_MALFORMED; every extension → PROTO_MALFORMED', () => {
    for (const msg of [app, handshake]) {
      const bytes = encodeEnvelope(alice, msg, { macKey: K.a.send });
      for (let len = 0; len < bytes.length; len++) {
        expectCode(() => decodeEnvelope(bytes.subarray(0, len), { macKey: K.b.recv }), 'PROTO_MALFORMED');
      }
      for (const extra of [1, 31, 32, 64]) {
        expectCode(() => decodeEnvelope(concatBytes(bytes, new Uint8Array(extra)), { macKey: K.b.recv }), 'PROTO_MALFORMED');
      }
    }
  });

  it('a tagged but invalid or non-canonical HANDSHAKE body → PROTO_BAD_BODY', () => {
    const good = handshake.body as unknown as Record<string, unknown>;
    const bodies: unknown[] = [
      { ...good, eph: 'AB'.repeat(32) },
      { ...good, eph: 'ab'.repeat(31) },
      { ...good, session: '' },
      { ...good, session: 'x'.repeat(65) },
      { ...good, to: 'zz' },
      { ...good, fp: '' },
      { ...good, fp: 'x'.repeat(257) },
      { ...good, extra: 1 },
      { session: 's1', to: bob.nodeId },
    ];
    const texts = [...bodies.map((b) => JSON.stringify(b)), JSON.stringify(good, null, 1), JSON.stringify({ to: good.to, session: good.session, eph: good.eph, fp: good.fp })];
    for (const text of texts) {
      const bytes = rawLinkEnvelope(alice.publicKey, { type: MessageType.HANDSHAKE, seq: 1, timestamp: 1, body: utf8Encode(text) }, K.a.send);
      expectCode(() => decodeEnvelope(bytes, { macKey: K.b.recv }), 'PROTO_BAD_BODY');
    }
    for (const body of bodies) expectCode(() => encodeEnvelope(alice, { ...handshake, body } as Message, { macKey: K.a.send }), 'PROTO_BAD_BODY');
  });

  it('junk of any length with a key is refused with a KpcError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (junk, prefixed) => {
        const input = prefixed ? concatBytes(new Uint8Array([0x4b, 0x50, 2, 0xf0]), junk) : junk;
        const code = codeOf(() => decodeEnvelope(input, { macKey: K.b.recv }));
        expect(code).to.match(/^PROTO_/);
      }),
      { numRuns: 300 },
    );
  });
});
