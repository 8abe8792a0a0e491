/**
 * Deltas on the wire and on disk: one canonical binary encoding, signed once by
 * the author.
 *
 * Layout (all integers big-endian; "u53" is a u64 that must be ≤ 2^53 − 1):
 *
 * ```
 * u8    format version (1)
 * 32    author Ed25519 public key
 * u53   seq (≥ 1)
 * u32   number of writes n (≥ 1)
 * n × write:
 *   u16   key length in bytes, then the key in UTF-8
 *   u8    kind code (1 json, 2 bytes, 3 weights; others: unknown kind)
 *   u8    flags: bit 0 = has value, bit 1 = has checksum; other bits 0
 *   u53   ts.wall, u16 ts.counter
 *   [has value]    u32 length, then the value (json: canonical JSON in UTF-8; else raw)
 *   [has checksum] 32 bytes SHA-256 of the value
 * 64    Ed25519 signature of  "kpc/delta/v1" ‖ 0x00 ‖ every byte above
 * ```
 *
 * Every delta has exactly one accepted encoding (lengths are exact, flags and JSON
 * canonical, UTF-8 strict, signatures strict RFC 8032), so
 * `encodeDelta(decodeDelta(b))` is `b` and byte comparison is value comparison.
 * The author's node id is not on the wire: it is derived from the key, so a relayed
 * delta is always verified against its author, never against whoever relayed it.
 */
import { concatBytes, equalBytes, utf8Encode } from '../crypto/bytes.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, nodeIdFromPublicKey, sign, verify, type Identity } from '../crypto/identity.js';
import { KpcError, type KpcErrorCode } from '../errors.js';
import type { Delta, EntryWrite } from './types.js';
import {
  CHECKSUM_BYTES,
  FLAG_CHECKSUM,
  FLAG_VALUE,
  WRITE_FIXED_BYTES,
  prepareWrite,
  validateRawWrite,
  type PreparedWrite,
  type RawWrite,
} from './write.js';

/** Signature domain: a delta signature can never be mistaken for any other signed message. */
export const DELTA_DOMAIN = 'kpc/delta/v1';
/** Encoding format version (first byte). */
export const DELTA_FORMAT_VERSION = 1;
/** Default limit on an encoded delta, for {@link decodeDelta} and for replicas' batches. */
export const DEFAULT_MAX_DELTA_BYTES = 256 * 1024;
/** Bytes of a delta besides its writes: header plus signature. */
export const DELTA_OVERHEAD_BYTES = 1 + PUBLIC_KEY_BYTES + 8 + 4 + SIGNATURE_BYTES;

const DOMAIN_PREFIX = utf8Encode(`${DELTA_DOMAIN}\0`);
const HEADER_BYTES = DELTA_OVERHEAD_BYTES - SIGNATURE_BYTES;
const U32 = 0x1_0000_0000;

/** Deltas this module verified or signed itself (frozen objects: safe to trust again). */
const verified = new WeakSet<Delta>();

function fail(code: KpcErrorCode, message: string, detail?: Record<string, unknown>): never {
  throw new KpcError(code, message, detail);
}

function writeU53(view: DataView, off: number, n: number): void {
  view.setUint32(off, Math.floor(n / U32));
  view.setUint32(off + 4, n % U32);
}

function encodeBody(authorKey: Uint8Array, seq: number, writes: readonly PreparedWrite[]): Uint8Array {
  let size = HEADER_BYTES;
  for (const p of writes) size += p.size;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out[0] = DELTA_FORMAT_VERSION;
  out.set(authorKey, 1);
  writeU53(view, 33, seq);
  view.setUint32(41, writes.length);
  let off = HEADER_BYTES;
  for (const p of writes) {
    view.setUint16(off, p.keyBytes.length);
    out.set(p.keyBytes, off + 2);
    off += 2 + p.keyBytes.length;
    out[off] = p.kindCode;
    out[off + 1] = (p.valueBytes ? FLAG_VALUE : 0) | (p.checksumBytes ? FLAG_CHECKSUM : 0);
    writeU53(view, off + 2, p.write.ts.wall);
    view.setUint16(off + 10, p.write.ts.counter);
    off += 12;
    if (p.valueBytes) {
      view.setUint32(off, p.valueBytes.length);
      out.set(p.valueBytes, off + 4);
      off += 4 + p.valueBytes.length;
    }
    if (p.checksumBytes) {
      out.set(p.checksumBytes, off);
      off += CHECKSUM_BYTES;
    }
  }
  return out;
}

