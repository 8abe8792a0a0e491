/**
 * Pairwise link keys (spec §8.2, src/crypto/link-keys.ts): X25519 against RFC 7748,
 * HMAC-SHA256 against RFC 4231, the HKDF derivation against node:crypto (an
 * independent implementation) and a pinned golden vector, symmetry, binding, and
 * refusal of low-order points and wrong sizes.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { createHmac, diffieHellman, createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  LINK_KEY_BYTES,
  LINK_TAG_BYTES,
  concatBytes,
  deriveLinkKeys,
  equalBytes,
  equalTags,
  fromHex,
  generateLinkKeyPair,
  linkTag,
  toHex,
  utf8Encode,
  type LinkKeyInput,
  type LinkKeyPair,
} from '../../src/crypto/index.js';
import { KpcError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';
import { LOW_ORDER_X25519 } from '../helpers/x25519.js';

/** RFC 7748 §6.1. */
const RFC7748 = {
  alicePriv: '77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a',
  alicePub: '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
  bobPriv: '5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb',
  bobPub: 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f',
  shared: '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742',
};

/** RFC 4231 test cases 1 and 2 (HMAC-SHA-256 column). */
const RFC4231 = [
  { key: '0b'.repeat(20), data: '4869205468657265', mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  {
    key: '4a656665',
    data: '7768617420646f2079612077616e7420666f72206e6f7468696e673f',
    mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  },
];

/** Fixed Ed25519-sized identity keys for the vectors (the derivation only needs 32 bytes each). */
const ID_A = new Uint8Array(32).fill(0x11);
const ID_B = new Uint8Array(32).fill(0x22);
const SESSION = 'golden-session';

/**
 * Our own derivation pinned: RFC 7748 Alice (own) and Bob (peer), identities 0x11…/0x22…,
 * session "golden-session". Computed once, and cross-checked below with node:crypto's HKDF.
 */
const GOLDEN = {
  send: 'd53b2f0d71818049074fd5d7ef5dd0075b07ce89e47006fdba23d972988e6d30',
  recv: '04eebb146117bcb62b7d23edd4d3d6f794705ea9e9915e8e7cf49f45bdefabe4',
};

/** X25519 on node:crypto (OpenSSL): raw keys through JWK. */
function nodeX25519(priv: Uint8Array, pub: Uint8Array): Uint8Array {
  const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64u(priv), x: b64u(generateLinkKeyPair(priv).publicKey) }, format: 'jwk' });
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64u(pub) }, format: 'jwk' });
  return new Uint8Array(diffieHellman({ privateKey, publicKey }));
}

/** The documented derivation, on node:crypto: HKDF-SHA256(shared, 'kpc/link/v1', info, 32). */
function nodeDirectional(shared: Uint8Array, sender: Uint8Array, receiver: Uint8Array, senderEph: Uint8Array, receiverEph: Uint8Array, session: string): Uint8Array {
  const info = concatBytes(utf8Encode('kpc/link-key/v1\0'), sender, receiver, senderEph, receiverEph, utf8Encode(session));
  return new Uint8Array(hkdfSync('sha256', shared, utf8Encode('kpc/link/v1'), info, 32));
}


/** Both sides' inputs for one link. */
function pair(a: LinkKeyPair, b: LinkKeyPair, idA: Uint8Array, idB: Uint8Array, session: string): [LinkKeyInput, LinkKeyInput] {
  return [
    { own: a, peerEphemeral: b.publicKey, ownIdentity: idA, peerIdentity: idB, session },
    { own: b, peerEphemeral: a.publicKey, ownIdentity: idB, peerIdentity: idA, session },
  ];
}

const alice = generateLinkKeyPair(fromHex(RFC7748.alicePriv));
const bob = generateLinkKeyPair(fromHex(RFC7748.bobPriv));

