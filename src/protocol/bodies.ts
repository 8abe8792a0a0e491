/**
 * Body codecs: bytes ↔ typed bodies, with validation on both sides.
 *
 * The same validator runs when encoding and when decoding, so a node cannot send
 * what its peers would reject. Validators are strict: unknown keys are rejected
 * (a new field needs a new type code or wire version, never a silent extension),
 * and they return fresh objects holding only the known fields, so nothing else from
 * the parsed input (such as a `__proto__` key) reaches the caller.
 */
import { isNodeId } from '../crypto/identity.js';
import { KpcError } from '../errors.js';
import { canonicalJsonBytes, parseCanonicalJson } from './canonical-json.js';
import {
  MessageType,
  PROTOCOL_STATES,
  type AnnounceBody,
  type BodyByType,
  type GoodbyeBody,
  type HeartbeatAckBody,
  type HeartbeatBody,
  type AdmitBody,
  type HandshakeBody,
  type HelloBody,
  type MessageTypeCode,
  type ProtocolState,
  type SignalBody,
  type SyncStateBody,
} from './types.js';

/** Longest proof-of-π text (base64 of at most 436 bytes). */
export const MAX_PROOF_TEXT = 600;

/** Longest cluster id, in UTF-16 code units. */
export const MAX_CLUSTER_ID_LENGTH = 128;
/** Most node ids in a `peers` list. */
export const MAX_PEERS = 64;
/** Largest canonical JSON of a SIGNAL's `signal`, in bytes. */
export const MAX_SIGNAL_BYTES = 16 * 1024;
/** Longest GOODBYE reason, in UTF-16 code units. */
export const MAX_REASON_LENGTH = 256;

/** Encoder/decoder pair of one message type's body. */
export interface BodyCodec<B> {
  /** Validates `body` and returns its canonical bytes. @throws KpcError `PROTO_BAD_BODY` */
  encode(body: B): Uint8Array;
  /** Parses and validates body bytes. @throws KpcError `PROTO_BAD_BODY` */
  decode(bytes: Uint8Array): B;
}

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('PROTO_BAD_BODY', message, detail);
}

type Obj = Record<string, unknown>;

