import { expect } from 'chai';
import fc from 'fast-check';
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  fromHex,
  generateIdentity,
  identityFromSecretKey,
  isNodeId,
  nodeIdFromPublicKey,
  sign,
  toHex,
  verify,
  type Identity,
} from '../../src/crypto/index.js';
import { codeOf } from '../helpers/errors.js';

/** RFC 8032 §7.1 test vectors 1 (empty message) and 2 (one byte). */
const RFC8032 = [
  {
    secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    message: '',
    signature:
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature:
      '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
];


/** Node's own Ed25519 (OpenSSL) as an independent oracle. */
function nodeVerifies(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(pk).toString('base64url') }, format: 'jwk' });
  return nodeVerify(null, msg, key, sig);
}

describe('Ed25519 identity', () => {
  it('matches the RFC 8032 known-answer tests', () => {
    for (const v of RFC8032) {
      const id = identityFromSecretKey(fromHex(v.secretKey));
      expect(toHex(id.publicKey)).to.equal(v.publicKey);
      const sig = sign(id, fromHex(v.message));
      expect(toHex(sig)).to.equal(v.signature);
      expect(verify(id.publicKey, fromHex(v.message), sig)).to.equal(true);
    }
  });

  it('derives the node id as the first 16 bytes of SHA-256(publicKey), lowercase hex', () => {
    const pk = fromHex(RFC8032[0].publicKey);
    const expected = createHash('sha256').update(pk).digest('hex').slice(0, 32);
    expect(nodeIdFromPublicKey(pk)).to.equal(expected);
    expect(identityFromSecretKey(fromHex(RFC8032[0].secretKey)).nodeId).to.equal(expected);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (key) => {
        const id = nodeIdFromPublicKey(key);
        expect(id).to.equal(createHash('sha256').update(key).digest('hex').slice(0, 32));
        expect(isNodeId(id)).to.equal(true);
      }),
    );
  });

  it('generates distinct, self-consistent identities', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    expect(a.publicKey).to.have.length(32);
    expect(a.secretKey).to.have.length(32);
    expect(a.nodeId).to.not.equal(b.nodeId);
    expect(identityFromSecretKey(a.secretKey).nodeId).to.equal(a.nodeId);
  });

  it('signatures verify here and in Node crypto, and fail for other messages or keys', () => {
    const ids = [generateIdentity(), generateIdentity()];
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ minLength: 1, maxLength: 200 }), (msg, other) => {
        const sig = sign(ids[0], msg);
        expect(verify(ids[0].publicKey, msg, sig)).to.equal(true);
        expect(nodeVerifies(ids[0].publicKey, msg, sig)).to.equal(true);
        expect(verify(ids[1].publicKey, msg, sig)).to.equal(false);
        const different = msg.length === other.length && msg.every((x, i) => x === other[i]);
        if (!different) expect(verify(ids[0].publicKey, other, sig)).to.equal(false);
      }),
      { numRuns: 50 },
    );
  });

  it('verify returns false, never throws, on malformed input', () => {
    const id = generateIdentity();
    const msg = new Uint8Array([1, 2, 3]);
    const sig = sign(id, msg);
    fc.assert(
      fc.property(fc.anything(), fc.anything(), fc.anything(), (a, b, c) => {
        expect(verify(a as Uint8Array, b as Uint8Array, c as Uint8Array)).to.equal(false);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (pk, s) => {
        expect(verify(pk, msg, s)).to.be.a('boolean');
      }),
      { numRuns: 50 },
    );
    // Non-canonical S (S + L) is rejected in strict mode.
    const L = 2n ** 252n + 27742317777372353535851937790883648493n;
    const s = sig.slice(32);
    let sInt = 0n;
    for (let i = 31; i >= 0; i--) sInt = (sInt << 8n) | BigInt(s[i]);
    sInt += L;
    const malleated = sig.slice();
    for (let i = 0; i < 32; i++) malleated[32 + i] = Number((sInt >> BigInt(8 * i)) & 0xffn);
    if (sInt < 2n ** 256n) expect(verify(id.publicKey, msg, malleated)).to.equal(false);
    expect(verify(id.publicKey, msg, sig.subarray(1))).to.equal(false);
    expect(verify(id.publicKey.subarray(1), msg, sig)).to.equal(false);
    expect(verify(new Uint8Array(32).fill(0xff), msg, sig)).to.equal(false);
  });

  it('rejects malformed and mismatched keys with CRYPTO_BAD_KEY', () => {
    expect(codeOf(() => identityFromSecretKey(new Uint8Array(31)))).to.equal('CRYPTO_BAD_KEY');
    expect(codeOf(() => identityFromSecretKey([1, 2] as unknown as Uint8Array))).to.equal('CRYPTO_BAD_KEY');
    expect(codeOf(() => nodeIdFromPublicKey(new Uint8Array(33)))).to.equal('CRYPTO_BAD_KEY');
    const a = generateIdentity();
    const b = generateIdentity();
    const forged: Identity = { publicKey: a.publicKey, secretKey: b.secretKey, nodeId: a.nodeId };
    expect(codeOf(() => sign(forged, new Uint8Array(1)))).to.equal('CRYPTO_BAD_KEY');
    const handMade: Identity = { publicKey: a.publicKey, secretKey: a.secretKey, nodeId: a.nodeId };
    expect(verify(a.publicKey, new Uint8Array(1), sign(handMade, new Uint8Array(1)))).to.equal(true);
  });

  it('copies the secret key it is given', () => {
    const sk = fromHex(RFC8032[0].secretKey);
    const id = identityFromSecretKey(sk);
    sk.fill(0);
    expect(toHex(id.secretKey)).to.equal(RFC8032[0].secretKey);
  });

  it('isNodeId accepts exactly 32 lowercase hex chars', () => {
    expect(isNodeId('0'.repeat(32))).to.equal(true);
    for (const bad of ['0'.repeat(31), '0'.repeat(33), 'A'.repeat(32), 'g'.repeat(32), 42, null]) {
      expect(isNodeId(bad)).to.equal(false);
    }
  });
});
