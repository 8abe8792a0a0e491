/**
 * Node identity: an Ed25519 key pair and the node id derived from its public key.
 *
 * Ed25519 (RFC 8032) through `@noble/curves`: audited, pure JS, the same bytes in
 * every engine, and small keys (32 bytes) and signatures (64 bytes) that fit easily
 * in every envelope. Signatures are verified in strict RFC 8032 mode (not ZIP-215),
 * so a non-canonical encoding of a valid signature is rejected: an envelope has one
 * valid signature per signer, and nobody but the signer can mint a variant of it.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KpcError } from '../errors.js';
import { equalBytes, toHex } from './bytes.js';

/** Bytes in an Ed25519 public key. */
export const PUBLIC_KEY_BYTES = 32;
/** Bytes in an Ed25519 secret key (the RFC 8032 seed). */
export const SECRET_KEY_BYTES = 32;
/** Bytes in an Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** Bytes of SHA-256(publicKey) kept in a node id. */
export const NODE_ID_BYTES = 16;

/** A node's key pair and the id the rest of the cluster knows it by. */
export interface Identity {
  /** Ed25519 public key, 32 bytes. Travels in every envelope's `from` field. */
  readonly publicKey: Uint8Array;
  /** Ed25519 secret key (RFC 8032 seed), 32 bytes. Never leaves the node. */
  readonly secretKey: Uint8Array;
  /** {@link nodeIdFromPublicKey} of `publicKey`: 32 lowercase hex chars. */
  readonly nodeId: string;
}

const NODE_ID_RE = /^[0-9a-f]{32}$/;

function isBytes(v: unknown, len: number): v is Uint8Array {
  return v instanceof Uint8Array && v.length === len;
}

/**
 * The node id of a public key: the first 16 bytes of SHA-256(publicKey), as 32
 * lowercase hex chars.
 *
 * Why this form: it is *bound to the key* (nobody can claim an id without the
 * matching secret key, since every envelope carries the full key and is checked
 * against it); it is *short* (32 chars in topics, logs and UI instead of 64);
 * and it is *uniform* (hash output, so ids spread evenly for rendezvous hashing
 * and sort without bias, unlike raw Ed25519 points). 128 bits keeps accidental
 * collisions out of reach and a chosen collision at 2^64 work, far above the cost
 * of simply making new keys, which proof-of-π admission prices instead.
 * @throws KpcError `CRYPTO_BAD_KEY` unless `publicKey` is 32 bytes.
 */
export function nodeIdFromPublicKey(publicKey: Uint8Array): string {
  if (!isBytes(publicKey, PUBLIC_KEY_BYTES)) {
    throw new KpcError('CRYPTO_BAD_KEY', 'public key must be 32 bytes');
  }
  return toHex(sha256(publicKey).subarray(0, NODE_ID_BYTES));
}

/** Whether `value` has the form of a node id (32 lowercase hex chars). */
export function isNodeId(value: unknown): value is string {
  return typeof value === 'string' && NODE_ID_RE.test(value);
}

/** Identities whose public key was checked against their secret key (see {@link sign}). */
const checked = new WeakSet<Identity>();

/**
 * The identity of a secret key (copied, so later changes to `secretKey` do not
 * affect it).
 * @throws KpcError `CRYPTO_BAD_KEY` unless `secretKey` is 32 bytes.
 */
export function identityFromSecretKey(secretKey: Uint8Array): Identity {
  if (!isBytes(secretKey, SECRET_KEY_BYTES)) {
    throw new KpcError('CRYPTO_BAD_KEY', 'secret key must be 32 bytes');
  }
  const sk = Uint8Array.from(secretKey);
  const publicKey = ed25519.getPublicKey(sk);
  const identity: Identity = Object.freeze({ publicKey, secretKey: sk, nodeId: nodeIdFromPublicKey(publicKey) });
  checked.add(identity);
  return identity;
}

/** A fresh random identity (secret key from `crypto.getRandomValues`). */
export function generateIdentity(): Identity {
  return identityFromSecretKey(ed25519.utils.randomSecretKey());
}

/**
 * Ed25519 signature (64 bytes) of `message` by `identity`.
 *
 * The first time an identity object is used, its public key is checked against its
 * secret key: a hand-assembled identity with mismatched keys would otherwise sign
 * envelopes every receiver rejects, a failure far from its cause.
 * @throws KpcError `CRYPTO_BAD_KEY` for malformed or mismatched keys.
 */
export function sign(identity: Identity, message: Uint8Array): Uint8Array {
  if (!checked.has(identity)) {
    if (!identity || !isBytes(identity.secretKey, SECRET_KEY_BYTES) || !isBytes(identity.publicKey, PUBLIC_KEY_BYTES)) {
      throw new KpcError('CRYPTO_BAD_KEY', 'identity keys must be 32 bytes each');
    }
    if (!equalBytes(ed25519.getPublicKey(identity.secretKey), identity.publicKey)) {
      throw new KpcError('CRYPTO_BAD_KEY', 'identity public key does not match its secret key');
    }
    checked.add(identity);
  }
  if (!(message instanceof Uint8Array)) throw new KpcError('CRYPTO_BAD_ENCODING', 'message must be a Uint8Array');
  return ed25519.sign(message, identity.secretKey);
}

/**
 * Whether `signature` is a valid Ed25519 signature of `message` by `publicKey`
 * (strict RFC 8032 rules). Returns false, never throws, on any malformed input:
 * wrong types or lengths, a key that is not a curve point, a non-canonical scalar.
 */
export function verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isBytes(publicKey, PUBLIC_KEY_BYTES) || !isBytes(signature, SIGNATURE_BYTES)) return false;
  if (!(message instanceof Uint8Array)) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
