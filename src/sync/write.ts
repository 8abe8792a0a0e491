/**
 * One write, validated and laid out for the wire: the per-write half of the delta
 * codec (`./delta.ts` holds the delta envelope, signing and parsing).
 *
 * The same rules apply to writes made through the API ({@link prepareWrite}) and
 * to writes parsed from the wire ({@link validateRawWrite}): key 1..256 UTF-16
 * units of well-formed Unicode; a known kind; json values in canonical JSON and
 * never `null` (a tombstone has no value); binary values with a SHA-256 checksum
 * that matches; tombstones and json without a checksum.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { equalBytes, toHex, utf8Decode, utf8Encode } from '../crypto/bytes.js';
import { KpcError, type KpcErrorCode } from '../errors.js';
import { canonicalJsonBytes, parseCanonicalJson, type JsonValue } from '../protocol/canonical-json.js';
import { isHlcTimestamp } from './hlc.js';
import { ENTRY_KINDS, isBinaryKind, type EntryKind, type EntryWrite } from './types.js';

/** Longest key, in UTF-16 code units. */
export const MAX_KEY_LENGTH = 256;
/** Bytes of a write besides key, value and checksum: key length, kind, flags, ts. */
export const WRITE_FIXED_BYTES = 2 + 1 + 1 + 8 + 2;
/** Bytes of a SHA-256 checksum on the wire. */
export const CHECKSUM_BYTES = 32;
/** Write flag: a value follows (absent: tombstone). */
export const FLAG_VALUE = 1;
/** Write flag: a checksum follows. */
export const FLAG_CHECKSUM = 2;
const HEX64 = /^[0-9a-f]{64}$/;

function fail(code: KpcErrorCode, message: string, detail?: Record<string, unknown>): never {
  throw new KpcError(code, message, detail);
}