function checkSeq(seq: unknown, bad: KpcErrorCode): asserts seq is number {
  if (!Number.isSafeInteger(seq) || (seq as number) < 1) fail(bad, 'seq must be a safe integer ≥ 1', { seq });
}

/**
 * Signs already-prepared writes as delta `seq` of `identity` (what replicas use).
 * @throws KpcError `SYNC_BAD_WRITE` (bad seq, no writes), `PROTO_OVERSIZE` if the
 * encoding would exceed `maxBytes`, `CRYPTO_BAD_KEY` for a broken identity.
 */
export function signPreparedDelta(
  identity: Identity,
  seq: number,
  writes: readonly PreparedWrite[],
  maxBytes: number = DEFAULT_MAX_DELTA_BYTES,
): Delta {
  checkSeq(seq, 'SYNC_BAD_WRITE');
  if (writes.length === 0) fail('SYNC_BAD_WRITE', 'a delta needs at least one write');
  const body = encodeBody(identity.publicKey, seq, writes);
  if (body.length + SIGNATURE_BYTES > maxBytes) {
    fail('PROTO_OVERSIZE', `delta of ${body.length + SIGNATURE_BYTES} bytes exceeds ${maxBytes}`);
  }
  const signature = sign(identity, concatBytes(DOMAIN_PREFIX, body));
  const delta: Delta = Object.freeze({
    author: identity.nodeId,
    authorKey: identity.publicKey.slice(),
    seq,
    writes: Object.freeze(writes.map((p) => p.write)),
    signature,
  });
  verified.add(delta);
  return delta;
}

/**
 * Delta number `seq` of `identity`, holding `writes`, signed once.
 *
 * Binary writes get their checksum computed if absent (and checked if present).
 * Values are copied, so the delta does not change if the caller's objects do.
 * @throws KpcError `SYNC_BAD_WRITE`, `SYNC_UNKNOWN_KIND`, `SYNC_BAD_CHECKSUM`,
 * `PROTO_OVERSIZE` (above {@link DEFAULT_MAX_DELTA_BYTES}), `CRYPTO_BAD_KEY`.
 */
export function signDelta(identity: Identity, seq: number, writes: EntryWrite[]): Delta {
  if (!Array.isArray(writes)) fail('SYNC_BAD_WRITE', 'writes must be an array');
  return signPreparedDelta(identity, seq, writes.map((w) => prepareWrite(w, 'SYNC_BAD_WRITE')));
}

/**
 * The canonical encoding of `d` (a fresh array each call).
 * @throws KpcError `SYNC_BAD_DELTA` (or a write's kind/checksum code) if `d` is not
 * a well-formed delta; the signature itself is not checked here.
 */
export function encodeDelta(d: Delta): Uint8Array {
  if (typeof d !== 'object' || d === null) fail('SYNC_BAD_DELTA', 'delta must be an object');
  const { authorKey, author, seq, writes, signature } = d;
  if (!(authorKey instanceof Uint8Array) || authorKey.length !== PUBLIC_KEY_BYTES) {
    fail('SYNC_BAD_DELTA', 'authorKey must be 32 bytes');
  }
  if (author !== nodeIdFromPublicKey(authorKey)) fail('SYNC_BAD_DELTA', 'author is not the node id of authorKey');
  checkSeq(seq, 'SYNC_BAD_DELTA');
  if (!Array.isArray(writes) || writes.length === 0) fail('SYNC_BAD_DELTA', 'writes must be a non-empty array');
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) {
    fail('SYNC_BAD_DELTA', 'signature must be 64 bytes');
  }
  const body = encodeBody(authorKey, seq, writes.map((w) => prepareWrite(w, 'SYNC_BAD_DELTA')));
  return concatBytes(body, signature);
}

