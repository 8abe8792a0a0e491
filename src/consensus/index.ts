/**
 * Consensus concern (spec §5.2): signed proposals and votes, a 67% quorum of the
 * proposal's members, commit certificates, slot timers, and execution in slot order
 * with automatic rollback. Design and safety argument: docs/consensus.md.
 *
 * Depends only on the leaves (crypto, protocol) and the runtime seam.
 */
export { ConsensusEngine, DEFAULT_TIMEOUT_MS, MAX_SLOTS_AHEAD } from './engine.js';
export { runExecutor, type ExecutionOutcome } from './execute.js';
export {
  CONSENSUS_VERSION,
  DEFAULT_MAX_MESSAGE_BYTES,
  GENESIS_ID,
  KIND_PATTERN,
  MAX_CHAIN,
  MAX_LIFETIME_MS,
  MAX_MEMBERS,
  buildCertificate,
  decodeMessage,
  signProposal,
  signVote,
  viewId,
  type Certificate,
  type ConsensusMessage,
  type ParentRef,
  type Proposal,
  type ProposalFields,
  type Vote,
  type VoteFields,
  type VotePhase,
} from './messages.js';
export { DEFAULT_THRESHOLD, hasQuorum, maxFaulty, quorumSize, scaledThreshold, witnessesNeeded } from './quorum.js';
export type {
  ConsensusEventMap,
  ConsensusOptions,
  Decision,
  DecisionStatus,
  EquivocationEventDetail,
  Executor,
  ProposalEventDetail,
  ReceiveResult,
  RollbackEventDetail,
  TimeoutEventDetail,
  VoteEventDetail,
  VoteJournal,
} from './types.js';
