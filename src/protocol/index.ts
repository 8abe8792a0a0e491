/**
 * Protocol concern: the signed wire envelope, the message type registry, body
 * codecs and canonical JSON. A leaf above `crypto/`; it knows nothing of the mesh.
 */
export {
  MAX_CLUSTER_ID_LENGTH,
  MAX_PEERS,
  MAX_REASON_LENGTH,
  MAX_SIGNAL_BYTES,
  MAX_VV_AUTHORS,
  decodeBody,
  encodeBody,
  validateAnnounce,
  validateAdmit,
  validateGoodbye,
  validateHandshake,
  validateHeartbeat,
  validateHeartbeatAck,
  validateHello,
  validateSignal,
  validateSyncState,
  type BodyCodec,
} from './bodies.js';
export { MAX_JSON_DEPTH, canonicalJson, canonicalJsonBytes, parseCanonicalJson, type JsonValue } from './canonical-json.js';
export {
  DEFAULT_MAX_ENVELOPE_BYTES,
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_MAGIC,
  ENVELOPE_MIN_BYTES,
  ENVELOPE_SIGNING_DOMAIN,
  ENVELOPE_VERSION,
  LINK_ENVELOPE_DOMAIN,
  LINK_ENVELOPE_MIN_BYTES,
  LINK_ENVELOPE_VERSION,
  decodeEnvelope,
  encodeEnvelope,
  type DecodeOptions,
  type EncodeOptions,
} from './envelope.js';
export {
  MessageType,
  PROTOCOL_STATES,
  isMessageType,
  messageTypeName,
  type AdmitBody,
  type AnnounceBody,
  type BodyByType,
  type DecodedEnvelope,
  type GoodbyeBody,
  type HandshakeBody,
  type HeartbeatAckBody,
  type HeartbeatBody,
  type HelloBody,
  type Message,
  type MessageTypeCode,
  type MessageTypeName,
  type OutgoingMessage,
  type ProtocolState,
  type SignalBody,
  type SyncStateBody,
} from './types.js';
export { decodeEnvelopeText, envelopeFromText, envelopeToText, type TextOptions } from './wire-text.js';