/** A validated write with its wire pieces, ready to encode. */
export interface PreparedWrite {
  /** The normalized write (frozen; json values are private deep-frozen copies, bytes copied). */
  readonly write: EntryWrite;
  /** Bytes this write takes in an encoded delta. */
  readonly size: number;
  /** The key in UTF-8. */
  readonly keyBytes: Uint8Array;
  /** Wire kind code: index in {@link ENTRY_KINDS} + 1. */
  readonly kindCode: number;
  /** The value as sent (canonical JSON UTF-8 or raw bytes); `null` for a tombstone. */
  readonly valueBytes: Uint8Array | null;
  /** SHA-256 of the value for binary kinds; otherwise `null`. */
  readonly checksumBytes: Uint8Array | null;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** Throws `bad` unless `key` is a valid key. */
export function checkKey(key: unknown, bad: KpcErrorCode): asserts key is string {
  if (typeof key !== 'string' || key.length < 1 || key.length > MAX_KEY_LENGTH) {
    fail(bad, `key must be a string of 1..${MAX_KEY_LENGTH} chars`);
  }
  // Lone surrogates would turn into U+FFFD on the wire: the signed key would differ.
  if (/\p{Cs}/u.test(key)) fail(bad, 'key is not well-formed Unicode (lone surrogate)');
}

function assemble(
  key: string,
  keyBytes: Uint8Array,
  kind: EntryKind,
  wall: number,
  counter: number,
  value: JsonValue | Uint8Array | null,
  valueBytes: Uint8Array | null,
  checksumBytes: Uint8Array | null,
): PreparedWrite {
  const ts = Object.freeze({ wall, counter });
  const write: EntryWrite = Object.freeze(
    checksumBytes ? { key, kind, value, ts, checksum: toHex(checksumBytes) } : { key, kind, value, ts },
  );
  const size =
    WRITE_FIXED_BYTES +
    keyBytes.length +
    (valueBytes ? 4 + valueBytes.length : 0) +
    (checksumBytes ? CHECKSUM_BYTES : 0);
  return { write, size, keyBytes, kindCode: ENTRY_KINDS.indexOf(kind) + 1, valueBytes, checksumBytes };
}

/**
 * Validates and normalizes a write made through the API (not the wire).
 * @param bad the code for malformed input (`SYNC_BAD_WRITE` for local writes).
 * @throws KpcError `bad`, `SYNC_UNKNOWN_KIND`, or `SYNC_BAD_CHECKSUM` (checksum given but malformed or wrong).
 */
export function prepareWrite(w: EntryWrite, bad: KpcErrorCode = 'SYNC_BAD_WRITE'): PreparedWrite {
  if (typeof w !== 'object' || w === null) fail(bad, 'write must be an object');
  const { key, kind, value, ts, checksum } = w;
  checkKey(key, bad);
  if (!ENTRY_KINDS.includes(kind)) fail('SYNC_UNKNOWN_KIND', `unknown entry kind ${String(kind)}`, { key });
  if (!isHlcTimestamp(ts)) fail(bad, 'write timestamp is malformed', { key });
  const keyBytes = utf8Encode(key);
  if (value === null) {
    if (checksum !== undefined) fail(bad, 'a tombstone carries no checksum', { key });
    return assemble(key, keyBytes, kind, ts.wall, ts.counter, null, null, null);
  }
  if (!isBinaryKind(kind)) {
    if (value instanceof Uint8Array) fail(bad, 'json entries take JSON values, not bytes', { key });
    if (checksum !== undefined) fail(bad, 'json entries carry no checksum', { key });
    let bytes: Uint8Array;
    try {
      bytes = canonicalJsonBytes(value);
    } catch (err) {
      fail(bad, `value is not JSON: ${(err as Error).message}`, { key });
    }
    // A private copy: later changes to the caller's object cannot alter a signed write.
    const copy = deepFreeze(JSON.parse(utf8Decode(bytes)) as JsonValue);
    return assemble(key, keyBytes, kind, ts.wall, ts.counter, copy, bytes, null);
  }
  if (!(value instanceof Uint8Array)) fail(bad, `${kind} entries take a Uint8Array value`, { key });
  const bytes = value.slice();
  const digest = sha256(bytes);
  if (checksum !== undefined) {
    if (typeof checksum !== 'string' || !HEX64.test(checksum)) {
      fail('SYNC_BAD_CHECKSUM', 'checksum must be 64 lowercase hex chars', { key });
    }
    if (checksum !== toHex(digest)) fail('SYNC_BAD_CHECKSUM', 'checksum does not match the value', { key });
  }
  return assemble(key, keyBytes, kind, ts.wall, ts.counter, bytes, bytes, digest);
}

/** A write as parsed from the wire, before validation. */
export interface RawWrite {
  /** Key bytes (UTF-8 not yet checked). */
  keyBytes: Uint8Array;
  /** Kind code (maybe unknown). */
  kindCode: number;
  /** Flag bits as read (only known bits get this far). */
  flags: number;
  /** `ts.wall` (a safe integer). */
  wall: number;
  /** `ts.counter` (a u16). */
  counter: number;
  /** Value bytes, or `null` if the value flag was clear. */
  value: Uint8Array | null;
  /** 32 checksum bytes, or `null` if the checksum flag was clear. */
  checksum: Uint8Array | null;
}

/**
 * Validates a write parsed from the wire (after the delta's signature checked out).
 * @throws KpcError `SYNC_BAD_DELTA`, `SYNC_UNKNOWN_KIND`, `SYNC_BAD_CHECKSUM`.
 */
export function validateRawWrite(w: RawWrite): PreparedWrite {
  let key: string;
  try {
    key = utf8Decode(w.keyBytes);
  } catch {
    fail('SYNC_BAD_DELTA', 'key is not UTF-8');
  }
  checkKey(key, 'SYNC_BAD_DELTA');
  const kind = ENTRY_KINDS[w.kindCode - 1];
  if (kind === undefined) fail('SYNC_UNKNOWN_KIND', `unknown entry kind code ${w.kindCode}`, { key });
  if (w.value === null) {
    if (w.checksum) fail('SYNC_BAD_DELTA', 'a tombstone carries no checksum', { key });
    return assemble(key, w.keyBytes, kind, w.wall, w.counter, null, null, null);
  }
  if (!isBinaryKind(kind)) {
    if (w.checksum) fail('SYNC_BAD_DELTA', 'json entries carry no checksum', { key });
    let value: JsonValue;
    try {
      value = parseCanonicalJson(w.value);
    } catch {
      fail('SYNC_BAD_DELTA', 'json value is not canonical JSON', { key });
    }
    if (value === null) fail('SYNC_BAD_DELTA', 'json null is spelled as a tombstone', { key });
    return assemble(key, w.keyBytes, kind, w.wall, w.counter, deepFreeze(value), w.value, null);
  }
  if (!w.checksum) fail('SYNC_BAD_CHECKSUM', `${kind} entry without a checksum`, { key });
  if (!equalBytes(sha256(w.value), w.checksum)) fail('SYNC_BAD_CHECKSUM', 'checksum does not match the value', { key });
  return assemble(key, w.keyBytes, kind, w.wall, w.counter, w.value, w.value, w.checksum);
}
