/**
 * The deterministic simulator (Node only): real PiNodes over an in-memory network in
 * virtual time, driven by one seed. Not exported from the SDK's browser entry point.
 *
 * Load order matters for the fast signature stand-in: call {@link useSimCrypto}
 * before importing this module (or anything that imports the core), e.g.
 * `useSimCrypto(); const sim = await import('./src/sim/index.js');` (from the repository
 * root: src/ is not part of the published package).
 * See docs/simulator.md.
 */
export { Prng, latency, type LatencyModel } from './prng.js';
export { TraceDigest, digestOf } from './digest.js';
export { Scheduler, SimRuntime, SIM_EPOCH_MS, type AfterSettle, type SimError, type SimEvent } from './scheduler.js';
export { SimNetwork, SimLink, type Endpoint, type NetworkConfig, type NetworkObserver, type Traffic } from './network.js';
export { SimSignalingServer, SimSignalingChannel } from './signaling.js';
export { SimDisk, type DiskStats } from './storage.js';
export {
  Workload,
  resolveWorkload,
  type CommitRecord,
  type ProposalRecord,
  type ResolvedWorkload,
  type WorkloadConfig,
  type WriteRecord,
} from './workload.js';
export { Adversary, ATTACKS, type AttackKind, type ByzantineNode } from './byzantine.js';
export { planFaults, describeFault, type FaultEvent, type FaultPlanOptions } from './faults.js';
export {
  SimCluster,
  resolveConfig,
  type ByzantineViolation,
  type NodeContext,
  type ResolvedConfig,
  type SimConfig,
  type SimNode,
  type SimNodeTiming,
} from './cluster.js';
export {
  DEFAULT_INVARIANTS,
  STATE_INVARIANTS,
  ackedWritesKept,
  byzantinePowerless,
  consensusAgreement,
  entryText,
  faultInForce,
  isConverged,
  stateConverged,
  valueText,
  byzantineContained,
  byzantineRejected,
  checkInvariants,
  noUncaughtErrors,
  readyAfterHeal,
  validTransitions,
  type Invariant,
  type InvariantFailure,
  type InvariantResult,
  type Violation,
} from './invariants.js';
export { runSimulation, summarize, formatSummary, stateReport, replayCommand, type RunOptions, type SimReport, type StateReport, type Spread } from './report.js';
export { useSimCrypto, cryptoMode, type CryptoMode } from './sim-crypto.js';
