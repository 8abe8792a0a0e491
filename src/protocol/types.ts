/**
 * The message type registry and the typed shape of every message.
 *
 * Codes are grouped in ranges so later concerns get a block each and a code's
 * range already says what it is for. Adding a type means: a code here, a body type
 * in {@link BodyByType}, and a codec in `bodies.ts` (the compiler insists on all three).
 *
 * | range       | purpose                                  |
 * | ----------- | ---------------------------------------- |
 * | `0x00`      | never valid (catches zeroed buffers)     |
 * | `0x01–0x0F` | link control (data channel)              |
 * | `0x10–0x1F` | discovery and signaling                  |
 * | `0x20–0x2F` | reserved: state sync (CRDT deltas)       |
 * | `0x30–0x3F` | reserved: consensus (proposals, votes)   |
 * | `0x40–0x4F` | reserved: admission (proof-of-π)         |
 * | `0x50–0x5F` | reserved: inference (activations, jobs)  |
 * | `0xF0–0xFF` | application payloads                     |
 */

/** Message type codes (the envelope's `type` byte). */
export const MessageType = Object.freeze({
  /** First message on a new data channel: who I am, which cluster, my state. */
  HELLO: 0x01,
  /** Periodic liveness probe carrying the sender's state and direct peers. */
  HEARTBEAT: 0x02,
  /** Reply to a HEARTBEAT, echoing its nonce (for round-trip time). */
  HEARTBEAT_ACK: 0x03,
  /** The sender is closing the link on purpose. */
  GOODBYE: 0x04,
  /**
   * First message on a new data channel, signed: binds the sender's identity to this
   * link and carries its ephemeral X25519 key. Everything after it on the link is
   * HMAC-tagged under the keys the two handshakes agree (spec §8.2).
   */
  HANDSHAKE: 0x05,
  /** Presence in a cluster, published through signaling servers. */
  ANNOUNCE: 0x10,
  /** A WebRTC offer/answer/candidate for one node, relayed by signaling servers. */
  SIGNAL: 0x11,
  /** Anti-entropy: the sender's version vector (what it has of each author's deltas). */
  SYNC_STATE: 0x20,
  /** Signed CRDT deltas, framed by the sync layer (each verified against its author). */
  SYNC_DELTAS: 0x21,
  /** A consensus message (proposal, vote or certificate), framed and signed by the consensus layer. */
  CONSENSUS: 0x30,
  /**
   * The sender's current proof-of-π, on a link: sent when the link opens and whenever a
   * new epoch's proof is solved, so a peer whose proof lapses loses its links too.
   */
  ADMIT: 0x40,
  /** Inference pipeline frames (activations, requests, results), framed by the inference layer. */
  INFER: 0x50,
  /** Opaque application bytes. */
  APP: 0xf0,
} as const);

/** Name of a registered message type, e.g. `'HELLO'`. */
export type MessageTypeName = keyof typeof MessageType;
/** Code of a registered message type, e.g. `0x01`. */
export type MessageTypeCode = (typeof MessageType)[MessageTypeName];

const NAME_BY_CODE: ReadonlyMap<number, MessageTypeName> = new Map(
  (Object.keys(MessageType) as MessageTypeName[]).map((name) => [MessageType[name], name]),
);

/** Whether `code` is a registered message type. */
export function isMessageType(code: unknown): code is MessageTypeCode {
  return typeof code === 'number' && NAME_BY_CODE.has(code);
}

/** Name of a registered code, or `undefined` for unknown codes. */
export function messageTypeName(code: number): MessageTypeName | undefined {
  return NAME_BY_CODE.get(code);
}

/**
 * Lifecycle state names a peer may report (spec §3). Kept here rather than imported
 * from `state/` because protocol is a leaf; a test checks both lists agree.
 */
export const PROTOCOL_STATES = Object.freeze([
  'BOOTSTRAP',
  'DISCOVERING',
  'CONNECTING',
  'SYNCING',
  'READY',
  'DEGRADED',
  'RECOVERING',
  'OFFLINE',
] as const);

/** A lifecycle state name as carried on the wire. */
export type ProtocolState = (typeof PROTOCOL_STATES)[number];

