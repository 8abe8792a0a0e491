/**
 * Proof-of-π: hashcash bound to π, to a node's identity, to its cluster and to time
 * (spec §8.1 names it for Sybil and DoS mitigation; the construction is ours, see
 * docs/proof-of-pi.md).
 *
 * ```
 * context  = publicKey(32) ‖ u16be(len) ‖ utf8(clusterId) ‖ u64be(epoch)
 * position = 1 + (u32be(SHA-256("kpc/proof-of-pi/v1/position" ‖ context)) mod 256)
 * digits   = ASCII of piHexDigits(position, 8)                      — 8 bytes, e.g. "243F6A88"
 * hash     = SHA-256("kpc/proof-of-pi/v1" ‖ context ‖ digits ‖ u64be(nonce))
 * valid   ⇔ hash has ≥ difficulty leading zero bits
 * ```
 *
 * Solving takes ~2^difficulty hashes; verifying takes two hashes and one short BBP
 * evaluation (positions ≤ 256, cached by position).
 * @packageDocumentation
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, utf8Encode } from '../crypto/index.js';
import { KpcError } from '../errors.js';
import { piHexDigits } from './bbp.js';
import { POW_VERSION, assertPowProof, checkCommon, checkDifficulty, fail, u64be, type PowProof } from './codec.js';
import { createPowKernel, type PowKernel } from './kernel.js';

/**
 * Default difficulty in leading zero bits: 2^19 ≈ 524 k expected hashes. In a Chromium
 * Worker at ~3 M hashes/s that is a median solve of ~0.12 s and a p95 of ~0.55 s, inside
 * the 1 s start-up goal (figures in docs/proof-of-pi.md). Clusters may raise it.
 */
export const DEFAULT_DIFFICULTY = 19;
/** Default epoch length: one hour. A proof is accepted during its epoch and the next. */
export const DEFAULT_EPOCH_MS = 3_600_000;
/** Default clock skew tolerated at epoch boundaries, ms. */
export const DEFAULT_MAX_CLOCK_SKEW_MS = 60_000;

/**
 * When a proof of `epoch` stops verifying: {@link verifyProof} accepts it during its
 * epoch and the next, plus the tolerated skew.
 */
export function proofExpiry(epoch: number, epochMs: number = DEFAULT_EPOCH_MS, maxClockSkewMs: number = DEFAULT_MAX_CLOCK_SKEW_MS): number {
  return (epoch + 2) * epochMs + maxClockSkewMs;
}
/**
 * π positions used by puzzles: 1..POW_POSITION_RANGE (a power of two). BBP cost grows
 * with the position; at ≤ 256 one evaluation takes ≤ ~55 µs, so a cold verification
 * stays ~1/1000 of a median solve. (The digits are public either way: a larger range
 * would add cost for verifiers, not security.)
 */
export const POW_POSITION_RANGE = 256;

const DOMAIN = utf8Encode('kpc/proof-of-pi/v1');
const POSITION_DOMAIN = utf8Encode('kpc/proof-of-pi/v1/position');

/** The puzzle of one (key, cluster, epoch): everything except the nonce. */
export interface PowChallenge {
  /** 1-based π hex-digit position derived from the context. */
  readonly position: number;
  /** The 8 hex digits of π at `position`, uppercase. */
  readonly digits: string;
  /** Bytes hashed before the u64be nonce: domain ‖ context ‖ digits. */
  readonly prefix: Uint8Array;
}

/** Progress report of a running solve. */
export interface PowProgress {
  /** Nonces tried so far. */
  readonly attempts: number;
  /** Target difficulty. */
  readonly difficulty: number;
  /** Expected attempts for this difficulty: 2^difficulty. */
  readonly expectedAttempts: number;
}

/** Parameters of {@link solveProof}. */
export interface SolveParams {
  /** Ed25519 public key (32 bytes). */
  publicKey: Uint8Array;
  /** Cluster id. */
  clusterId: string;
  /** Epoch index, usually `epochOf(runtime.now())`. */
  epoch: number;
  /** Leading zero bits; default {@link DEFAULT_DIFFICULTY}. */
  difficulty?: number;
  /** Called after every chunk with the attempts so far. */
  onProgress?: (progress: PowProgress) => void;
  /** Aborts the solve: the promise rejects with `POW_ABORTED`. */
  signal?: AbortSignal;
  /** Hashes between yields to the event loop; default 8192 (a few ms). */
  chunk?: number;
}

/** Options of {@link verifyProof}. */
export interface VerifyOptions {
  /** The key the proof must be bound to (the envelope sender's). */
  publicKey: Uint8Array;
  /** The verifier's cluster. */
  clusterId: string;
  /** Verifier's current time, ms since the Unix epoch. */
  now: number;
  /** Epoch length; default {@link DEFAULT_EPOCH_MS}. */
  epochMs?: number;
  /** Least acceptable difficulty; default {@link DEFAULT_DIFFICULTY}. */
  minDifficulty?: number;
  /** Accept a proof of the previous epoch too; default true (so a proof never dies the instant it was made). */
  acceptPreviousEpoch?: boolean;
  /** Clock skew tolerated around epoch boundaries; default {@link DEFAULT_MAX_CLOCK_SKEW_MS}. */
  maxClockSkewMs?: number;
}

