/**
 * The signed wire envelope (layout in docs/protocol.md).
 *
 * ```
 * offset  size  field
 *      0     2  magic 'KP' (0x4B 0x50)
 *      2     1  version (1)
 *      3     1  type (MessageType code)
 *      4    32  from: sender's Ed25519 public key
 *     36     4  seq, u32
 *     40     8  timestamp, u64 ms since epoch (≤ 2^53 − 1)
 *     48     4  bodyLength, u32
 *     52     n  body
 *   52+n    64  Ed25519 signature over 'kpc/envelope/v1' ‖ bytes [0, 52+n)
 * ```
 * Integers are big-endian. The envelope must be exactly 116 + n bytes long.
 *
 * Version 2 is the same layout with a 32-byte HMAC-SHA256 tag in place of the
 * signature, under a key one link's handshake agreed (spec §8.2; `src/crypto/link-keys.ts`):
 * what a node sends to a linked peer for that peer only. It is 84 + n bytes long and
 * is accepted only where the caller passes the link's key; version 1 only where it
 * does not. Whatever is relayed beyond one hop (deltas, votes) carries its author's
 * Ed25519 signature inside the body.
 *
 * Decoding never trusts the input: it rejects, in this order, oversize input, bad
 * magic/version, unknown types, bad lengths, clock skew (if asked), bad signatures
 * and bad bodies, cheapest checks first, and parses a body only once its signature
 * holds, so unauthenticated bytes never reach the JSON parser. Every failure, for any
 * input whatsoever, is a `KpcError`.
 */
import { concatBytes, utf8Encode } from '../crypto/bytes.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, nodeIdFromPublicKey, sign, verify, type Identity } from '../crypto/identity.js';
import { LINK_TAG_BYTES, equalTags, linkTag } from '../crypto/link-keys.js';
import { KpcError } from '../errors.js';
import { decodeBody, encodeBody } from './bodies.js';
import { isMessageType, messageTypeName, type DecodedEnvelope, type Message } from './types.js';

/** First two bytes of every envelope, as ASCII text. */
export const ENVELOPE_MAGIC = 'KP';
const MAGIC_0 = 0x4b; // 'K'
const MAGIC_1 = 0x50; // 'P'
/** Version byte of Ed25519-signed envelopes. */
export const ENVELOPE_VERSION = 1;
/** Version byte of HMAC-tagged link envelopes. */
export const LINK_ENVELOPE_VERSION = 2;
/** Bytes before the body. */
export const ENVELOPE_HEADER_BYTES = 52;
/** Smallest possible envelope: header, empty body, signature. */
export const ENVELOPE_MIN_BYTES = ENVELOPE_HEADER_BYTES + SIGNATURE_BYTES;
/** Smallest possible link (HMAC) envelope. */
export const LINK_ENVELOPE_MIN_BYTES = ENVELOPE_HEADER_BYTES + LINK_TAG_BYTES;
/** Default largest envelope accepted or produced: 64 KiB. */
export const DEFAULT_MAX_ENVELOPE_BYTES = 64 * 1024;
/**
 * Prefix of the signed bytes. It keeps an envelope signature from ever being valid
 * for another kind of message signed by the same key (e.g. a future proof or vote
 * format), and the `v1` ties it to this layout.
 */
export const ENVELOPE_SIGNING_DOMAIN = 'kpc/envelope/v1';
/** Prefix of the bytes a link envelope's HMAC covers. */
export const LINK_ENVELOPE_DOMAIN = 'kpc/link-envelope/v1';

const DOMAIN_BYTES = utf8Encode(ENVELOPE_SIGNING_DOMAIN);
const LINK_DOMAIN_BYTES = utf8Encode(LINK_ENVELOPE_DOMAIN);
const U32_MAX = 0xffffffff;

/** Options of {@link encodeEnvelope}. */
export interface EncodeOptions {
  /** Refuse to produce envelopes larger than this. Default 64 KiB. */
  maxBytes?: number;
  /** A link's send key: produce a version-2 envelope tagged with it instead of a signed one. */
  macKey?: Uint8Array;
}

/** Options of {@link decodeEnvelope}. */
export interface DecodeOptions {
  /** Reject anything larger, before parsing. Default 64 KiB. */
  maxBytes?: number;
  /** Current time in ms since the epoch for the skew check. Default `Date.now()`. */
  now?: number;
  /** If set, reject envelopes whose timestamp is further than this from `now`. */
  maxSkewMs?: number;
  /**
   * A link's receive key: accept only version-2 envelopes tagged with it. Without
   * it, only signed version-1 envelopes are accepted.
   */
  macKey?: Uint8Array;
}

