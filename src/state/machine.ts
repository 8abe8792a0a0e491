/**
 * The π-node lifecycle (spec §3): exactly the spec's transition table.
 *
 * Any other transition throws `STATE_INVALID_TRANSITION` and leaves the state as
 * it was; every accepted transition is recorded and emitted with its time and cause.
 */
import { KpcError } from '../errors.js';

/** The eight states of spec §3. */
export const NODE_STATES = [
  'BOOTSTRAP',
  'DISCOVERING',
  'CONNECTING',
  'SYNCING',
  'READY',
  'DEGRADED',
  'RECOVERING',
  'OFFLINE',
] as const;

/** A π-node's lifecycle state. */
export type NodeState = (typeof NODE_STATES)[number];

/** Spec §3 "Valid State Transitions", verbatim. */
export const TRANSITIONS: Readonly<Record<NodeState, readonly NodeState[]>> = Object.freeze({
  BOOTSTRAP: ['DISCOVERING'],
  DISCOVERING: ['CONNECTING', 'OFFLINE'],
  CONNECTING: ['SYNCING', 'DEGRADED'],
  SYNCING: ['READY', 'RECOVERING'],
  READY: ['DEGRADED', 'RECOVERING', 'OFFLINE'],
  DEGRADED: ['RECOVERING', 'OFFLINE'],
  RECOVERING: ['READY', 'DEGRADED', 'OFFLINE'],
  OFFLINE: [],
});

/**
 * The shortest path spec §3 allows from `from` to OFFLINE (empty when already there).
 * CONNECTING and SYNCING have no direct edge: they pass through DEGRADED / RECOVERING.
 */
export function pathToOffline(from: NodeState): NodeState[] {
  const via: Partial<Record<NodeState, NodeState>> = { BOOTSTRAP: 'DISCOVERING', CONNECTING: 'DEGRADED', SYNCING: 'RECOVERING' };
  if (from === 'OFFLINE') return [];
  return via[from] ? [via[from]!, 'OFFLINE'] : ['OFFLINE'];
}

/** True when spec §3 allows `from → to`. */
export function canTransition(from: NodeState, to: NodeState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** One accepted transition. */
export interface StateChange {
  readonly from: NodeState;
  readonly to: NodeState;
  /** `Date.now()` when it happened. */
  readonly at: number;
  /** Why, in a few words (`'signaling connected'`, `'stop() called'`). */
  readonly cause: string;
}

/** Options of {@link StateMachine}. */
export interface StateMachineOptions {
  /** Start state; `BOOTSTRAP` unless restoring. */
  initial?: NodeState;
  /** Clock, injectable for the simulator. */
  now?: () => number;
  /** How many transitions {@link StateMachine.history} keeps. */
  historyLimit?: number;
}

/**
 * Holds a node's state and enforces the spec's table.
 *
 * Emits `statechange` events whose `detail` is a {@link StateChange}.
 */
export class StateMachine extends EventTarget {
  private current: NodeState;
  private readonly log: StateChange[] = [];
  private readonly now: () => number;
  private readonly historyLimit: number;

  constructor(options: StateMachineOptions = {}) {
    super();
    this.current = options.initial ?? 'BOOTSTRAP';
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 100;
  }

  /** The current state. */
  get state(): NodeState {
    return this.current;
  }

  /** The most recent transitions, oldest first. */
  get history(): readonly StateChange[] {
    return this.log;
  }

  /**
   * Moves to `to`.
   * @throws KpcError `STATE_INVALID_TRANSITION` when spec §3 does not allow it.
   */
  transition(to: NodeState, cause: string): StateChange {
    const from = this.current;
    if (!canTransition(from, to)) {
      throw new KpcError('STATE_INVALID_TRANSITION', `invalid transition ${from} → ${to} (${cause})`, { from, to, cause });
    }
    this.current = to;
    const change: StateChange = { from, to, at: this.now(), cause };
    this.log.push(change);
    if (this.log.length > this.historyLimit) this.log.shift();
    this.dispatchEvent(new CustomEvent<StateChange>('statechange', { detail: change }));
    return change;
  }

  /** Moves to `to` only when allowed; returns whether it did. */
  tryTransition(to: NodeState, cause: string): boolean {
    if (!canTransition(this.current, to)) return false;
    this.transition(to, cause);
    return true;
  }
}