describe('X25519 (RFC 7748 §6.1) through generateLinkKeyPair and deriveLinkKeys', () => {
  it('gives the RFC public keys from the RFC secrets', () => {
    expect(toHex(alice.publicKey)).to.equal(RFC7748.alicePub);
    expect(toHex(bob.publicKey)).to.equal(RFC7748.bobPub);
    expect(alice.secretKey).to.deep.equal(fromHex(RFC7748.alicePriv));
  });

  it('derives its keys from the RFC shared secret 4a5d9d5b…', () => {
    const [inA, inB] = pair(alice, bob, ID_A, ID_B, SESSION);
    const shared = fromHex(RFC7748.shared);
    // node:crypto agrees with the RFC too, so the vector checks our reading of it.
    expect(toHex(nodeX25519(alice.secretKey, bob.publicKey))).to.equal(RFC7748.shared);
    const a = deriveLinkKeys(inA);
    const b = deriveLinkKeys(inB);
    expect(toHex(a.send)).to.equal(toHex(nodeDirectional(shared, ID_A, ID_B, alice.publicKey, bob.publicKey, SESSION)));
    expect(toHex(a.recv)).to.equal(toHex(nodeDirectional(shared, ID_B, ID_A, bob.publicKey, alice.publicKey, SESSION)));
    expect(toHex(b.send)).to.equal(toHex(a.recv));
    expect(toHex(b.recv)).to.equal(toHex(a.send));
  });

  it('matches the pinned golden vector', () => {
    const k = deriveLinkKeys(pair(alice, bob, ID_A, ID_B, SESSION)[0]);
    expect(toHex(k.send)).to.equal(GOLDEN.send);
    expect(toHex(k.recv)).to.equal(GOLDEN.recv);
  });

  it('makes fresh, distinct, valid key pairs without a secret', () => {
    const a = generateLinkKeyPair();
    const b = generateLinkKeyPair();
    expect(a.secretKey.length).to.equal(LINK_KEY_BYTES);
    expect(a.publicKey.length).to.equal(LINK_KEY_BYTES);
    expect(equalBytes(a.secretKey, b.secretKey)).to.equal(false);
    expect(toHex(nodeX25519(a.secretKey, b.publicKey))).to.equal(toHex(nodeX25519(b.secretKey, a.publicKey)));
  });
});

describe('HMAC-SHA256 (RFC 4231) through linkTag', () => {
  for (const [i, v] of RFC4231.entries()) {
    it(`test case ${i + 1}`, () => {
      const data = fromHex(v.data);
      expect(toHex(linkTag(fromHex(v.key), data))).to.equal(v.mac);
      // Parts are concatenated: any split gives the same tag.
      for (const cut of [0, 1, data.length >> 1, data.length]) {
        expect(toHex(linkTag(fromHex(v.key), data.subarray(0, cut), data.subarray(cut)))).to.equal(v.mac);
      }
      expect(linkTag(fromHex(v.key), data).length).to.equal(LINK_TAG_BYTES);
    });
  }

  it('linkTag(key, a, b) = HMAC(key, a ‖ b) for any parts (node:crypto)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 5 }), (key, parts) => {
        const expected = createHmac('sha256', key).update(concatBytes(...parts)).digest('hex');
        expect(toHex(linkTag(key, ...parts))).to.equal(expected);
        expect(toHex(linkTag(key, concatBytes(...parts)))).to.equal(expected);
      }),
      { numRuns: 200 },
    );
  });

  it('equalTags compares by content and length', () => {
    const t = linkTag(new Uint8Array(32), utf8Encode('x'));
    expect(equalTags(t, Uint8Array.from(t))).to.equal(true);
    for (let i = 0; i < t.length; i++) {
      const u = Uint8Array.from(t);
      u[i] ^= 1;
      expect(equalTags(t, u)).to.equal(false);
    }
    expect(equalTags(t, t.subarray(0, 31))).to.equal(false);
    expect(equalTags(new Uint8Array(0), new Uint8Array(0))).to.equal(true);
  });
});