/** What a successful {@link verifyProof} found. */
export interface PowVerdict {
  /** π position of the puzzle. */
  readonly position: number;
  /** π digits of the puzzle. */
  readonly digits: string;
  /** Leading zero bits of the proof hash (≥ the proof's difficulty). */
  readonly leadingZeros: number;
  /** SHA-256 evaluations verification took (2). */
  readonly hashes: number;
}

/**
 * The epoch index of a time: ⌊now / epochMs⌋.
 * @throws KpcError `POW_BAD_PARAMS` unless now ≥ 0 is finite and epochMs a positive integer.
 */
export function epochOf(now: number, epochMs: number = DEFAULT_EPOCH_MS): number {
  if (!Number.isFinite(now) || now < 0) fail('POW_BAD_PARAMS', 'now must be a finite time ≥ 0', { now });
  if (!Number.isSafeInteger(epochMs) || epochMs < 1) fail('POW_BAD_PARAMS', 'epochMs must be a positive integer', { epochMs });
  return Math.floor(now / epochMs);
}

// π digits by position: the whole position range fits in a small table.
const digitCache: (string | undefined)[] = new Array(POW_POSITION_RANGE + 1);

/** Forgets the cached π digits (benchmarks measure cold verification with it). */
export function clearPowCaches(): void {
  digitCache.fill(undefined);
}

function piDigitsCached(position: number): string {
  let d = digitCache[position];
  if (d === undefined) digitCache[position] = d = piHexDigits(position, 8);
  return d;
}

function contextBytes(publicKey: Uint8Array, clusterId: string, epoch: number): Uint8Array {
  const id = utf8Encode(clusterId);
  return concatBytes(publicKey, new Uint8Array([id.length >>> 8, id.length & 0xff]), id, u64be(epoch));
}

/**
 * The puzzle for (publicKey, clusterId, epoch): the π position, its digits and the
 * prefix the nonce is appended to. One SHA-256 plus one cached BBP evaluation.
 * @throws KpcError `POW_BAD_PARAMS` on a bad key, cluster id or epoch.
 */
export function powChallenge(publicKey: Uint8Array, clusterId: string, epoch: number): PowChallenge {
  checkCommon(publicKey, clusterId, epoch, 'POW_BAD_PARAMS');
  return challengeOf(contextBytes(publicKey, clusterId, epoch));
}

function challengeOf(context: Uint8Array): PowChallenge {
  const h = sha256(concatBytes(POSITION_DOMAIN, context));
  const word = ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
  const position = 1 + (word % POW_POSITION_RANGE);
  const digits = piDigitsCached(position);
  return { position, digits, prefix: concatBytes(DOMAIN, context, utf8Encode(digits)) };
}

/**
 * Leading zero bits of SHA-256(prefix ‖ u64be(nonce)) with `@noble/hashes`: an
 * implementation independent of the search kernel. @internal
 */
export function nonceZeros(prefix: Uint8Array, nonce: number): number {
  return leadingZeroBits(sha256(concatBytes(prefix, u64be(nonce))));
}

/**
 * Validates solve parameters and builds the puzzle prefix (both solvers start here). @internal
 * @throws KpcError `POW_BAD_PARAMS`
 */
export function preparePuzzle(params: SolveParams): { prefix: Uint8Array; difficulty: number } {
  const difficulty = checkDifficulty(params.difficulty ?? DEFAULT_DIFFICULTY, 'POW_BAD_PARAMS');
  const { prefix } = powChallenge(params.publicKey, params.clusterId, params.epoch);
  return { prefix, difficulty };
}

/** Leading zero bits of a digest. */
export function leadingZeroBits(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    if (b === 0) {
      n += 8;
      continue;
    }
    return n + Math.clz32(b) - 24;
  }
  return n;
}

let sharedKernel: PowKernel | null = null;
/** The in-thread search kernel, built once. @internal */
export function powKernel(): PowKernel {
  return (sharedKernel ??= createPowKernel());
}

/** Resolves on the next macrotask, so timers, messages and abort signals get a turn. */
function macrotaskYielder(): { next(): Promise<void>; close(): void } {
  if (typeof MessageChannel === 'undefined') {
    return { next: () => new Promise((r) => globalThis.setTimeout(r, 0)), close: () => {} };
  }
  const ch = new MessageChannel();
  let wake: (() => void) | null = null;
  ch.port1.onmessage = () => wake?.();
  return {
    next: () =>
      new Promise<void>((r) => {
        wake = r;
        ch.port2.postMessage(0);
      }),
    close: () => {
      ch.port1.close();
      ch.port2.close();
    },
  };
}

