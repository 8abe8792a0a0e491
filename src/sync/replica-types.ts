/**
 * Options, events and results of a {@link Replica} (kept apart from the class so
 * the replica module stays about behaviour).
 */
import type { Identity } from '../crypto/identity.js';
import type { SyncStorage } from './storage.js';
import type { Delta, Entry } from './types.js';
// For TSDoc links only.
import type { Replica } from './replica.js';

/** Default bound on out-of-order remote deltas held in memory. */
export const DEFAULT_MAX_BUFFERED = 1024;
/** Default bound on the encoded bytes of out-of-order remote deltas held in memory (32 MiB). */
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

/** Options of {@link Replica.open}. */
export interface ReplicaOptions {
  /** This node: signs local deltas; its node id is the writer of local entries. */
  identity: Identity;
  /** The durable log; the replica owns it from now on and closes it in {@link Replica.close}. */
  storage: SyncStorage;
  /** Physical clock in ms (e.g. a runtime's `now`). Default `Date.now`. */
  now?: () => number;
  /** Largest accepted lead of a remote timestamp over `now()`. Default 60 000 ms. */
  maxSkewMs?: number;
  /**
   * How long local writes wait to share a delta. Default 0: writes made in one
   * synchronous burst share a delta, flushed on the next microtask (no timer).
   */
  batchMs?: number;
  /** Most out-of-order remote deltas held in memory. Default 1024. */
  maxBuffered?: number;
  /** Most encoded bytes of out-of-order remote deltas held in memory. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** Largest encoded delta produced or accepted. Default 256 KiB; keep it equal cluster-wide. */
  maxDeltaBytes?: number;
}

/** Detail of a `change` event. */
export interface ChangeDetail {
  /** The key whose visible value changed. */
  readonly key: string;
  /** The new live entry, or `undefined` if the key is now deleted. */
  readonly entry: Entry | undefined;
  /** Whether the change comes from a local write (not from a remote delta). */
  readonly local: boolean;
}

/** Events a {@link Replica} dispatches. */
export interface ReplicaEventMap {
  change: CustomEvent<ChangeDetail>;
  delta: CustomEvent<Delta>;
}

/** Outcome of {@link Replica.applyRemote}. */
export type ApplyResult = 'applied' | 'duplicate' | 'buffered';
