/**
 * Pairwise link keys (spec §8.2, read in docs/security.md): an ephemeral X25519
 * exchange, HKDF-SHA256 into one key per direction, and HMAC-SHA256 tags.
 *
 * Each side of a new data channel makes a fresh X25519 key pair and sends its
 * public half in a handshake it signs with its Ed25519 identity (`src/mesh/`).
 * Both then derive the same two 32-byte keys from the shared secret. The HKDF
 * info binds the keys to both identities, both ephemeral keys and the link
 * session, so a key is good for one link in one direction and nothing else:
 * a frame reflected back at its sender, or moved to another link, fails its tag.
 *
 * Ephemeral secrets never leave memory and are dropped with the link, so a
 * recorded session stays sealed even if an identity key leaks later.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { KpcError } from '../errors.js';
import { concatBytes, utf8Encode } from './bytes.js';

/** Bytes of an X25519 public or secret key. */
export const LINK_KEY_BYTES = 32;
/** Bytes of an HMAC-SHA256 tag. */
export const LINK_TAG_BYTES = 32;

const HKDF_SALT = utf8Encode('kpc/link/v1');
const HKDF_INFO = utf8Encode('kpc/link-key/v1\0');

/** One side's ephemeral X25519 key pair for one link. */
export interface LinkKeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The two keys of one link, seen from one side. */
export interface LinkKeys {
  /** Tags what this side sends. */
  readonly send: Uint8Array;
  /** Checks what the other side sends. */
  readonly recv: Uint8Array;
}

/** What both sides must agree on to derive the same {@link LinkKeys}. */
export interface LinkKeyInput {
  own: LinkKeyPair;
  /** The peer's ephemeral X25519 public key, from its signed handshake. */
  peerEphemeral: Uint8Array;
  /** This node's Ed25519 public key. */
  ownIdentity: Uint8Array;
  /** The peer's Ed25519 public key (the key that signed its handshake). */
  peerIdentity: Uint8Array;
  /** The link session id both sides negotiated through signaling. */
  session: string;
}

/**
 * A fresh ephemeral key pair, from the platform's CSPRNG, or from `secret` (32 bytes)
 * where a caller supplies its own randomness (the deterministic simulator does).
 */
export function generateLinkKeyPair(secret?: Uint8Array): LinkKeyPair {
  if (secret !== undefined && !(secret instanceof Uint8Array && secret.length === LINK_KEY_BYTES)) {
    throw new KpcError('CRYPTO_BAD_KEY', 'link secret key must be 32 bytes');
  }
  const secretKey = secret ?? x25519.utils.randomSecretKey();
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) };
}

function directionalKey(shared: Uint8Array, sender: Uint8Array, receiver: Uint8Array, senderEph: Uint8Array, receiverEph: Uint8Array, session: Uint8Array): Uint8Array {
  const info = concatBytes(HKDF_INFO, sender, receiver, senderEph, receiverEph, session);
  return hkdf(sha256, shared, HKDF_SALT, info, 32);
}

/**
 * Derives this side's send and receive keys.
 * @throws KpcError `CRYPTO_BAD_KEY` for keys of the wrong size, or a peer key that
 * gives an all-zero shared secret (a low-order point: the peer would know the key
 * without having a secret).
 */
export function deriveLinkKeys(input: LinkKeyInput): LinkKeys {
  const { own, peerEphemeral, ownIdentity, peerIdentity } = input;
  for (const k of [own.secretKey, own.publicKey, peerEphemeral, ownIdentity, peerIdentity]) {
    if (!(k instanceof Uint8Array) || k.length !== LINK_KEY_BYTES) throw new KpcError('CRYPTO_BAD_KEY', 'link keys must be 32 bytes');
  }
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(own.secretKey, peerEphemeral);
  } catch {
    throw new KpcError('CRYPTO_BAD_KEY', 'peer ephemeral key is a low-order point');
  }
  if (shared.every((b) => b === 0)) throw new KpcError('CRYPTO_BAD_KEY', 'peer ephemeral key is a low-order point');
  const session = utf8Encode(input.session);
  return {
    send: directionalKey(shared, ownIdentity, peerIdentity, own.publicKey, peerEphemeral, session),
    recv: directionalKey(shared, peerIdentity, ownIdentity, peerEphemeral, own.publicKey, session),
  };
}

/** HMAC-SHA256 of the concatenation of `parts` under `key` (no copy of the parts). */
export function linkTag(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = hmac.create(sha256, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Compares two tags in time that depends only on their length. */
export function equalTags(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
