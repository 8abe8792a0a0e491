/** Shared fixtures for the sync tests: identities, arbitraries, a raw delta writer, a reference model. */
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { concatBytes, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import { generateIdentity, sign, type Identity } from '../../src/crypto/identity.js';
import { KpcError, type KpcErrorCode } from '../../src/errors.js';
import { canonicalJsonBytes, type JsonValue } from '../../src/protocol/canonical-json.js';
import {
  DELTA_DOMAIN,
  MemoryStorage,
  Replica,
  signDelta,
  type Delta,
  type Entry,
  type EntryKind,
  type EntryWrite,
  type SyncStorage,
} from '../../src/sync/index.js';

/** Fixed identities: key generation per run would only slow the suites down. */
export const IDENTITIES: readonly Identity[] = [generateIdentity(), generateIdentity(), generateIdentity()];

/** A physical clock far above every test timestamp's wall, so no skew check trips by accident. */
export const NOW = 1_800_000_000_000;

/** Opens a replica on fresh (or given) memory storage with a fixed clock. */
export function openReplica(
  identity: Identity = IDENTITIES[0],
  storage: SyncStorage = new MemoryStorage(),
  extra: Partial<Parameters<typeof Replica.open>[0]> = {},
): Promise<Replica> {
  return Replica.open({ identity, storage, now: () => NOW, ...extra });
}

/** Asserts that `fn` throws (or rejects with) a KpcError, of `code` if given. */
export async function expectKpcError(fn: () => unknown, code?: KpcErrorCode): Promise<KpcError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof KpcError)) throw new Error(`expected a KpcError${code ? ` ${code}` : ''}, got ${String(caught)}`);
  if (code && caught.code !== code) throw new Error(`expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** Small keys and timestamps, so that the same key and even the same (ts, writer) recur. */
export const smallWriteArb: fc.Arbitrary<EntryWrite> = fc
  .record({
    key: fc.constantFrom('a', 'b', 'c', 'd/x', 'd/y'),
    kind: fc.constantFrom<EntryKind>('json', 'bytes', 'weights'),
    tomb: fc.boolean(),
    json: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('s', true, false), fc.array(fc.nat(3), { maxLength: 2 })),
    bytes: fc.uint8Array({ maxLength: 3 }),
    wall: fc.integer({ min: 1000, max: 1003 }),
    counter: fc.nat(2),
  })
  .map(({ key, kind, tomb, json, bytes, wall, counter }) => ({
    key,
    kind,
    value: tomb ? null : kind === 'json' ? (json as JsonValue) : bytes,
    ts: { wall, counter },
  }));

/** Any valid write: arbitrary Unicode keys, JSON values and byte strings. */
export const anyWriteArb: fc.Arbitrary<EntryWrite> = fc
  .record({
    key: fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((k) => k.length >= 1 && k.length <= 256),
    kind: fc.constantFrom<EntryKind>('json', 'bytes', 'weights'),
    tomb: fc.boolean(),
    json: fc.jsonValue({ maxDepth: 3 }).filter((v) => v !== null),
    bytes: fc.uint8Array({ maxLength: 64 }),
    wall: fc.oneof(fc.maxSafeNat(), fc.constantFrom(0, Number.MAX_SAFE_INTEGER)),
    counter: fc.nat(0xffff),
  })
  .map(({ key, kind, tomb, json, bytes, wall, counter }) => ({
    key,
    kind,
    value: tomb ? null : kind === 'json' ? (json as JsonValue) : bytes,
    ts: { wall, counter },
  }));

/** Per author: a list of deltas (each a list of writes), to be signed as seq 1, 2, …. */
export const historyArb = fc.array(fc.array(fc.array(smallWriteArb, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), {
  minLength: IDENTITIES.length,
  maxLength: IDENTITIES.length,
});

/** Signs a history: author i's deltas numbered from 1. */
export function signHistory(history: EntryWrite[][][]): Delta[] {
  return history.flatMap((deltas, i) => deltas.map((writes, j) => signDelta(IDENTITIES[i], j + 1, writes)));
}

/** A deterministic permutation of `items` from `seed` (mulberry32 + Fisher–Yates). */
export function shuffle<T>(items: readonly T[], seed: number): T[] {
  let s = seed >>> 0;
  const rand = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

// ---- reference model: spec §5.1 written down as plainly as possible -------------

const KIND_ORDER: EntryKind[] = ['json', 'bytes', 'weights'];

function contentBytes(w: EntryWrite): number[] {
  if (w.value === null) return [];
  return Array.from(w.value instanceof Uint8Array ? w.value : canonicalJsonBytes(w.value));
}

/** The model's order: (wall, counter), writer id, kind, tombstone < value, value bytes. */
export function modelCompare(a: Entry, b: Entry): number {
  if (a.ts.wall !== b.ts.wall) return a.ts.wall - b.ts.wall;
  if (a.ts.counter !== b.ts.counter) return a.ts.counter - b.ts.counter;
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1;
  if (a.kind !== b.kind) return KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind);
  if ((a.value === null) !== (b.value === null)) return a.value === null ? -1 : 1;
  const x = contentBytes(a);
  const y = contentBytes(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** What a replica that saw every delta must show: per key the greatest write, live ones sorted by key. */
export function modelEntries(deltas: readonly Delta[]): { key: string; writer: string; value: unknown; kind: EntryKind }[] {
  const best = new Map<string, Entry>();
  for (const d of deltas) {
    for (const w of d.writes) {
      const e: Entry = { ...w, writer: d.author };
      const cur = best.get(w.key);
      if (!cur || modelCompare(e, cur) > 0) best.set(w.key, e);
    }
  }
  return [...best.values()]
    .filter((e) => e.value !== null)
    .sort((a, b) => (a.key < b.key ? -1 : 1))
    .map(summary);
}

/** The comparable part of an entry (plain data for deep equality). */
export function summary(e: Entry): { key: string; writer: string; value: unknown; kind: EntryKind } {
  return { key: e.key, writer: e.writer, kind: e.kind, value: e.value instanceof Uint8Array ? toHex(e.value) : e.value };
}

// ---- independent raw writer, straight from the byte table in src/sync/delta.ts ----

/** A write in wire terms, with any kind code, flags and fields. */
export interface RawWrite {
  key: Uint8Array;
  kindCode: number;
  flags?: number;
  wall: number;
  counter: number;
  value?: Uint8Array;
  checksum?: Uint8Array;
}

function u53(n: number): number[] {
  const hi = Math.floor(n / 2 ** 32);
  const lo = n % 2 ** 32;
  return [hi >>> 24, (hi >>> 16) & 255, (hi >>> 8) & 255, hi & 255, lo >>> 24, (lo >>> 16) & 255, (lo >>> 8) & 255, lo & 255];
}

/** The body (everything before the signature) of a delta with arbitrary content. */
export function rawBody(authorKey: Uint8Array, seq: number, writes: RawWrite[], version = 1): Uint8Array {
  const out: number[] = [version, ...authorKey, ...u53(seq)];
  const n = writes.length;
  out.push(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
  for (const w of writes) {
    const flags = w.flags ?? (w.value ? 1 : 0) | (w.checksum ? 2 : 0);
    out.push(w.key.length >> 8, w.key.length & 255, ...w.key, w.kindCode, flags, ...u53(w.wall), w.counter >> 8, w.counter & 255);
    if (w.value) {
      const l = w.value.length;
      out.push(l >>> 24, (l >>> 16) & 255, (l >>> 8) & 255, l & 255, ...w.value);
    }
    if (w.checksum) out.push(...w.checksum);
  }
  return new Uint8Array(out);
}

/** `body` signed by `identity` as a delta (valid signature, whatever the content). */
export function signRaw(identity: Identity, body: Uint8Array): Uint8Array {
  return concatBytes(body, sign(identity, concatBytes(utf8Encode(`${DELTA_DOMAIN}\0`), body)));
}

/** A raw binary write with a correct checksum. */
export function rawBinary(key: string, value: Uint8Array, kindCode = 2): RawWrite {
  return { key: utf8Encode(key), kindCode, wall: 1000, counter: 0, value, checksum: sha256(value) };
}

/** A raw json write. */
export function rawJson(key: string, json: string): RawWrite {
  return { key: utf8Encode(key), kindCode: 1, wall: 1000, counter: 0, value: utf8Encode(json) };
}