function aborted(): KpcError {
  return new KpcError('POW_ABORTED', 'proof-of-π solve aborted');
}

/**
 * Finds a proof on the calling thread, yielding to the event loop every `chunk`
 * hashes (so the page stays responsive and `signal` is honoured). Nonces are tried
 * from 0 upwards, so the returned `nonce + 1` is the number of attempts.
 * Prefer {@link PowSolver}, which runs this in a Worker where one exists.
 * @throws KpcError `POW_BAD_PARAMS` (bad input), `POW_ABORTED` (signal)
 */
export async function solveProof(params: SolveParams): Promise<PowProof> {
  const { publicKey, clusterId, epoch, onProgress, signal } = params;
  const { prefix, difficulty } = preparePuzzle(params);
  const chunk = params.chunk ?? 8192;
  if (!Number.isSafeInteger(chunk) || chunk < 1) fail('POW_BAD_PARAMS', 'chunk must be a positive integer', { chunk });
  const kernel = powKernel();
  const expectedAttempts = 2 ** difficulty;
  const yielder = macrotaskYielder();
  try {
    for (let start = 0; start <= Number.MAX_SAFE_INTEGER; start += chunk) {
      if (signal?.aborted) throw aborted();
      const count = Math.min(chunk, Number.MAX_SAFE_INTEGER - start + 1);
      const nonce = kernel.search(prefix, difficulty, start, count);
      if (nonce >= 0) {
        onProgress?.({ attempts: nonce + 1, difficulty, expectedAttempts });
        return { version: POW_VERSION, publicKey: Uint8Array.from(publicKey), clusterId, epoch, difficulty, nonce };
      }
      onProgress?.({ attempts: start + count, difficulty, expectedAttempts });
      await yielder.next();
    }
  } finally {
    yielder.close();
  }
  return fail('POW_INVALID', 'nonce space exhausted');
}

/**
 * Checks a proof for the given verifier context. Cheap checks come first (shape, key,
 * cluster, epoch, difficulty), so a bogus proof costs no hashing; then one SHA-256 for
 * the π position, one cached BBP evaluation and one SHA-256 of the puzzle.
 *
 * Accepted epochs: from ⌊(now − skew)/epochMs⌋ − 1 (−0 without `acceptPreviousEpoch`)
 * to ⌊(now + skew)/epochMs⌋.
 * @throws KpcError `POW_MALFORMED` (not a proof), `POW_BAD_PARAMS` (bad options),
 *   `POW_WRONG_KEY`, `POW_WRONG_CLUSTER`, `POW_EXPIRED` (epoch too old),
 *   `POW_EPOCH_FUTURE` (epoch ahead of the clock), `POW_TOO_EASY` (difficulty below
 *   the minimum), `POW_INVALID` (the hash does not have the claimed zero bits)
 */
export function verifyProof(proof: PowProof, options: VerifyOptions): PowVerdict {
  const { publicKey, clusterId, now } = options;
  const epochMs = options.epochMs ?? DEFAULT_EPOCH_MS;
  const minDifficulty = checkDifficulty(options.minDifficulty ?? DEFAULT_DIFFICULTY, 'POW_BAD_PARAMS');
  const skew = options.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  if (!Number.isFinite(skew) || skew < 0) fail('POW_BAD_PARAMS', 'maxClockSkewMs must be ≥ 0', { skew });
  checkCommon(publicKey, clusterId, 0, 'POW_BAD_PARAMS');
  const current = epochOf(now, epochMs);
  assertPowProof(proof);
  if (!equalBytes(proof.publicKey, publicKey)) fail('POW_WRONG_KEY', 'proof is bound to another public key');
  if (proof.clusterId !== clusterId) fail('POW_WRONG_CLUSTER', 'proof is bound to another cluster');
  const oldest = Math.max(0, epochOf(Math.max(0, now - skew), epochMs) - (options.acceptPreviousEpoch === false ? 0 : 1));
  const newest = Math.max(current, epochOf(now + skew, epochMs));
  if (proof.epoch < oldest) fail('POW_EXPIRED', 'proof epoch has expired', { epoch: proof.epoch, oldest });
  if (proof.epoch > newest) fail('POW_EPOCH_FUTURE', 'proof epoch is ahead of the clock', { epoch: proof.epoch, newest });
  if (proof.difficulty < minDifficulty) {
    fail('POW_TOO_EASY', 'proof difficulty is below the minimum', { difficulty: proof.difficulty, minDifficulty });
  }
  const { position, digits, prefix } = challengeOf(contextBytes(proof.publicKey, proof.clusterId, proof.epoch));
  const zeros = nonceZeros(prefix, proof.nonce);
  if (zeros < proof.difficulty) fail('POW_INVALID', 'proof hash lacks the claimed leading zero bits', { zeros });
  return { position, digits, leadingZeros: zeros, hashes: 2 };
}
