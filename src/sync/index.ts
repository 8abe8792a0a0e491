/**
 * Sync concern, CRDT core (spec §5.1): a signed, persistent last-write-wins map.
 *
 * Pure data structures, codec and persistence; no networking. The gossip layer
 * builds on {@link Replica} (`delta` events out, `applyRemote`/`deltasSince` in)
 * and on the delta codec ({@link encodeDelta}/{@link decodeDelta}).
 */
export {
  DEFAULT_MAX_SKEW_MS,
  HLC_MAX_COUNTER,
  HybridClock,
  compareHlc,
  isHlcTimestamp,
  type HlcTimestamp,
  type HybridClockOptions,
} from './hlc.js';
export { ENTRY_KINDS, isBinaryKind, type Delta, type Entry, type EntryKind, type EntryWrite, type VersionVector } from './types.js';
export {
  DEFAULT_MAX_DELTA_BYTES,
  DELTA_DOMAIN,
  DELTA_FORMAT_VERSION,
  DELTA_OVERHEAD_BYTES,
  decodeDelta,
  decodeStoredDelta,
  encodeDelta,
  peekDelta,
  sameDelta,
  signDelta,
  signPreparedDelta,
  verifiedDelta,
  type DecodeDeltaOptions,
} from './delta.js';
export { MAX_KEY_LENGTH, prepareWrite, validateRawWrite, type PreparedWrite, type RawWrite } from './write.js';
export { compareEntries, stageWrites, toEntry, wins } from './merge.js';
export { IndexedDbStorage, MemoryStorage, SYNC_DELTA_STORE, type IndexedDbStorageOptions, type MemorySnapshot, type SyncStorage } from './storage.js';
export { DEFAULT_MAX_BUFFERED, DEFAULT_MAX_BUFFERED_BYTES, Replica, type ApplyResult, type ChangeDetail, type ReplicaEventMap, type ReplicaOptions } from './replica.js';