describe('deriveLinkKeys: symmetry and binding', () => {
  const secretArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const idArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const sessionArb = fc.string({ minLength: 1, maxLength: 64 });

  it('A.send = B.recv, A.recv = B.send, send ≠ recv (property)', () => {
    fc.assert(
      fc.property(secretArb, secretArb, idArb, idArb, sessionArb, (sa, sb, idA, idB, session) => {
        const [inA, inB] = pair(generateLinkKeyPair(sa), generateLinkKeyPair(sb), idA, idB, session);
        const a = deriveLinkKeys(inA);
        const b = deriveLinkKeys(inB);
        expect(toHex(a.send)).to.equal(toHex(b.recv));
        expect(toHex(a.recv)).to.equal(toHex(b.send));
        expect(toHex(a.send)).to.not.equal(toHex(a.recv));
        expect(a.send.length).to.equal(32);
        expect(a.recv.length).to.equal(32);
      }),
      { numRuns: 100 },
    );
  });

  it('is deterministic and agrees with node:crypto X25519 + HKDF (property)', () => {
    fc.assert(
      fc.property(secretArb, secretArb, idArb, idArb, sessionArb, (sa, sb, idA, idB, session) => {
        const a = generateLinkKeyPair(sa);
        const b = generateLinkKeyPair(sb);
        const [inA] = pair(a, b, idA, idB, session);
        const k = deriveLinkKeys(inA);
        expect(deriveLinkKeys(inA)).to.deep.equal(k);
        const shared = nodeX25519(sa, b.publicKey);
        expect(toHex(k.send)).to.equal(toHex(nodeDirectional(shared, idA, idB, a.publicKey, b.publicKey, session)));
        expect(toHex(k.recv)).to.equal(toHex(nodeDirectional(shared, idB, idA, b.publicKey, a.publicKey, session)));
      }),
      { numRuns: 50 },
    );
  });

  it('another session, identity key or ephemeral key gives other keys', () => {
    const [inA, inB] = pair(alice, bob, ID_A, ID_B, SESSION);
    const base = deriveLinkKeys(inA);
    const other = new Uint8Array(32).fill(0x33);
    const carol = generateLinkKeyPair(new Uint8Array(32).fill(7));
    const variants: [string, LinkKeyInput][] = [
      ['session', { ...inA, session: SESSION + 'x' }],
      ['session prefix', { ...inA, session: SESSION.slice(0, -1) }],
      ['own identity', { ...inA, ownIdentity: other }],
      ['peer identity', { ...inA, peerIdentity: other }],
      ['identities swapped', { ...inA, ownIdentity: ID_B, peerIdentity: ID_A }],
      ['peer ephemeral', { ...inA, peerEphemeral: carol.publicKey }],
      // Our public half only enters the info: a claimed one other than ours changes the keys.
      ['own public key', { ...inA, own: { secretKey: alice.secretKey, publicKey: carol.publicKey } }],
      ['own ephemeral', { ...inA, own: carol }],
    ];
    const seen = new Set([toHex(base.send), toHex(base.recv)]);
    for (const [what, input] of variants) {
      let k;
      try {
        k = deriveLinkKeys(input);
      } catch (err) {
        throw new Error(`${what}: ${String(err)}`);
      }
      expect(seen.has(toHex(k.send)), `${what}: send key reused`).to.equal(false);
      expect(seen.has(toHex(k.recv)), `${what}: recv key reused`).to.equal(false);
    }
    // Same shared secret, ephemerals in the other order in the info: other keys (the order is bound).
    const shared = fromHex(RFC7748.shared);
    expect(toHex(nodeDirectional(shared, ID_A, ID_B, bob.publicKey, alice.publicKey, SESSION))).to.not.be.oneOf([...seen]);
    expect(toHex(nodeDirectional(shared, ID_A, ID_B, alice.publicKey, bob.publicKey, SESSION))).to.equal(toHex(base.send));
    // The peer's view with one bound value changed no longer matches.
    const bWrongSession = deriveLinkKeys({ ...inB, session: 'other' });
    expect(toHex(bWrongSession.recv)).to.not.equal(toHex(base.send));
  });

  it('binds every byte of the identity keys and ephemeral keys (property)', () => {
    const [inA] = pair(alice, bob, ID_A, ID_B, SESSION);
    const base = deriveLinkKeys(inA);
    fc.assert(
      fc.property(fc.constantFrom('ownIdentity', 'peerIdentity') as fc.Arbitrary<'ownIdentity' | 'peerIdentity'>, fc.nat(31), fc.integer({ min: 1, max: 255 }), (field, at, mask) => {
        const v = Uint8Array.from(inA[field]);
        v[at] ^= mask;
        const k = deriveLinkKeys({ ...inA, [field]: v });
        expect(equalBytes(k.send, base.send)).to.equal(false);
        expect(equalBytes(k.recv, base.recv)).to.equal(false);
      }),
      { numRuns: 100 },
    );
  });
});