/** `v` as a plain object whose keys are all in `allowed` and include `required`. */
function expectShape(v: unknown, what: string, required: readonly string[], optional: readonly string[] = []): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} body must be a JSON object`);
  const o = v as Obj;
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) throw bad(`${what} body has unknown key "${k}"`, { key: k });
  }
  for (const k of required) {
    if (!Object.prototype.hasOwnProperty.call(o, k)) throw bad(`${what} body lacks "${k}"`, { key: k });
  }
  return o;
}

function expectString(v: unknown, field: string, min: number, max: number): string {
  if (typeof v !== 'string') throw bad(`${field} must be a string`);
  if (v.length < min || v.length > max) throw bad(`${field} length must be in ${min}..${max}`, { length: v.length });
  return v;
}

function expectState(v: unknown): ProtocolState {
  if (typeof v !== 'string' || !(PROTOCOL_STATES as readonly string[]).includes(v)) {
    throw bad('state must be one of ' + PROTOCOL_STATES.join(' '), { state: typeof v === 'string' ? v.slice(0, 32) : typeof v });
  }
  return v as ProtocolState;
}

function expectNonce(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad('nonce must be a non-negative safe integer');
  return v;
}

function expectNodeId(v: unknown, field: string): string {
  if (!isNodeId(v)) throw bad(`${field} must be a node id (32 lowercase hex chars)`);
  return v;
}

function expectPeers(v: unknown): string[] {
  if (!Array.isArray(v)) throw bad('peers must be an array');
  if (v.length > MAX_PEERS) throw bad(`peers holds more than ${MAX_PEERS} ids`, { count: v.length });
  const out: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < v.length; i++) {
    const id = expectNodeId(v[i], `peers[${i}]`);
    if (seen.has(id)) throw bad('peers has a duplicate id', { index: i });
    seen.add(id);
    out.push(id);
  }
  return out;
}

/** Wraps a validator into a canonical-JSON codec. */
function jsonCodec<B>(validate: (v: unknown) => B): BodyCodec<B> {
  return {
    encode(body) {
      return canonicalJsonBytes(validate(body));
    },
    decode(bytes) {
      return validate(parseCanonicalJson(bytes));
    },
  };
}

/** Validates an ANNOUNCE body. @throws KpcError `PROTO_BAD_BODY` */
export function validateAnnounce(v: unknown): AnnounceBody {
  const o = expectShape(v, 'ANNOUNCE', ['clusterId', 'state'], ['peers', 'proof']);
  const out: AnnounceBody = {
    clusterId: expectString(o.clusterId, 'clusterId', 1, MAX_CLUSTER_ID_LENGTH),
    state: expectState(o.state),
  };
  // An explicit `peers: undefined` from a local caller means "absent".
  if (o.peers !== undefined) out.peers = expectPeers(o.peers);
  // The proof is only shape-checked here; the mesh verifies it against the sender and cluster.
  if (o.proof !== undefined) out.proof = expectString(o.proof, 'proof', 1, MAX_PROOF_TEXT);
  return out;
}

/** Validates a SIGNAL body. @throws KpcError `PROTO_BAD_BODY` */
export function validateSignal(v: unknown): SignalBody {
  const o = expectShape(v, 'SIGNAL', ['to', 'signal']);
  const to = expectNodeId(o.to, 'to');
  const signal = o.signal;
  if (typeof signal !== 'object' || signal === null || Array.isArray(signal)) throw bad('signal must be a JSON object');
  // Measures the canonical form, so the limit is the same on both sides of the wire.
  const size = canonicalJsonBytes(signal).length;
  if (size > MAX_SIGNAL_BYTES) throw bad(`signal exceeds ${MAX_SIGNAL_BYTES} bytes`, { size });
  return { to, signal };
}

/** Validates a HELLO body. @throws KpcError `PROTO_BAD_BODY` */
export function validateHello(v: unknown): HelloBody {
  const o = expectShape(v, 'HELLO', ['clusterId', 'state']);
  return { clusterId: expectString(o.clusterId, 'clusterId', 1, MAX_CLUSTER_ID_LENGTH), state: expectState(o.state) };
}

/** Validates a HEARTBEAT body. @throws KpcError `PROTO_BAD_BODY` */
export function validateHeartbeat(v: unknown): HeartbeatBody {
  const o = expectShape(v, 'HEARTBEAT', ['nonce', 'state', 'peers']);
  return { nonce: expectNonce(o.nonce), state: expectState(o.state), peers: expectPeers(o.peers) };
}

/** Validates a HEARTBEAT_ACK body. @throws KpcError `PROTO_BAD_BODY` */
export function validateHeartbeatAck(v: unknown): HeartbeatAckBody {
  const o = expectShape(v, 'HEARTBEAT_ACK', ['nonce']);
  return { nonce: expectNonce(o.nonce) };
}

/** Longest link session id in a HANDSHAKE. */
export const MAX_SESSION_LENGTH = 64;
/** Longest DTLS fingerprint text in a HANDSHAKE. */
export const MAX_FINGERPRINT_LENGTH = 256;
const EPH_RE = /^[0-9a-f]{64}$/;

/** Validates a HANDSHAKE body. @throws KpcError `PROTO_BAD_BODY` */
export function validateHandshake(v: unknown): HandshakeBody {
  const o = expectShape(v, 'HANDSHAKE', ['session', 'to', 'eph'], ['fp']);
  const eph = o.eph;
  if (typeof eph !== 'string' || !EPH_RE.test(eph)) throw bad('eph must be 64 lowercase hex chars');
  const out: HandshakeBody = { session: expectString(o.session, 'session', 1, MAX_SESSION_LENGTH), to: expectNodeId(o.to, 'to'), eph };
  if (o.fp !== undefined) out.fp = expectString(o.fp, 'fp', 1, MAX_FINGERPRINT_LENGTH);
  return out;
}

/** Validates an ADMIT body (shape only: the mesh verifies the proof). @throws KpcError `PROTO_BAD_BODY` */
export function validateAdmit(v: unknown): AdmitBody {
  const o = expectShape(v, 'ADMIT', ['proof']);
  return { proof: expectString(o.proof, 'proof', 1, MAX_PROOF_TEXT) };
}

/** Validates a GOODBYE body. @throws KpcError `PROTO_BAD_BODY` */
export function validateGoodbye(v: unknown): GoodbyeBody {
  const o = expectShape(v, 'GOODBYE', ['reason']);
  return { reason: expectString(o.reason, 'reason', 0, MAX_REASON_LENGTH) };
}

/** Most authors a version vector may list. */
export const MAX_VV_AUTHORS = 4096;

/** Validates a SYNC_STATE body. @throws KpcError `PROTO_BAD_BODY` */
export function validateSyncState(v: unknown): SyncStateBody {
  const o = expectShape(v, 'SYNC_STATE', ['vv']);
  const vv = o.vv;
  if (typeof vv !== 'object' || vv === null || Array.isArray(vv)) throw bad('vv must be an object');
  const entries = Object.entries(vv as Obj);
  if (entries.length > MAX_VV_AUTHORS) throw bad(`vv lists more than ${MAX_VV_AUTHORS} authors`);
  const out: Record<string, number> = {};
  for (const [author, seq] of entries) {
    expectNodeId(author, 'vv key');
    if (typeof seq !== 'number' || !Number.isInteger(seq) || seq < 0 || seq > 0xffffffff) throw bad('vv values must be u32');
    out[author] = seq;
  }
  return { vv: out };
}

/** Raw-bytes bodies (APP, SYNC_DELTAS, CONSENSUS): copied so the caller's buffer may be reused. */
const rawCodec = (what: string): BodyCodec<Uint8Array> => ({
  encode(body) {
    if (!(body instanceof Uint8Array)) throw bad(`${what} body must be a Uint8Array`);
    return body;
  },
  decode(bytes) {
    return Uint8Array.from(bytes);
  },
});

/** The codec of every registered type. A missing entry is a compile error. */
export const BODY_CODECS: { readonly [T in MessageTypeCode]: BodyCodec<BodyByType[T]> } = Object.freeze({
  [MessageType.HELLO]: jsonCodec(validateHello),
  [MessageType.HEARTBEAT]: jsonCodec(validateHeartbeat),
  [MessageType.HEARTBEAT_ACK]: jsonCodec(validateHeartbeatAck),
  [MessageType.GOODBYE]: jsonCodec(validateGoodbye),
  [MessageType.HANDSHAKE]: jsonCodec(validateHandshake),
  [MessageType.ADMIT]: jsonCodec(validateAdmit),
  [MessageType.ANNOUNCE]: jsonCodec(validateAnnounce),
  [MessageType.SIGNAL]: jsonCodec(validateSignal),
  [MessageType.SYNC_STATE]: jsonCodec(validateSyncState),
  [MessageType.SYNC_DELTAS]: rawCodec('SYNC_DELTAS'),
  [MessageType.CONSENSUS]: rawCodec('CONSENSUS'),
  [MessageType.INFER]: rawCodec('INFER'),
  [MessageType.APP]: rawCodec('APP'),
});

/** Body bytes of `body` for message type `type`. @throws KpcError `PROTO_BAD_BODY` */
export function encodeBody<T extends MessageTypeCode>(type: T, body: BodyByType[T]): Uint8Array {
  return (BODY_CODECS[type] as BodyCodec<BodyByType[T]>).encode(body);
}

/** Validated body of `type` from its bytes. @throws KpcError `PROTO_BAD_BODY` */
export function decodeBody<T extends MessageTypeCode>(type: T, bytes: Uint8Array): BodyByType[T] {
  return (BODY_CODECS[type] as BodyCodec<BodyByType[T]>).decode(bytes);
}