function malformed(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('PROTO_MALFORMED', message, detail);
}

function limit(value: number | undefined): number {
  const v = value ?? DEFAULT_MAX_ENVELOPE_BYTES;
  if (!Number.isSafeInteger(v) || v < 0) throw new KpcError('PROTO_MALFORMED', 'maxBytes must be a non-negative integer');
  return v;
}

/** The bytes a signature covers: domain ‖ header ‖ body. */
function signedBytes(unsigned: Uint8Array): Uint8Array {
  return concatBytes(DOMAIN_BYTES, unsigned);
}

/**
 * Signs `msg` as `identity` and returns the envelope bytes.
 * @throws KpcError `PROTO_UNKNOWN_TYPE` (type), `PROTO_MALFORMED` (seq, timestamp),
 * `PROTO_BAD_BODY` (body), `PROTO_OVERSIZE` (result above `maxBytes`),
 * `CRYPTO_BAD_KEY` (identity).
 */
export function encodeEnvelope(identity: Identity, msg: Message, opts: EncodeOptions = {}): Uint8Array {
  const maxBytes = limit(opts.maxBytes);
  if (!msg || typeof msg !== 'object') throw malformed('message must be an object');
  const { type, seq, timestamp } = msg;
  if (!isMessageType(type)) throw new KpcError('PROTO_UNKNOWN_TYPE', `unknown message type ${String(type)}`, { type });
  if (!Number.isInteger(seq) || seq < 0 || seq > U32_MAX) throw malformed('seq must be a u32', { seq });
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw malformed('timestamp must be a non-negative safe integer', { timestamp });
  if (!identity || !(identity.publicKey instanceof Uint8Array) || identity.publicKey.length !== PUBLIC_KEY_BYTES) {
    throw new KpcError('CRYPTO_BAD_KEY', 'identity public key must be 32 bytes');
  }
  const body = encodeBody(type, msg.body as never);
  const mac = opts.macKey;
  if (mac !== undefined && !(mac instanceof Uint8Array && mac.length === 32)) throw new KpcError('CRYPTO_BAD_KEY', 'link key must be 32 bytes');
  const total = (mac ? LINK_ENVELOPE_MIN_BYTES : ENVELOPE_MIN_BYTES) + body.length;
  if (total > maxBytes) throw new KpcError('PROTO_OVERSIZE', `envelope of ${total} bytes exceeds ${maxBytes}`, { size: total, maxBytes });

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = mac ? LINK_ENVELOPE_VERSION : ENVELOPE_VERSION;
  out[3] = type;
  out.set(identity.publicKey, 4);
  view.setUint32(36, seq);
  view.setBigUint64(40, BigInt(timestamp));
  view.setUint32(48, body.length);
  out.set(body, ENVELOPE_HEADER_BYTES);
  const unsigned = out.subarray(0, ENVELOPE_HEADER_BYTES + body.length);
  out.set(mac ? linkTag(mac, LINK_DOMAIN_BYTES, unsigned) : sign(identity, signedBytes(unsigned)), unsigned.length);
  return out;
}

