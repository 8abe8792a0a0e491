/**
 * The {@link PowProof} record, its validation and its canonical binary form.
 * @packageDocumentation
 */
import { PUBLIC_KEY_BYTES, utf8Decode, utf8Encode } from '../crypto/index.js';
import { KpcError, type KpcErrorCode } from '../errors.js';

/** Version of the construction; the only one {@link decodePowProof} accepts. */
export const POW_VERSION = 1;
/** Largest difficulty representable (and verifiable); solving it is of course infeasible. */
export const MAX_DIFFICULTY = 64;
/** Longest cluster id, in UTF-16 code units (the same limit as the protocol's). */
export const MAX_POW_CLUSTER_ID_LENGTH = 128;
/** Fixed part of an encoded proof: version, difficulty, key, epoch, nonce, id length. */
const FIXED_BYTES = 1 + 1 + PUBLIC_KEY_BYTES + 8 + 8 + 2;
/** Largest encoded proof, bytes (a 128-unit cluster id is at most 384 UTF-8 bytes). */
export const MAX_POW_PROOF_BYTES = FIXED_BYTES + 3 * MAX_POW_CLUSTER_ID_LENGTH;

const MAX_U53_HI = 0x1fffff; // high 32-bit word of Number.MAX_SAFE_INTEGER

/** An admission proof: the node behind `publicKey` did ~2^difficulty hashes for `clusterId` in `epoch`. */
export interface PowProof {
  /** Always {@link POW_VERSION}. */
  readonly version: 1;
  /** Ed25519 public key of the node (32 bytes) the work is bound to. */
  readonly publicKey: Uint8Array;
  /** Cluster the work is bound to (1..128 UTF-16 units, well-formed). */
  readonly clusterId: string;
  /** Epoch index: ⌊time / epochMs⌋ (see `epochOf`). */
  readonly epoch: number;
  /** Leading zero bits the proof claims (0..{@link MAX_DIFFICULTY}). */
  readonly difficulty: number;
  /** The solution: a safe integer ≥ 0. */
  readonly nonce: number;
}

/** Throws a KpcError. @internal */
export function fail(code: KpcErrorCode, message: string, detail?: Record<string, unknown>): never {
  throw new KpcError(code, message, detail);
}

/** u64 big-endian bytes of a safe integer ≥ 0. @internal */
export function u64be(value: number): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint32(0, Math.floor(value / 2 ** 32));
  v.setUint32(4, value >>> 0);
  return out;
}

function isWellFormedClusterId(id: unknown): id is string {
  if (typeof id !== 'string' || id.length < 1 || id.length > MAX_POW_CLUSTER_ID_LENGTH) return false;
  // Lone surrogates would all encode as U+FFFD: two ids, one byte string. Reject them.
  return !/\p{Cs}/u.test(id);
}

/** Validates key, cluster id and epoch, throwing `code`. @internal */
export function checkCommon(publicKey: unknown, clusterId: unknown, epoch: unknown, code: KpcErrorCode): void {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) fail(code, 'publicKey must be 32 bytes');
  if (!isWellFormedClusterId(clusterId)) fail(code, `clusterId must be a well-formed string of 1..${MAX_POW_CLUSTER_ID_LENGTH} units`);
  if (!Number.isSafeInteger(epoch) || (epoch as number) < 0) fail(code, 'epoch must be a non-negative safe integer');
}

/** Validates a difficulty, throwing `code`. @internal */
export function checkDifficulty(d: unknown, code: KpcErrorCode): number {
  if (!Number.isInteger(d) || (d as number) < 0 || (d as number) > MAX_DIFFICULTY) {
    fail(code, `difficulty must be an integer in 0..${MAX_DIFFICULTY}`, { difficulty: d });
  }
  return d as number;
}

/**
 * Asserts that `value` has the exact shape of a {@link PowProof} (any object from
 * untrusted code or a decoder). @throws KpcError `POW_MALFORMED`
 */
export function assertPowProof(value: unknown): asserts value is PowProof {
  if (typeof value !== 'object' || value === null) fail('POW_MALFORMED', 'proof must be an object');
  const p = value as Record<string, unknown>;
  if (p.version !== POW_VERSION) fail('POW_MALFORMED', 'unsupported proof version', { version: p.version });
  checkCommon(p.publicKey, p.clusterId, p.epoch, 'POW_MALFORMED');
  checkDifficulty(p.difficulty, 'POW_MALFORMED');
  if (!Number.isSafeInteger(p.nonce) || (p.nonce as number) < 0) fail('POW_MALFORMED', 'nonce must be a non-negative safe integer');
}

/**
 * Canonical binary form of a proof:
 * `u8 version ‖ u8 difficulty ‖ publicKey(32) ‖ u64be epoch ‖ u64be nonce ‖ u16be len ‖ utf8 clusterId`
 * (52 + len bytes, at most {@link MAX_POW_PROOF_BYTES}). Each proof has exactly one encoding.
 * @throws KpcError `POW_MALFORMED` if `proof` is not a well-formed proof.
 */
export function encodePowProof(proof: PowProof): Uint8Array {
  assertPowProof(proof);
  const id = utf8Encode(proof.clusterId);
  const out = new Uint8Array(FIXED_BYTES + id.length);
  out[0] = proof.version;
  out[1] = proof.difficulty;
  out.set(proof.publicKey, 2);
  out.set(u64be(proof.epoch), 34);
  out.set(u64be(proof.nonce), 42);
  out[50] = id.length >>> 8;
  out[51] = id.length & 0xff;
  out.set(id, FIXED_BYTES);
  return out;
}

/**
 * Parses {@link encodePowProof}'s form. Strict: any other byte string — wrong version,
 * out-of-range numbers, length mismatch, trailing bytes, malformed or non-canonical
 * UTF-8 — is rejected, so decode(encode(p)) = p and encode(decode(b)) = b.
 * @throws KpcError `POW_MALFORMED` (never anything else)
 */
export function decodePowProof(bytes: Uint8Array): PowProof {
  if (!(bytes instanceof Uint8Array)) fail('POW_MALFORMED', 'proof must be bytes');
  if (bytes.length < FIXED_BYTES || bytes.length > MAX_POW_PROOF_BYTES) {
    fail('POW_MALFORMED', `proof must be ${FIXED_BYTES}..${MAX_POW_PROOF_BYTES} bytes`, { length: bytes.length });
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[0] !== POW_VERSION) fail('POW_MALFORMED', 'unsupported proof version', { version: bytes[0] });
  const u53 = (off: number, what: string): number => {
    const hi = v.getUint32(off);
    if (hi > MAX_U53_HI) fail('POW_MALFORMED', `${what} exceeds 2^53 − 1`);
    return hi * 2 ** 32 + v.getUint32(off + 4);
  };
  const len = v.getUint16(50);
  if (len !== bytes.length - FIXED_BYTES) fail('POW_MALFORMED', 'cluster id length does not match the proof size', { len });
  let clusterId: string;
  try {
    clusterId = utf8Decode(bytes.subarray(FIXED_BYTES));
  } catch {
    return fail('POW_MALFORMED', 'cluster id is not valid UTF-8');
  }
  const proof: PowProof = {
    version: POW_VERSION,
    difficulty: bytes[1],
    publicKey: bytes.slice(2, 34),
    epoch: u53(34, 'epoch'),
    nonce: u53(42, 'nonce'),
    clusterId,
  };
  assertPowProof(proof);
  return proof;
}
