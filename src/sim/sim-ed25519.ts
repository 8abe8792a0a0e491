/**
 * A stand-in for `@noble/curves/ed25519.js` that the simulator can load in place of
 * the real one (see `sim-crypto.ts`). Real Ed25519 costs ~0.5 ms to sign and ~1.2 ms
 * to verify in pure JS; a 200-node cluster signs and verifies millions of envelopes,
 * which would make the simulator measure noble, not the node.
 *
 * Scheme (hash-based, same sizes as Ed25519, same accept/reject behaviour for
 * everything the simulator does):
 * - public key = SHA-256("kpc-sim-ed25519/pk" ‖ sk) (32 bytes); the key pair is remembered;
 * - signature = SHA-512(sk ‖ message) (64 bytes), deterministic like Ed25519;
 * - verify looks the secret key up by public key and recomputes: unknown keys, any
 *   changed bit of message, key or signature → false.
 * Anyone holding the table could forge, so this is for simulation only: the
 * byzantine nodes are programmed attackers, not cryptanalysts.
 */
import { createHash, randomBytes } from 'node:crypto';

const secrets = new Map<string, Uint8Array>();
const PK_DOMAIN = Buffer.from('kpc-sim-ed25519/pk');

function digest(alg: 'sha256' | 'sha512', a: Uint8Array, b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(alg).update(a).update(b).digest());
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The subset of noble's `ed25519` that `src/crypto/identity.ts` uses. */
export const ed25519 = Object.freeze({
  getPublicKey(secretKey: Uint8Array): Uint8Array {
    const pk = digest('sha256', PK_DOMAIN, secretKey);
    secrets.set(hexOf(pk), Uint8Array.from(secretKey));
    return pk;
  },
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
    return digest('sha512', secretKey, message);
  },
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, _opts?: unknown): boolean {
    const sk = secrets.get(hexOf(publicKey));
    return sk !== undefined && signature.length === 64 && equal(digest('sha512', sk, message), signature);
  },
  utils: Object.freeze({
    randomSecretKey: (): Uint8Array => new Uint8Array(randomBytes(32)),
  }),
});

(globalThis as { __kpcSimEd25519?: boolean }).__kpcSimEd25519 = true;