function decodeUnchecked(input: unknown, opts: DecodeOptions): DecodedEnvelope {
  // 1. size: before looking at any byte, so oversize input costs nothing to refuse.
  if (!(input instanceof Uint8Array)) throw malformed('envelope must be a Uint8Array');
  const maxBytes = limit(opts.maxBytes);
  if (input.length > maxBytes) throw new KpcError('PROTO_OVERSIZE', `envelope of ${input.length} bytes exceeds ${maxBytes}`, { size: input.length, maxBytes });
  // 2. magic and version: signed (1) outside a link session, tagged (2) inside one.
  if (input.length < 4) throw malformed('envelope too short', { size: input.length });
  if (input[0] !== MAGIC_0 || input[1] !== MAGIC_1) throw malformed('bad magic');
  const mac = opts.macKey;
  if (mac !== undefined && !(mac instanceof Uint8Array && mac.length === 32)) throw new KpcError('CRYPTO_BAD_KEY', 'link key must be 32 bytes');
  const version = input[2];
  if (version !== ENVELOPE_VERSION && version !== LINK_ENVELOPE_VERSION) {
    throw new KpcError('PROTO_BAD_VERSION', `unsupported envelope version ${version}`, { version });
  }
  if (mac && version !== LINK_ENVELOPE_VERSION) throw new KpcError('PROTO_BAD_MAC', 'a link with a session takes only HMAC-tagged envelopes', { version });
  if (!mac && version !== ENVELOPE_VERSION) throw new KpcError('PROTO_BAD_VERSION', 'an HMAC-tagged envelope outside a link session', { version });
  // 3. known type.
  const type = input[3];
  if (!isMessageType(type)) throw new KpcError('PROTO_UNKNOWN_TYPE', `unknown message type 0x${type.toString(16).padStart(2, '0')}`, { type });
  // 4. lengths and header fields.
  const minBytes = mac ? LINK_ENVELOPE_MIN_BYTES : ENVELOPE_MIN_BYTES;
  if (input.length < minBytes) throw malformed('envelope too short', { size: input.length });
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const bodyLength = view.getUint32(48);
  if (input.length !== minBytes + bodyLength) {
    throw malformed('body length does not match envelope size', { bodyLength, size: input.length });
  }
  const seq = view.getUint32(36);
  const ts = view.getBigUint64(40);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed('timestamp beyond 2^53 - 1');
  const timestamp = Number(ts);
  // 5. clock skew (optional): cheap, so before the signature check.
  if (opts.maxSkewMs !== undefined) {
    const now = opts.now ?? Date.now();
    if (!(opts.maxSkewMs >= 0) || !Number.isFinite(now)) throw malformed('maxSkewMs must be >= 0 and now finite');
    if (Math.abs(timestamp - now) > opts.maxSkewMs) {
      throw new KpcError('PROTO_CLOCK_SKEW', 'envelope timestamp too far from local clock', { timestamp, now, maxSkewMs: opts.maxSkewMs });
    }
  }
  // 6. signature or tag.
  const bytes = Uint8Array.from(input); // a private copy: the caller may reuse its buffer
  const from = bytes.slice(4, 4 + PUBLIC_KEY_BYTES);
  const bodyEnd = ENVELOPE_HEADER_BYTES + bodyLength;
  if (mac) {
    if (!equalTags(linkTag(mac, LINK_DOMAIN_BYTES, bytes.subarray(0, bodyEnd)), bytes.subarray(bodyEnd))) {
      throw new KpcError('PROTO_BAD_MAC', 'link envelope tag does not verify', { type: messageTypeName(type) });
    }
  } else if (!verify(from, signedBytes(bytes.subarray(0, bodyEnd)), bytes.subarray(bodyEnd))) {
    throw new KpcError('PROTO_BAD_SIGNATURE', 'envelope signature does not verify', { type: messageTypeName(type) });
  }
  // 7. body, only now that it is authenticated.
  let body: unknown;
  try {
    body = decodeBody(type, bytes.subarray(ENVELOPE_HEADER_BYTES, bodyEnd));
  } catch (err) {
    if (err instanceof KpcError && err.code === 'PROTO_BAD_BODY') throw err;
    throw new KpcError('PROTO_BAD_BODY', `invalid ${messageTypeName(type)} body: ${String(err)}`);
  }
  return { version, type, from, fromId: nodeIdFromPublicKey(from), seq, timestamp, body, bytes } as DecodedEnvelope;
}

/**
 * Verifies and decodes envelope bytes.
 *
 * Checks, in order: size (`PROTO_OVERSIZE`), magic (`PROTO_MALFORMED`) and version
 * (`PROTO_BAD_VERSION`), type (`PROTO_UNKNOWN_TYPE`), lengths (`PROTO_MALFORMED`),
 * optional clock skew (`PROTO_CLOCK_SKEW`), signature (`PROTO_BAD_SIGNATURE`) or, with
 * `macKey`, the link tag (`PROTO_BAD_MAC`), body (`PROTO_BAD_BODY`). Replay (a repeated `(fromId, seq, timestamp)`) is the
 * receiver's to track; the skew window bounds how long it must remember.
 * @throws KpcError for any invalid input, and never any other exception type.
 */
export function decodeEnvelope(input: Uint8Array, opts: DecodeOptions = {}): DecodedEnvelope {
  try {
    return decodeUnchecked(input, opts);
  } catch (err) {
    if (err instanceof KpcError) throw err;
    // Defence in depth: an unforeseen exception is still a typed rejection.
    throw new KpcError('PROTO_MALFORMED', `envelope could not be decoded: ${String(err)}`);
  }
}
