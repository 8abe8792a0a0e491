/**
 * Crypto concern: byte helpers, Ed25519 node identities and their persistence,
 * and the X25519/HKDF/HMAC keys of authenticated links.
 * A leaf: it imports nothing from other concerns except the shared errors.
 */
export {
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from './bytes.js';
export {
  NODE_ID_BYTES,
  PUBLIC_KEY_BYTES,
  SECRET_KEY_BYTES,
  SIGNATURE_BYTES,
  generateIdentity,
  identityFromSecretKey,
  isNodeId,
  nodeIdFromPublicKey,
  sign,
  verify,
  type Identity,
} from './identity.js';
export {
  LINK_KEY_BYTES,
  LINK_TAG_BYTES,
  deriveLinkKeys,
  equalTags,
  generateLinkKeyPair,
  linkTag,
  type LinkKeyInput,
  type LinkKeyPair,
  type LinkKeys,
} from './link-keys.js';
export { IDENTITY_STORE, deleteIdentity, loadOrCreateIdentity, type IdentityStoreOptions } from './identity-store.js';
export { claimIdentitySlot, type SlotClaim } from './slot-lock.js';
