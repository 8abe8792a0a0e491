/**
 * Proof-of-π (spec §8.1: Sybil and DoS mitigation): admission work bound to π, to a
 * node's public key, to its cluster and to an epoch. See docs/proof-of-pi.md.
 *
 * Depends only on the crypto leaf and the shared errors.
 * @packageDocumentation
 */
export { MAX_PI_POSITION, piDigitWord, piHexDigits } from './bbp.js';
export {
  MAX_DIFFICULTY,
  MAX_POW_CLUSTER_ID_LENGTH,
  MAX_POW_PROOF_BYTES,
  POW_VERSION,
  assertPowProof,
  decodePowProof,
  encodePowProof,
  type PowProof,
} from './codec.js';
export {
  DEFAULT_DIFFICULTY,
  DEFAULT_EPOCH_MS,
  DEFAULT_MAX_CLOCK_SKEW_MS,
  POW_POSITION_RANGE,
  clearPowCaches,
  epochOf,
  leadingZeroBits,
  powChallenge,
  proofExpiry,
  solveProof,
  verifyProof,
  type PowChallenge,
  type PowProgress,
  type PowVerdict,
  type SolveParams,
  type VerifyOptions,
} from './proof.js';
export { POW_WORKER_SOURCE, PowSolver, type PowSolverOptions } from './worker.js';
