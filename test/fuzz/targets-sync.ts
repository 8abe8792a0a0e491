/**
 * Fuzz targets of state sync: the delta decoder, the whole SYNC_DELTAS / SYNC_STATE
 * receive path into a live Replica (stateful: a rejection must change nothing), and
 * the gossip layer's length-prefixed framing.
 */
import { concatBytes, equalBytes, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import { sign, type Identity } from '../../src/crypto/identity.js';
import { MessageType, canonicalJsonBytes, decodeBody, type SyncStateBody } from '../../src/protocol/index.js';
import { packFrames, unpackFrames } from '../../src/gossip/frames.js';
import {
  DELTA_DOMAIN,
  MemoryStorage,
  Replica,
  decodeDelta,
  encodeDelta,
  peekDelta,
  signDelta,
  type Delta,
  type EntryWrite,
} from '../../src/sync/index.js';
import { FuzzViolation, LastInput, check, stateless, typed, typedAsync, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { mutateBytes, mutateJson, randomJson, type Json, type LengthField } from './mutate.js';
import { Rng, fixedIdentity } from './prng.js';
import { NOW } from './targets-protocol.js';

const DELTA_CODES = ['PROTO_OVERSIZE', 'SYNC_BAD_DELTA', 'PROTO_BAD_SIGNATURE', 'SYNC_UNKNOWN_KIND', 'SYNC_BAD_CHECKSUM'] as const;
const APPLY_CODES = [...DELTA_CODES, 'SYNC_EQUIVOCATION', 'SYNC_CLOCK_SKEW', 'SYNC_BUFFER_FULL'] as const;
const DOMAIN_PREFIX = utf8Encode(`${DELTA_DOMAIN}\0`);
const KEYS = ['a', 'b', 'model/w0', 'ключ', '鍵/𝔘', 'x'.repeat(256)];

/** A random write at wall time around `wall`. */
function randomWrite(rng: Rng, wall: number): EntryWrite {
  const kind = rng.pick(['json', 'bytes', 'weights'] as const);
  const ts = { wall: wall + rng.int(50), counter: rng.chance(0.8) ? rng.int(3) : 65535 };
  const key = rng.pick(KEYS);
  if (rng.chance(0.15)) return { key, kind, value: null, ts };
  if (kind === 'json') {
    let value = randomJson(rng, 2);
    if (value === null) value = 0;
    return { key, kind, value, ts };
  }
  return { key, kind, value: rng.bytes(rng.size(64)), ts };
}

function randomWrites(rng: Rng, wall: number): EntryWrite[] {
  return Array.from({ length: rng.range(1, 4) }, () => randomWrite(rng, wall));
}

/** Offsets of the length, count and integer fields of an encoded delta. */
export function deltaLengthFields(bytes: Uint8Array): LengthField[] {
  const out: LengthField[] = [{ offset: 33, size: 8 }, { offset: 41, size: 4 }];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 45;
  const count = view.getUint32(41);
  for (let i = 0; i < count && off + 2 <= bytes.length - 64; i++) {
    const k = view.getUint16(off);
    out.push({ offset: off, size: 2 }, { offset: off + 2 + k, size: 1 }, { offset: off + 3 + k, size: 1 }, { offset: off + 4 + k, size: 8 }, { offset: off + 12 + k, size: 2 });
    const flags = bytes[off + 3 + k];
    off += 14 + k;
    if (flags & 1) {
      out.push({ offset: off, size: 4 });
      off += 4 + view.getUint32(off);
    }
    if (flags & 2) off += 32;
  }
  return out;
}

/** Re-signs an encoded delta whose body (everything but the signature) was edited. */
function resignDelta(author: Identity, body: Uint8Array): Uint8Array {
  return concatBytes(body, sign(author, concatBytes(DOMAIN_PREFIX, body)));
}

interface DeltaItem {
  bytes: Uint8Array;
  author: Identity;
  delta: Delta;
}

const AUTHORS: readonly Identity[] = [11, 12, 13, 14].map(fixedIdentity);

function deltaPool(): DeltaItem[] {
  const rng = new Rng(0xde17a);
  const out: DeltaItem[] = [];
  for (const author of AUTHORS) {
    for (let seq = 1; seq <= 5; seq++) {
      const delta = signDelta(author, seq, randomWrites(rng, NOW - 100_000 + seq * 1000));
      out.push({ bytes: encodeDelta(delta), author, delta });
    }
  }
  return out;
}

const delta: FuzzTarget = {
  name: 'delta',
  decoder: 'decodeDelta (src/sync/delta.ts)',
  codes: DELTA_CODES,
  testCases: 1200,
  async prepare(): Promise<TargetInstance<unknown>> {
    const pool = deltaPool();
    const valid = new Set(pool.map((p) => toHex(p.bytes)));
    const others = pool.map((p) => p.bytes);
    const fields = new Map(pool.map((p) => [p, deltaLengthFields(p.bytes)]));
    return stateless((rng, last): CaseOutcome => {
      const item = rng.pick(pool);
      const kind = rng.weighted([[3, 'valid'], [55, 'bytes'], [30, 'resigned'], [5, 'random'], [3, 'oversize'], [4, 'non-bytes']] as const);
      let input: unknown;
      let label: string = kind;
      switch (kind) {
        case 'valid':
          input = item.bytes;
          break;
        case 'bytes': {
          const m = mutateBytes(rng, item.bytes, { others, lengthFields: fields.get(item) });
          [input, label] = [m.value, m.label];
          break;
        }
        case 'resigned': {
          // Signed by the author after the edit: decoding passes the signature and reaches the write validators.
          const m = mutateBytes(rng, item.bytes.subarray(0, item.bytes.length - 64), { lengthFields: fields.get(item) });
          [input, label] = [resignDelta(item.author, m.value), `resigned:${m.label}`];
          break;
        }
        case 'random':
          input = rng.chance(0.5) ? rng.bytes(rng.size(400)) : concatBytes(new Uint8Array([1]), rng.bytes(rng.size(400)));
          break;
        case 'oversize':
          input = concatBytes(item.bytes, new Uint8Array(256 * 1024));
          break;
        case 'non-bytes':
          input = rng.pick([undefined, null, 'delta', 7, {}, item.delta, new ArrayBuffer(100), new Uint16Array(60)]);
          break;
      }
      last.set(label, input);
      const r = typed(DELTA_CODES, () => decodeDelta(input as Uint8Array));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation(`a valid delta was refused: ${r.code}`);
        return { outcome: r.code, mutation: label };
      }
      const again = encodeDelta(r.value);
      check(equalBytes(again, input as Uint8Array), 'accepted a delta that does not re-encode to its own bytes');
      if (!label.startsWith('resigned')) check(valid.has(toHex(again)), 'FORGERY: a modified delta decoded without being re-signed');
      return { outcome: label.startsWith('resigned') ? 'ok(re-signed)' : 'ok', mutation: label };
    });
  },
};

interface ReplicaSession {
  replica: Replica;
  storage: MemoryStorage;
  events: number;
}

/** Everything observable of a replica: map, version vector, buffer, durable log, events. */
function snapshot(s: ReplicaSession): string {
  const r = s.replica;
  const entries = r.entries().map((e) => [e.key, e.kind, e.writer, e.ts.wall, e.ts.counter, e.checksum ?? '', e.value instanceof Uint8Array ? toHex(e.value) : JSON.stringify(e.value)]);
  return JSON.stringify({ vv: r.versionVector(), entries, buffered: r.bufferedCount, stored: s.storage.snapshot().map(toHex).sort(), events: s.events });
}

const replica: FuzzTarget = {
  name: 'replica',
  decoder: 'SYNC_DELTAS body → unpackFrames → peekDelta → decodeDelta → Replica.applyRemote, and SYNC_STATE → deltasSince (as src/gossip/sync-gossip.ts)',
  codes: [...APPLY_CODES, 'PROTO_MALFORMED', 'PROTO_BAD_BODY', 'SYNC_BAD_VECTOR', 'SYNC_BAD_WRITE'],
  sessionLength: 25,
  testCases: 800,
  async prepare(): Promise<TargetInstance<ReplicaSession>> {
    const rng = new Rng(0x5e551);
    const local = fixedIdentity(10);
    const pool: DeltaItem[] = [];
    const add = (author: Identity, seq: number, writes: EntryWrite[]) => {
      const d = signDelta(author, seq, writes);
      pool.push({ bytes: encodeDelta(d), author, delta: d });
    };
    // Three authors with chains 1..6, rival deltas for seqs 1..3 (equivocation), and a
    // fourth whose second delta is stamped 10 minutes ahead (clock skew).
    for (const author of AUTHORS.slice(0, 3)) {
      for (let seq = 1; seq <= 6; seq++) add(author, seq, randomWrites(rng, NOW - 50_000 + seq * 1000));
      for (let seq = 1; seq <= 3; seq++) add(author, seq, randomWrites(rng, NOW - 40_000));
    }
    add(AUTHORS[3], 1, randomWrites(rng, NOW - 1000));
    add(AUTHORS[3], 2, randomWrites(rng, NOW + 600_000));
    add(local, 1, randomWrites(rng, NOW - 2000));
    // On disk at the start of every session: author 0's first two deltas.
    const base = pool.filter((p) => p.author === AUTHORS[0]).slice(0, 2).map((p) => p.bytes);
    const valid = new Set(pool.map((p) => toHex(p.bytes)));
    const others = pool.map((p) => p.bytes);
    const fields = new Map(pool.map((p) => [p, deltaLengthFields(p.bytes)]));
    const last = new LastInput();

    /** One SYNC_DELTAS item: a valid delta, a mutated one, one re-signed after an edit, or junk. */
    const item = (r: Rng): { bytes: Uint8Array; label: string; resigned: boolean } => {
      const p = r.pick(pool);
      const kind = r.weighted([[40, 'valid'], [35, 'bytes'], [18, 'resigned'], [7, 'random']] as const);
      if (kind === 'valid') return { bytes: p.bytes, label: kind, resigned: false };
      if (kind === 'random') return { bytes: r.bytes(r.size(300)), label: kind, resigned: false };
      if (kind === 'bytes') {
        const m = mutateBytes(r, p.bytes, { others, lengthFields: fields.get(p) });
        return { bytes: m.value, label: kind, resigned: false };
      }
      const m = mutateBytes(r, p.bytes.subarray(0, p.bytes.length - 64), { lengthFields: fields.get(p) });
      return { bytes: resignDelta(p.author, m.value), label: kind, resigned: true };
    };

    const codes = [...APPLY_CODES];
    return {
      last,
      async newSession(): Promise<ReplicaSession> {
        const storage = MemoryStorage.fromSnapshot(base);
        const replica = await Replica.open({ identity: local, storage, now: () => NOW, maxBuffered: 3 });
        const s: ReplicaSession = { replica, storage, events: 0 };
        replica.addEventListener('change', () => s.events++);
        replica.addEventListener('delta', () => s.events++);
        return s;
      },
      closeSession(s) {
        s.replica.close();
      },
      async runCase(r, s): Promise<CaseOutcome> {
        const kind = r.weighted([[75, 'frame'], [15, 'state'], [10, 'object']] as const);
        const vvBefore = s.replica.versionVector();
        const outcomes: string[] = [];
        let label: string = kind;
        if (kind === 'frame') {
          const items = Array.from({ length: r.range(1, 4) }, () => item(r));
          let frame = packFrames(items.map((i) => i.bytes), Infinity)[0];
          // Items we re-signed ourselves are authentic even if a framing edit leaves them intact.
          const resignedSet = new Set(items.filter((i) => i.resigned).map((i) => toHex(i.bytes)));
          label = `frame[${[...new Set(items.map((i) => i.label))].sort().join('/')}]`;
          if (r.chance(0.15)) {
            // Corrupt the framing itself: the u32 length prefixes.
            const prefixes: LengthField[] = [];
            let off = 0;
            for (const i of items) {
              prefixes.push({ offset: off, size: 4 });
              off += 4 + i.bytes.length;
            }
            const m = mutateBytes(r, frame, { lengthFields: prefixes });
            frame = m.value;
            label = `framing:${m.label}`;
          }
          last.set(label, frame);
          const before = snapshot(s);
          const unpacked = typed(['PROTO_MALFORMED'], () => unpackFrames(frame));
          if (!unpacked.ok) {
            check(snapshot(s) === before, 'state changed by a frame that did not unpack');
            return { outcome: unpacked.code, mutation: label };
          }
          for (const bytes of unpacked.value) {
            const snap = snapshot(s);
            const res = await typedAsync(codes, async () => {
              const { author, seq } = peekDelta(bytes);
              if (s.replica.hasDelta(author, seq)) return 'skipped';
              return await s.replica.applyRemote(decodeDelta(bytes));
            });
            if (!res.ok) {
              check(snapshot(s) === snap, `state changed by a rejected delta (${res.code})`);
              outcomes.push(res.code);
              continue;
            }
            if ((res.value === 'applied' || res.value === 'buffered') && !resignedSet.has(toHex(bytes))) {
              check(valid.has(toHex(bytes)), 'FORGERY: a modified delta was applied without being re-signed');
            }
            outcomes.push(res.value);
          }
        } else if (kind === 'state') {
          // SYNC_STATE: a version vector body, mutated, then served from.
          const vv: Json = { ...s.replica.versionVector() };
          for (const a of AUTHORS) if (r.chance(0.5)) (vv as Record<string, Json>)[a.nodeId] = r.int(8);
          let bytes = canonicalJsonBytes({ vv });
          const m = r.chance(0.5) ? mutateJson(r, { vv }) : undefined;
          if (m) {
            try {
              bytes = canonicalJsonBytes(m.value);
            } catch {
              bytes = utf8Encode(JSON.stringify(m.value));
            }
          } else if (r.chance(0.6)) {
            bytes = mutateBytes(r, bytes).value;
          }
          label = m ? `state:${m.label}` : 'state';
          last.set(label, bytes);
          const snap = snapshot(s);
          const res = typed(['PROTO_BAD_BODY', 'SYNC_BAD_VECTOR'], () => {
            const body = decodeBody(MessageType.SYNC_STATE, bytes) as SyncStateBody;
            return { vv: body.vv, deltas: s.replica.deltasSince(body.vv) };
          });
          check(snapshot(s) === snap, 'state changed by serving a version vector');
          if (!res.ok) return { outcome: res.code, mutation: label };
          for (const d of res.value.deltas) check(d.seq > (res.value.vv[d.author] ?? 0), 'deltasSince served a delta the peer holds');
          return { outcome: 'ok:served', mutation: label };
        } else {
          // A hand-assembled Delta object (not from decodeDelta): must be fully re-verified.
          const p = r.pick(pool).delta;
          const q = r.pick(pool).delta;
          const forged = r.pick<() => unknown>([
            () => ({ ...p, seq: p.seq + 1 }),
            () => ({ ...p, writes: q.writes }),
            () => ({ ...p, signature: q.signature }),
            () => ({ ...p, author: q.author }),
            () => ({ ...p, authorKey: q.authorKey, author: q.author }),
            () => ({ ...p, writes: [{ ...p.writes[0], value: 12345, kind: 'json', checksum: undefined }] }),
            () => ({ ...p, writes: [] }),
            () => ({ ...p, seq: '1' }),
            () => ({ ...p, writes: null }),
            () => ({ ...p, signature: new Uint8Array(64) }),
          ])();
          label = 'object';
          last.set(label, encodeDeltaSafe(forged));
          const snap = snapshot(s);
          const res = await typedAsync([...codes, 'SYNC_BAD_WRITE'], () => s.replica.applyRemote(forged as Delta));
          if (!res.ok) {
            check(snapshot(s) === snap, `state changed by a rejected delta object (${res.code})`);
            return { outcome: res.code, mutation: label };
          }
          // Only an object whose content is still exactly a signed delta may be taken.
          check(valid.has(toHex(encodeDelta(forged as Delta))), `FORGERY: a tampered delta object was ${res.value}`);
          return { outcome: res.value, mutation: label };
        }
        const vvAfter = s.replica.versionVector();
        for (const [a, n] of Object.entries(vvBefore)) check((vvAfter[a] ?? 0) >= n, 'version vector went backwards');
        return { outcome: outcomes, mutation: label };
      },
    };
  },
};

function encodeDeltaSafe(d: unknown): Uint8Array | string {
  try {
    return encodeDelta(d as Delta);
  } catch (err) {
    return `unencodable: ${String(err)}`;
  }
}

const gossipFrames: FuzzTarget = {
  name: 'gossip-frames',
  decoder: 'unpackFrames (src/gossip/frames.ts)',
  codes: ['PROTO_MALFORMED'],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    return stateless((rng, last): CaseOutcome => {
      const items = Array.from({ length: rng.size(6) }, () => rng.bytes(rng.size(300)));
      const frame = packFrames(items, Infinity)[0] ?? new Uint8Array(0);
      const prefixes: LengthField[] = [];
      let off = 0;
      for (const i of items) {
        prefixes.push({ offset: off, size: 4 });
        off += 4 + i.length;
      }
      const kind = rng.weighted([[5, 'valid'], [80, 'bytes'], [5, 'many'], [10, 'random']] as const);
      let input = frame;
      let label: string = kind;
      if (kind === 'bytes') {
        const m = mutateBytes(rng, frame, { lengthFields: prefixes });
        [input, label] = [m.value, m.label];
      } else if (kind === 'many') {
        input = new Uint8Array(4 * rng.pick([4095, 4096, 4097, 5000]));
      } else if (kind === 'random') {
        input = rng.bytes(rng.size(200));
      }
      last.set(label, input);
      const r = typed(['PROTO_MALFORMED'], () => unpackFrames(input));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation('a valid frame was refused');
        return { outcome: r.code, mutation: label };
      }
      check(r.value.length <= 4096, 'more items than the limit');
      const again = packFrames(r.value, Infinity)[0] ?? new Uint8Array(0);
      check(equalBytes(again, input), 'items do not re-pack to the frame');
      return { outcome: 'ok', mutation: label };
    });
  },
};

export const SYNC_TARGETS: readonly FuzzTarget[] = [delta, replica, gossipFrames];
