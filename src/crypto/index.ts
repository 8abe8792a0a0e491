/**
 * Crypto concern: byte helpers, Ed25519 node identities and their persistence.
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
export { IDENTITY_STORE, deleteIdentity, loadOrCreateIdentity, type IdentityStoreOptions } from './identity-store.js';
export { claimIdentitySlot, type SlotClaim } from './slot-lock.js';