describe('deriveLinkKeys refuses bad keys with CRYPTO_BAD_KEY', () => {
  const [inA] = pair(alice, bob, ID_A, ID_B, SESSION);

  for (const hex of LOW_ORDER_X25519) {
    it(`low-order peer key ${hex.slice(0, 8)}…${hex.slice(-4)}`, () => {
      expect(codeOf(() => deriveLinkKeys({ ...inA, peerEphemeral: fromHex(hex) }))).to.equal('CRYPTO_BAD_KEY');
      // Whatever our secret.
      expect(codeOf(() => deriveLinkKeys({ ...inA, own: generateLinkKeyPair(), peerEphemeral: fromHex(hex) }))).to.equal('CRYPTO_BAD_KEY');
    });
  }

  it('own.publicKey is not checked against own.secretKey: it only enters the HKDF info (documents the contract)', () => {
    // own.publicKey only enters the HKDF info; the shared secret comes from own.secretKey.
    const k = deriveLinkKeys({ ...inA, own: { secretKey: alice.secretKey, publicKey: new Uint8Array(32) } });
    expect(k.send.length).to.equal(32);
  });

  it('wrong lengths of every key', () => {
    for (const n of [0, 1, 31, 33, 64]) {
      const b = new Uint8Array(n).fill(9);
      for (const input of [
        { ...inA, peerEphemeral: b },
        { ...inA, ownIdentity: b },
        { ...inA, peerIdentity: b },
        { ...inA, own: { secretKey: b, publicKey: alice.publicKey } },
        { ...inA, own: { secretKey: alice.secretKey, publicKey: b } },
      ]) {
        expect(codeOf(() => deriveLinkKeys(input))).to.equal('CRYPTO_BAD_KEY');
      }
      expect(codeOf(() => generateLinkKeyPair(b))).to.equal('CRYPTO_BAD_KEY');
    }
  });

  it('non-byte keys', () => {
    for (const v of [undefined, null, 'ab'.repeat(32), Array.from(new Uint8Array(32)), new Uint16Array(32), new ArrayBuffer(32)]) {
      expect(codeOf(() => deriveLinkKeys({ ...inA, peerEphemeral: v as never }))).to.equal('CRYPTO_BAD_KEY');
      expect(codeOf(() => deriveLinkKeys({ ...inA, peerIdentity: v as never }))).to.equal('CRYPTO_BAD_KEY');
      if (v !== undefined) expect(codeOf(() => generateLinkKeyPair(v as never))).to.equal('CRYPTO_BAD_KEY');
    }
  });

  it('random 32-byte peer keys derive or are refused as low-order, nothing else (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (peer) => {
        try {
          const k = deriveLinkKeys({ ...inA, peerEphemeral: peer });
          expect(k.send.length).to.equal(32);
        } catch (err) {
          expect(err).to.be.instanceOf(KpcError);
          expect((err as KpcError).code).to.equal('CRYPTO_BAD_KEY');
        }
      }),
      { numRuns: 200 },
    );
  });
});