/** ANNOUNCE: presence in a cluster. */
export interface AnnounceBody {
  /** Cluster id, 1–128 chars. */
  clusterId: string;
  /** Sender's lifecycle state. */
  state: ProtocolState;
  /** Sender's direct peers (node ids), at most 64, no duplicates. */
  peers?: string[];
  /** Proof-of-π admission (base64 of the encoded proof), where the cluster requires one. */
  proof?: string;
}

/** SIGNAL: WebRTC negotiation data for one node. */
export interface SignalBody {
  /** Recipient node id. */
  to: string;
  /** The signal (SDP or ICE candidate JSON); a plain JSON object, ≤ 16 KiB canonical. */
  signal: object;
}

/** HELLO: first message on a data channel. */
export interface HelloBody {
  /** Cluster id, 1–128 chars. */
  clusterId: string;
  /** Sender's lifecycle state. */
  state: ProtocolState;
}

/** HEARTBEAT: liveness probe. */
export interface HeartbeatBody {
  /** Echoed by the ACK; a non-negative safe integer. */
  nonce: number;
  /** Sender's lifecycle state. */
  state: ProtocolState;
  /** Sender's direct peers (node ids), at most 64, no duplicates. */
  peers: string[];
}

/** HEARTBEAT_ACK: reply to a HEARTBEAT. */
export interface HeartbeatAckBody {
  /** The HEARTBEAT's nonce. */
  nonce: number;
}

/** HANDSHAKE: the signed start of an authenticated link. */
export interface HandshakeBody {
  /** The link session id negotiated in the signed SIGNALs, 1–64 chars. */
  session: string;
  /** The node id this handshake is for. */
  to: string;
  /** The sender's ephemeral X25519 public key, 64 lowercase hex chars. */
  eph: string;
  /**
   * The sender's DTLS certificate fingerprint as in its SDP (`"sha-256 AB:…"`), where
   * the transport has one: the receiver checks it against the SDP it negotiated.
   */
  fp?: string;
}

/** ADMIT: proof-of-π admission shown on a link. */
export interface AdmitBody {
  /** Base64 of the encoded proof, as in ANNOUNCE. */
  proof: string;
}

/** GOODBYE: deliberate close. */
export interface GoodbyeBody {
  /** Human-readable reason, ≤ 256 chars. */
  reason: string;
}

/** SYNC_STATE: a version vector, author node id → highest contiguous delta seq held. */
export interface SyncStateBody {
  vv: Record<string, number>;
}

/** Body type of each message type. */
export interface BodyByType {
  [MessageType.HELLO]: HelloBody;
  [MessageType.HEARTBEAT]: HeartbeatBody;
  [MessageType.HEARTBEAT_ACK]: HeartbeatAckBody;
  [MessageType.GOODBYE]: GoodbyeBody;
  [MessageType.HANDSHAKE]: HandshakeBody;
  [MessageType.ADMIT]: AdmitBody;
  [MessageType.ANNOUNCE]: AnnounceBody;
  [MessageType.SIGNAL]: SignalBody;
  [MessageType.SYNC_STATE]: SyncStateBody;
  [MessageType.SYNC_DELTAS]: Uint8Array;
  [MessageType.CONSENSUS]: Uint8Array;
  [MessageType.INFER]: Uint8Array;
  [MessageType.APP]: Uint8Array;
}

/** A message before sequencing: what application code hands to a sender. */
export type OutgoingMessage = {
  [T in MessageTypeCode]: { type: T; body: BodyByType[T] };
}[MessageTypeCode];

/** A message ready to be signed: type, per-sender sequence number, time, body. */
export type Message = {
  [T in MessageTypeCode]: {
    type: T;
    /** Per-sender sequence number, u32, increasing. */
    seq: number;
    /** Milliseconds since the Unix epoch, a non-negative safe integer. */
    timestamp: number;
    body: BodyByType[T];
  };
}[MessageTypeCode];

/** A verified, validated envelope. Narrow on `type` to get a typed `body`. */
export type DecodedEnvelope = {
  [T in MessageTypeCode]: {
    /** Envelope version: 1 signed, 2 HMAC-tagged on a link. */
    version: number;
    type: T;
    /** Sender's Ed25519 public key (32 bytes). */
    from: Uint8Array;
    /** Sender's node id, derived from `from`. */
    fromId: string;
    seq: number;
    timestamp: number;
    body: BodyByType[T];
    /** The exact envelope bytes that were verified (a copy), e.g. for relaying. */
    bytes: Uint8Array;
  };
}[MessageTypeCode];
