/**
 * The merge rule of the last-write-wins map (spec §5.1), as pure functions.
 *
 * Entries are totally ordered; for each key a replica keeps the greatest entry it
 * has seen. "Keep the maximum" is commutative, associative and idempotent, so
 * replicas that have seen the same writes hold the same map, whatever the order,
 * batching or duplication of delivery. The order:
 *
 * 1. the hybrid-logical-clock timestamp (later wins);
 * 2. then the writer's node id, lexicographically (the spec's "tie-break by nodeId");
 * 3. then the content (kind code, tombstone before value, then the value's encoded
 *    bytes, lexicographically). Honest writers never need this step, since a node's
 *    clock never issues one timestamp twice; it exists so that an author who signs
 *    two different writes with the same timestamp still cannot make replicas diverge.
 */
import { canonicalJsonBytes, type JsonValue } from '../protocol/canonical-json.js';
import { compareHlc } from './hlc.js';
import { ENTRY_KINDS, type Entry, type EntryWrite } from './types.js';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function valueBytes(w: EntryWrite): Uint8Array {
  return w.value instanceof Uint8Array ? w.value : canonicalJsonBytes(w.value as JsonValue);
}

/** Orders two writes to one key with the same timestamp and writer by content. */
function compareContent(a: EntryWrite, b: EntryWrite): number {
  const kinds = ENTRY_KINDS.indexOf(a.kind) - ENTRY_KINDS.indexOf(b.kind);
  if (kinds !== 0) return kinds;
  if (a.value === null || b.value === null) return (a.value === null ? 0 : 1) - (b.value === null ? 0 : 1);
  return compareBytes(valueBytes(a), valueBytes(b));
}

/**
 * The last-write-wins order of two entries for the same key: negative if `a`
 * loses to `b`, positive if it wins, 0 if they are the same write.
 */
export function compareEntries(a: Entry, b: Entry): number {
  const byTime = compareHlc(a.ts, b.ts);
  if (byTime !== 0) return byTime;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  return compareContent(a, b);
}

/** Whether `candidate` replaces `current` (absent counts as losing to anything). */
export function wins(candidate: Entry, current: Entry | undefined): boolean {
  return current === undefined || compareEntries(candidate, current) > 0;
}

/** An {@link Entry}: `write` stamped with its author. */
export function toEntry(write: EntryWrite, writer: string): Entry {
  return Object.freeze({ ...write, writer });
}

/**
 * The updates `writes` by `writer` make to `state`, without touching it: a map
 * from key to the new winning entry (keys whose entry stays are absent). Applying
 * them is a plain `set` per key, which cannot fail, so callers can stage a whole
 * delta and commit it atomically.
 */
export function stageWrites(
  state: ReadonlyMap<string, Entry>,
  writes: readonly EntryWrite[],
  writer: string,
): Map<string, Entry> {
  const staged = new Map<string, Entry>();
  for (const w of writes) {
    const current = staged.get(w.key) ?? state.get(w.key);
    const entry = toEntry(w, writer);
    if (wins(entry, current)) staged.set(w.key, entry);
  }
  return staged;
}
