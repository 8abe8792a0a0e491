/**
 * Data model of the CRDT core: a last-write-wins map of signed entries.
 *
 * Everything a node writes travels in a {@link Delta}: a batch of
 * {@link EntryWrite}s numbered per author (1, 2, 3, …) and signed once by its
 * author. Receivers merge writes into their map, entry by entry, so that the one
 * with the greatest `(ts, writer)` wins; {@link VersionVector}s say which deltas a
 * replica already holds, and drive delta sync.
 */
import type { JsonValue } from '../protocol/canonical-json.js';
import type { HlcTimestamp } from './hlc.js';

/**
 * What an entry holds:
 * - `json`: a canonical-JSON value (no checksum);
 * - `bytes`: opaque binary, with a SHA-256 checksum receivers verify;
 * - `weights`: model weights (binary, e.g. float32 little-endian), checksummed like bytes (spec §5.1).
 */
export type EntryKind = 'json' | 'bytes' | 'weights';

/** Every {@link EntryKind}, in wire-code order (code = index + 1). */
export const ENTRY_KINDS: readonly EntryKind[] = Object.freeze(['json', 'bytes', 'weights'] as const);

/** Whether `kind` carries binary values (and so a checksum). */
export function isBinaryKind(kind: EntryKind): boolean {
  return kind === 'bytes' || kind === 'weights';
}

/** One write to one key, as its author signed it. */
export interface EntryWrite {
  /** Key, 1..256 UTF-16 code units, well-formed Unicode. */
  readonly key: string;
  /** What the value is. */
  readonly kind: EntryKind;
  /**
   * The value: a JSON value for `json`, bytes for `bytes`/`weights`, or `null`
   * for a delete (a tombstone, which still takes part in last-write-wins).
   * Treat as read-only: binary values are shared with the replica, not copied.
   */
  readonly value: JsonValue | Uint8Array | null;
  /** When it was written, by the author's hybrid logical clock. */
  readonly ts: HlcTimestamp;
  /**
   * Lowercase hex SHA-256 of the value bytes: present exactly for binary kinds with
   * a value (bytes/weights), absent for json and for tombstones.
   */
  readonly checksum?: string;
}

/** A write as stored in a replica's map: with the node id of its author. */
export interface Entry extends EntryWrite {
  /** Node id of the author (32 hex chars), from the signing key of its delta. */
  readonly writer: string;
}

/** A signed batch of writes by one author: the unit of sync, storage and signing. */
export interface Delta {
  /** Author node id: always `nodeIdFromPublicKey(authorKey)`. */
  readonly author: string;
  /** Author Ed25519 public key (32 bytes); the signature verifies against it. */
  readonly authorKey: Uint8Array;
  /** Per-author sequence number: 1, 2, 3, … without gaps. */
  readonly seq: number;
  /** The writes, in the order the author made them (at least one). */
  readonly writes: readonly EntryWrite[];
  /** Ed25519 signature (64 bytes) by the author over the canonical encoding. */
  readonly signature: Uint8Array;
}

/** Author node id → highest seq such that the replica holds all of 1..seq. */
export type VersionVector = Readonly<Record<string, number>>;
