/**
 * Public types of the consensus concern: what applications plug in (executors),
 * what they get back (decisions, events) and how an engine is configured.
 */
import type { Identity } from '../crypto/identity.js';
import type { JsonValue } from '../protocol/canonical-json.js';
import type { Runtime } from '../runtime.js';
import type { VotePhase } from './messages.js';

/**
 * Applies one kind of decision (e.g. `model-spec`, `evict`) to local state.
 *
 * Every node runs the same executors on the same committed log, in slot order.
 * `snapshot` is taken right before `execute`; if `execute` throws, `restore` gets
 * that snapshot back (the spec's automatic rollback, §5.2).
 */
export interface Executor<P = JsonValue> {
  /**
   * Checks an untrusted payload and returns its typed form. Throw (ideally a
   * `KpcError`) to refuse: the node then votes `reject`. Must be deterministic and
   * free of side effects: it runs when voting and again right before execution.
   */
  validate(payload: unknown): P;
  /** Captures whatever `execute` may change. */
  snapshot(): unknown | Promise<unknown>;
  /** Applies the decision. Throwing rolls it back. */
  execute(payload: P): void | Promise<void>;
  /** Puts back what `snapshot` captured. */
  restore(snapshot: unknown): void | Promise<void>;
}

/**
 * What happened when a committed decision was applied locally.
 * - `executed`: `execute` returned.
 * - `rolled-back`: `execute` (or `validate`, or `snapshot`) threw; state is as before.
 * - `failed`: `execute` threw and then `restore` threw too; local state is unknown.
 * - `unsupported`: this node has no executor for the kind (it learned the decision
 *   from a certificate, since it would not have voted for an unknown kind).
 */
export type DecisionStatus = 'executed' | 'rolled-back' | 'failed' | 'unsupported';

/** One committed entry of the log. The same on every node, except `status`/`error`, which are local. */
export interface Decision {
  /** Log position. Slots without a decision were skipped. */
  readonly slot: number;
  /** Proposal id (hex SHA-256 of its signed content). */
  readonly id: string;
  readonly kind: string;
  readonly payload: JsonValue;
  /** Node id of the proposer. */
  readonly proposer: string;
  /** Member list the decision was agreed under. */
  readonly members: readonly string[];
  /** Proposer's clock when proposed. */
  readonly created: number;
  readonly status: DecisionStatus;
  /** Message of the error behind `rolled-back` / `failed`. */
  readonly error?: string;
}

/**
 * Write-ahead record of this node's own votes, so a node that restarts with the same
 * identity (a page reload) never signs twice in one slot, which would make it an
 * equivocator. `append` must be durable before it returns (e.g. `localStorage`).
 */
export interface VoteJournal {
  /** This node's votes from before, as the bytes `append` received. */
  load(): Iterable<Uint8Array>;
  /** Records one vote before it is sent. */
  append(bytes: Uint8Array): void;
}

/** Options of {@link ConsensusEngine}. */
export interface ConsensusOptions {
  /** This node's keys; its node id must be in `members()` for it to vote or propose. */
  identity: Identity;
  /** Clock and timers. Default: the system runtime. */
  runtime?: Runtime;
  /** Fraction of a proposal's members whose accept votes commit it, in (2/3, 1]. Default 0.67. */
  threshold?: number;
  /** Slot timer and proposal lifetime. Default 10 000 ms. */
  timeoutMs?: number;
  /** One executor per decision kind. */
  // `any`: each executor has its own payload type, and a record of them has no better common type.
  executors: Readonly<Record<string, Executor<any>>>;
  /** Current READY membership as node ids, including this node. Read at every decision point. */
  members: () => readonly string[];
  /** Floods bytes to every peer. Called synchronously; must not throw (errors are ignored). */
  send: (bytes: Uint8Array) => void;
  /** Largest message accepted or produced. Default {@link DEFAULT_MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
  /** Optional persistence of own votes across restarts. */
  journal?: VoteJournal;
}

/** Outcome of {@link ConsensusEngine.receive}. */
export type ReceiveResult =
  /** New and valid: recorded and relayed. */
  | 'applied'
  /** Seen before (flooding delivers most messages several times). */
  | 'duplicate'
  /** Valid but held until what it refers to arrives (a vote before its proposal, a certificate before its ancestors). */
  | 'buffered'
  /** Valid but irrelevant: an already decided slot, too far ahead, or the engine is closed. */
  | 'ignored';

/** Detail of the `proposal` event: a new valid proposal was seen (own ones included). */
export interface ProposalEventDetail {
  readonly id: string;
  readonly slot: number;
  readonly kind: string;
  readonly payload: JsonValue;
  readonly proposer: string;
  readonly members: readonly string[];
}

/** Detail of the `vote` event: a new valid vote was counted (own ones included). */
export interface VoteEventDetail {
  readonly phase: VotePhase;
  readonly slot: number;
  /** Proposal id, `''` for skip. */
  readonly target: string;
  readonly voter: string;
}

/** Detail of the `timeout` event: a slot timer expired undecided, or an own proposal gave up. */
export interface TimeoutEventDetail {
  readonly slot: number;
  /** Set when an own proposal timed out. */
  readonly proposalId?: string;
}

/** Detail of the `rollback` event. */
export interface RollbackEventDetail {
  readonly decision: Decision;
  readonly error: unknown;
}

/**
 * Detail of the `equivocation` event: `author` signed two messages an honest node
 * never signs together (two proposals for one slot, accept votes for two proposals
 * in one slot, final votes for two, or skip and final in one slot). `evidence` holds
 * both signed messages, verifiable by anyone: grounds for an `evict` decision.
 */
export interface EquivocationEventDetail {
  readonly slot: number;
  readonly author: string;
  readonly evidence: readonly [Uint8Array, Uint8Array];
}

/** Events a {@link ConsensusEngine} dispatches (all `CustomEvent`). */
export interface ConsensusEventMap {
  proposal: CustomEvent<ProposalEventDetail>;
  vote: CustomEvent<VoteEventDetail>;
  /** A decision was committed and applied (status says how); fired in slot order. */
  commit: CustomEvent<Decision>;
  /** A committed decision's execution threw and was rolled back (also fires `commit`). */
  rollback: CustomEvent<RollbackEventDetail>;
  timeout: CustomEvent<TimeoutEventDetail>;
  equivocation: CustomEvent<EquivocationEventDetail>;
}