/** Bounds-checked reader; every overrun is `SYNC_BAD_DELTA`. */
class Reader {
  off = 0;
  readonly #view: DataView;
  constructor(readonly bytes: Uint8Array, readonly end: number) {
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  #need(n: number): number {
    if (this.off + n > this.end) fail('SYNC_BAD_DELTA', 'delta is truncated', { at: this.off });
    const at = this.off;
    this.off += n;
    return at;
  }
  u8(): number {
    return this.bytes[this.#need(1)];
  }
  u16(): number {
    return this.#view.getUint16(this.#need(2));
  }
  u32(): number {
    return this.#view.getUint32(this.#need(4));
  }
  u53(): number {
    const at = this.#need(8);
    const hi = this.#view.getUint32(at);
    if (hi > 0x1f_ffff) fail('SYNC_BAD_DELTA', 'integer above 2^53 - 1', { at });
    return hi * U32 + this.#view.getUint32(at + 4);
  }
  take(n: number): Uint8Array {
    const at = this.#need(n);
    return this.bytes.slice(at, at + n);
  }
}

function parseShape(bytes: Uint8Array): { authorKey: Uint8Array; seq: number; raw: RawWrite[]; bodyEnd: number } {
  if (bytes.length < DELTA_OVERHEAD_BYTES) fail('SYNC_BAD_DELTA', 'delta is too short');
  const bodyEnd = bytes.length - SIGNATURE_BYTES;
  const r = new Reader(bytes, bodyEnd);
  const version = r.u8();
  if (version !== DELTA_FORMAT_VERSION) fail('SYNC_BAD_DELTA', `unsupported delta format ${version}`, { version });
  const authorKey = r.take(PUBLIC_KEY_BYTES);
  const seq = r.u53();
  checkSeq(seq, 'SYNC_BAD_DELTA');
  const count = r.u32();
  if (count === 0) fail('SYNC_BAD_DELTA', 'a delta needs at least one write');
  if (count * WRITE_FIXED_BYTES > bodyEnd - r.off) fail('SYNC_BAD_DELTA', 'write count exceeds the delta size', { count });
  const raw: RawWrite[] = [];
  for (let i = 0; i < count; i++) {
    const keyBytes = r.take(r.u16());
    const kindCode = r.u8();
    const flags = r.u8();
    if ((flags & ~(FLAG_VALUE | FLAG_CHECKSUM)) !== 0) fail('SYNC_BAD_DELTA', 'unknown write flags', { flags });
    const wall = r.u53();
    const counter = r.u16();
    const value = flags & FLAG_VALUE ? r.take(r.u32()) : null;
    const checksum = flags & FLAG_CHECKSUM ? r.take(CHECKSUM_BYTES) : null;
    raw.push({ keyBytes, kindCode, flags, wall, counter, value, checksum });
  }
  if (r.off !== bodyEnd) fail('SYNC_BAD_DELTA', 'trailing bytes after the writes');
  return { authorKey, seq, raw, bodyEnd };
}

function decode(bytes: unknown, maxBytes: number, checkSignature: boolean): Delta {
  if (!(bytes instanceof Uint8Array)) fail('SYNC_BAD_DELTA', 'delta must be a Uint8Array');
  if (bytes.length > maxBytes) fail('PROTO_OVERSIZE', `delta of ${bytes.length} bytes exceeds ${maxBytes}`);
  const { authorKey, seq, raw, bodyEnd } = parseShape(bytes);
  const signature = bytes.slice(bodyEnd);
  if (checkSignature) {
    const message = concatBytes(DOMAIN_PREFIX, bytes.subarray(0, bodyEnd));
    if (!verify(authorKey, message, signature)) fail('PROTO_BAD_SIGNATURE', 'delta signature does not verify');
  }
  const writes = raw.map(validateRawWrite);
  let author: string;
  try {
    author = nodeIdFromPublicKey(authorKey);
  } catch {
    fail('SYNC_BAD_DELTA', 'bad author key');
  }
  const delta: Delta = Object.freeze({ author, authorKey, seq, writes: Object.freeze(writes.map((p) => p.write)), signature });
  if (checkSignature) verified.add(delta);
  return delta;
}

/** Options of {@link decodeDelta}. */
export interface DecodeDeltaOptions {
  /** Largest accepted encoding in bytes. Default {@link DEFAULT_MAX_DELTA_BYTES}. */
  maxBytes?: number;
}

/**
 * Decodes and verifies a delta from the network, in this order: size, shape,
 * author signature, then each write (key, kind, checksum, canonical JSON).
 * Throws only KpcError, whatever the input.
 * @throws KpcError `PROTO_OVERSIZE`, `SYNC_BAD_DELTA`, `PROTO_BAD_SIGNATURE`,
 * `SYNC_UNKNOWN_KIND`, `SYNC_BAD_CHECKSUM`.
 */
export function decodeDelta(bytes: Uint8Array, opts: DecodeDeltaOptions = {}): Delta {
  return decode(bytes, opts.maxBytes ?? DEFAULT_MAX_DELTA_BYTES, true);
}

/**
 * Decodes a delta this node itself stored, checking everything except the
 * signature (verified when it was accepted) and the size limit. Storage backends
 * use it so reopening a long log does not cost one Ed25519 verification per delta.
 * **Never use it for bytes from the network**: use {@link decodeDelta}.
 * @throws KpcError as {@link decodeDelta}, except `PROTO_BAD_SIGNATURE`/`PROTO_OVERSIZE`.
 */
export function decodeStoredDelta(bytes: Uint8Array): Delta {
  return decode(bytes, Infinity, false);
}

/**
 * The claimed author and seq of an encoded delta, read from its header without
 * verifying anything. Lets the gossip layer drop deltas a replica already holds
 * ({@link Replica.hasDelta}) before paying for a signature check; anything it
 * keeps must still go through {@link decodeDelta}.
 * @throws KpcError `SYNC_BAD_DELTA` if the header is malformed.
 */
export function peekDelta(bytes: Uint8Array): { author: string; seq: number } {
  if (!(bytes instanceof Uint8Array) || bytes.length < DELTA_OVERHEAD_BYTES) fail('SYNC_BAD_DELTA', 'not a delta');
  const r = new Reader(bytes, HEADER_BYTES);
  if (r.u8() !== DELTA_FORMAT_VERSION) fail('SYNC_BAD_DELTA', 'unsupported delta format');
  const author = nodeIdFromPublicKey(r.take(PUBLIC_KEY_BYTES));
  const seq = r.u53();
  checkSeq(seq, 'SYNC_BAD_DELTA');
  return { author, seq };
}

/**
 * `d` itself if this module signed or verified it; otherwise `d` re-encoded and
 * decoded with full verification (a new object). Replicas call it on every remote
 * delta, so hand-assembled objects cannot skip the signature check.
 * @throws KpcError as {@link encodeDelta} and {@link decodeDelta}.
 */
export function verifiedDelta(d: Delta, maxBytes: number = DEFAULT_MAX_DELTA_BYTES): Delta {
  if (verified.has(d)) return d;
  return decodeDelta(encodeDelta(d), { maxBytes });
}

/** Whether two deltas have the same canonical encoding (same author, seq, writes and signature). */
export function sameDelta(a: Delta, b: Delta): boolean {
  if (a === b) return true;
  if (a.author !== b.author || a.seq !== b.seq) return false;
  return equalBytes(encodeDelta(a), encodeDelta(b));
}
