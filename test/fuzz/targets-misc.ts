/**
 * Fuzz targets of admission and inference: proof-of-π (binary and the base64 text
 * an ANNOUNCE carries), INFER frames, and PART reassembly.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, equalBytes, fromBase64, toBase64, toHex, utf8Encode } from '../../src/crypto/bytes.js';
import type { Identity } from '../../src/crypto/identity.js';
import { FrameKind, decodeFrame, encodeFrame, payloadChecksum, type InferFrame } from '../../src/infer/cluster/frames.js';
import { Reassembler, splitFrame } from '../../src/infer/cluster/parts.js';
import { decodePowProof, encodePowProof, epochOf, leadingZeroBits, powChallenge, solveProof, verifyProof, type PowProof, type VerifyOptions } from '../../src/pow/index.js';
import { FuzzViolation, LastInput, check, stateless, typed, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { mutateBytes, mutateText, type LengthField } from './mutate.js';
import { Rng, fixedIdentity } from './prng.js';
import { NOW } from './targets-protocol.js';

const POW_CODES = ['POW_MALFORMED', 'POW_WRONG_KEY', 'POW_WRONG_CLUSTER', 'POW_EXPIRED', 'POW_EPOCH_FUTURE', 'POW_TOO_EASY', 'POW_INVALID'] as const;
const POW_TEXT_CODES = [...POW_CODES, 'CRYPTO_BAD_ENCODING'] as const;
const POW_DIFFICULTY = 8;
const EPOCH_MS = 3_600_000;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';

interface ProofItem {
  bytes: Uint8Array;
  proof: PowProof;
  identity: Identity;
}

function u64be(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setUint32(0, Math.floor(n / 2 ** 32));
  new DataView(out.buffer).setUint32(4, n >>> 0);
  return out;
}

/** What an accepted proof must satisfy, recomputed here independently of verifyProof's control flow. */
function checkAcceptedProof(proof: PowProof, input: Uint8Array, opts: VerifyOptions): void {
  check(equalBytes(encodePowProof(proof), input), 'accepted a proof that does not re-encode to its own bytes');
  check(equalBytes(proof.publicKey, opts.publicKey), 'accepted a proof bound to another key');
  check(proof.clusterId === opts.clusterId, 'accepted a proof bound to another cluster');
  check(proof.difficulty >= (opts.minDifficulty ?? 19), 'accepted a proof below the minimum difficulty');
  const current = Math.floor(opts.now / EPOCH_MS);
  check(proof.epoch >= current - 2 && proof.epoch <= current + 1, 'accepted a proof of a far epoch');
  const { prefix } = powChallenge(proof.publicKey, proof.clusterId, proof.epoch);
  check(leadingZeroBits(sha256(concatBytes(prefix, u64be(proof.nonce)))) >= proof.difficulty, 'FORGERY: accepted a proof whose hash lacks the zero bits');
}

const pow: FuzzTarget = {
  name: 'pow',
  decoder: 'decodePowProof + verifyProof, bytes and ANNOUNCE text (src/pow/codec.ts, proof.ts)',
  codes: POW_TEXT_CODES,
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const ids = [30, 31, 32, 33].map(fixedIdentity);
    const clusters = ['c', 'kpc-cluster', 'ключ/кластер', '🦊'.repeat(5), 'x'.repeat(128)];
    const epoch = epochOf(NOW, EPOCH_MS);
    const pool: ProofItem[] = [];
    for (let i = 0; i < 12; i++) {
      const identity = ids[i % ids.length];
      const proof = await solveProof({ publicKey: identity.publicKey, clusterId: clusters[i % clusters.length], epoch: epoch - (i % 2), difficulty: POW_DIFFICULTY + (i % 3) });
      pool.push({ bytes: encodePowProof(proof), proof, identity });
    }
    const others = pool.map((p) => p.bytes);
    const lengthFields: LengthField[] = [{ offset: 1, size: 1 }, { offset: 34, size: 8 }, { offset: 42, size: 8 }, { offset: 50, size: 2 }];
    return stateless((rng, last): CaseOutcome => {
      const item = rng.pick(pool);
      // The verifier's context: usually the sender's, sometimes another key, cluster, clock or minimum.
      const opts: VerifyOptions = { publicKey: item.proof.publicKey, clusterId: item.proof.clusterId, now: NOW, epochMs: EPOCH_MS, minDifficulty: POW_DIFFICULTY };
      const ctx = rng.weighted([[80, 'own'], [5, 'key'], [5, 'cluster'], [5, 'clock'], [5, 'min']] as const);
      if (ctx === 'key') opts.publicKey = rng.pick(ids).publicKey;
      if (ctx === 'cluster') opts.clusterId = rng.pick(clusters);
      if (ctx === 'clock') opts.now = NOW + rng.pick([-2, -1, 1, 2, 3]) * EPOCH_MS + rng.range(-90_000, 90_000);
      if (ctx === 'min') opts.minDifficulty = rng.range(0, 20);
      const kind = rng.weighted([[5, 'valid'], [60, 'bytes'], [20, 'text'], [6, 'random'], [5, 'non-bytes'], [4, 'oversize']] as const);
      let bytes: unknown = item.bytes;
      let text: string | undefined;
      const tag = ctx === 'own' ? '' : `${ctx}:`;
      let label: string = `${tag}${kind}`;
      switch (kind) {
        case 'bytes': {
          const m = mutateBytes(rng, item.bytes, { others, lengthFields });
          [bytes, label] = [m.value, `${tag}${m.label}`];
          break;
        }
        case 'text': {
          const m = rng.chance(0.5) ? mutateText(rng, toBase64(item.bytes), B64) : { value: toBase64(mutateBytes(rng, item.bytes, { lengthFields }).value), label: 'text:bytes' };
          [text, label] = [m.value, `${tag}${m.label}`];
          break;
        }
        case 'random':
          bytes = rng.chance(0.5) ? rng.bytes(rng.size(120)) : concatBytes(new Uint8Array([1, rng.int(70)]), rng.bytes(rng.size(120)));
          break;
        case 'non-bytes':
          bytes = rng.pick([undefined, null, 'proof', 1, {}, item.proof, new ArrayBuffer(60), new Uint16Array(30)]);
          break;
        case 'oversize':
          bytes = concatBytes(item.bytes, rng.bytes(rng.range(400, 600)));
          break;
      }
      last.set(label, text ?? bytes);
      // What node.ts's admission check does with an ANNOUNCE's proof text, or the binary path.
      const r = typed(POW_TEXT_CODES, () => {
        const b = text !== undefined ? fromBase64(text) : (bytes as Uint8Array);
        const proof = decodePowProof(b);
        verifyProof(proof, opts);
        return { proof, b };
      });
      if (!r.ok) {
        if (kind === 'valid' && ctx === 'own') throw new FuzzViolation(`a valid proof was refused: ${r.code}`);
        return { outcome: r.code, mutation: label };
      }
      checkAcceptedProof(r.value.proof, r.value.b, opts);
      return { outcome: 'ok', mutation: label };
    });
  },
};

/** A random valid INFER frame. */
function randomFrame(rng: Rng): InferFrame {
  const job = toHex(rng.bytes(16));
  const requestId = rng.int(2 ** 32);
  const dim = rng.pick([4, 8, 16]);
  const rows = rng.range(1, 4);
  const from = rng.int(8);
  const to = from + rng.range(1, 4);
  const pos = rng.int(1000);
  switch (rng.int(5)) {
    case 0: {
      const spec = rng.chance(0.4) ? utf8Encode(JSON.stringify({ dim, layers: to, seed: rng.int(100) })) : undefined;
      // Hosted models: token ids instead of activations, and a sampling block.
      const tokens = rng.chance(0.2);
      const ids = () => Array.from({ length: rng.int(6) }, () => rng.int(50000));
      const sample = rng.chance(0.2)
        ? { temperature: rng.pick([0, 0.7, 1.5]), topK: rng.int(100), topP: rng.pick([1, 0.9, 0.5]), repeatPenalty: rng.pick([1, 1.1]), repeatLastN: rng.int(128), u: rng.float(), history: ids(), banned: ids() }
        : undefined;
      return {
        kind: 'request', job, requestId, modelId: toHex(rng.bytes(32)), from, to, pos, rows, lastRow: rng.chance(0.3),
        ...(tokens ? { tokens } : {}), ...(sample ? { sample } : {}), ...(spec ? { spec } : {}), payload: rng.bytes(rows * (tokens ? 1 : dim) * 4),
      };
    }
    case 1: {
      const sampled = rng.chance(0.2);
      const payload = rng.bytes(rows * dim * 4 + (sampled ? 4 : 0));
      return { kind: 'result', job, requestId, from, to, pos, rows, lastRow: rng.chance(0.3), ...(sampled ? { sampled } : {}), checksum: payloadChecksum(payload), payload };
    }
    case 2:
      return { kind: 'error', job, requestId, code: rng.pick(['INFER_BAD_FRAME', 'INFER_UNKNOWN_MODEL', 'INFER_KV_MISSING', 'INFER_UNAVAILABLE'] as const), have: rng.int(1000), message: rng.string(rng.size(80)).replace(/[\ud800-\udfff]/g, '') };
    case 3:
      return { kind: 'release', job };
    default: {
      const count = rng.range(2, 5);
      return { kind: 'part', messageId: rng.int(2 ** 32), index: rng.int(count), count, total: count + rng.int(5000), data: rng.bytes(rng.range(1, 64)) };
    }
  }
}

function frameFields(f: InferFrame): LengthField[] {
  switch (f.kind) {
    case 'request':
      return [{ offset: 2, size: 1 }, { offset: 56, size: 2 }, { offset: 58, size: 2 }, { offset: 60, size: 4 }, { offset: 64, size: 4 }, { offset: 68, size: 2 }];
    case 'result':
      return [{ offset: 2, size: 1 }, { offset: 24, size: 2 }, { offset: 26, size: 2 }, { offset: 28, size: 4 }, { offset: 32, size: 4 }];
    case 'error':
      return [{ offset: 2, size: 1 }, { offset: 24, size: 4 }, { offset: 28, size: 2 }];
    case 'release':
      return [{ offset: 1, size: 1 }, { offset: 2, size: 1 }];
    case 'part':
      return [{ offset: 8, size: 2 }, { offset: 10, size: 2 }, { offset: 12, size: 4 }];
  }
}

const inferFrame: FuzzTarget = {
  name: 'infer-frame',
  decoder: 'decodeFrame (src/infer/cluster/frames.ts)',
  codes: ['INFER_BAD_FRAME'],
  testCases: 2000,
  async prepare(): Promise<TargetInstance<unknown>> {
    return stateless((rng, last): CaseOutcome => {
      const f = randomFrame(rng);
      const bytes = encodeFrame(f);
      const kind = rng.weighted([[5, 'valid'], [80, 'bytes'], [5, 'kind'], [6, 'random'], [4, 'non-bytes']] as const);
      let input: unknown = bytes;
      let label: string = kind;
      if (kind === 'bytes') {
        const m = mutateBytes(rng, bytes, { lengthFields: frameFields(f) });
        [input, label] = [m.value, `${f.kind}:${m.label}`];
      } else if (kind === 'kind') {
        const b = bytes.slice();
        b[1] = rng.chance(0.8) ? rng.pick(Object.values(FrameKind)) : rng.int(256);
        input = b;
      } else if (kind === 'random') {
        input = rng.chance(0.5) ? rng.bytes(rng.size(200)) : concatBytes(new Uint8Array([1, rng.range(1, 5)]), rng.bytes(rng.size(200)));
      } else if (kind === 'non-bytes') {
        input = rng.pick([undefined, null, 'frame', 3, {}, f, new ArrayBuffer(70)]);
      }
      last.set(label, input);
      const r = typed(['INFER_BAD_FRAME'], () => decodeFrame(input as Uint8Array));
      if (!r.ok) {
        if (kind === 'valid') throw new FuzzViolation(`a valid ${f.kind} frame was refused: ${r.error.message}`);
        return { outcome: r.code, mutation: label };
      }
      // Structure only, but exactly: what decodes must re-encode to the same bytes.
      const again = typed(['INFER_BAD_FRAME'], () => encodeFrame(r.value));
      check(again.ok && equalBytes(again.value, input as Uint8Array), `accepted a ${r.value.kind} frame that does not re-encode to its own bytes`);
      return { outcome: `ok:${r.value.kind}`, mutation: label };
    });
  },
};

interface PartsSession {
  clock: { now: number };
  parts: Reassembler;
  /** Message id → original bytes, for messages none of whose parts were mutated. */
  clean: Map<number, Uint8Array>;
  tainted: Set<number>;
  queue: { bytes: Uint8Array; from: string; messageId: number }[];
  nextId: number;
}

const inferParts: FuzzTarget = {
  name: 'infer-parts',
  decoder: 'decodeFrame → Reassembler.push (src/infer/cluster/parts.ts)',
  codes: ['INFER_BAD_FRAME'],
  sessionLength: 50,
  testCases: 2000,
  async prepare(): Promise<TargetInstance<PartsSession>> {
    const last = new LastInput();
    const senders = ['a'.repeat(32), 'b'.repeat(32)];
    return {
      last,
      newSession(): PartsSession {
        const clock = { now: NOW };
        return { clock, parts: new Reassembler(() => clock.now, 30_000, 8), clean: new Map(), tainted: new Set(), queue: [], nextId: 1 };
      },
      runCase(rng, s): CaseOutcome {
        if (s.queue.length === 0 || rng.chance(0.1)) {
          // A new message split into parts, queued in a shuffled order.
          const whole = encodeFrame(randomFrame(rng));
          const big = concatBytes(whole, rng.bytes(rng.size(600)));
          const id = rng.chance(0.9) ? s.nextId++ : rng.int(4);
          const parts = splitFrame(big, rng.range(17, 120), id);
          if (parts.length === 1) return { outcome: 'ok:unsplit', mutation: 'setup' };
          const from = rng.pick(senders);
          if (!s.clean.has(id)) s.clean.set(id, big);
          else s.tainted.add(id);
          for (const p of parts) s.queue.splice(rng.int(s.queue.length + 1), 0, { bytes: p, from, messageId: id });
        }
        if (rng.chance(0.05)) s.clock.now += rng.pick([1000, 29_000, 31_000]);
        const next = s.queue.shift()!;
        const kind = rng.weighted([[75, 'valid'], [20, 'bytes'], [5, 'replay']] as const);
        let input = next.bytes;
        let label: string = kind;
        if (kind === 'bytes') {
          const m = mutateBytes(rng, next.bytes, { lengthFields: [{ offset: 4, size: 4 }, { offset: 8, size: 2 }, { offset: 10, size: 2 }, { offset: 12, size: 4 }] });
          [input, label] = [m.value, m.label];
          s.tainted.add(next.messageId);
        } else if (kind === 'replay') {
          s.queue.unshift(next); // the same part again right after
        }
        last.set(label, input);
        const r = typed(['INFER_BAD_FRAME'], () => {
          const f = decodeFrame(input);
          if (f.kind !== 'part') return { f, whole: null };
          if (kind === 'bytes') s.tainted.add(f.messageId);
          return { f, whole: s.parts.push(next.from, f) };
        });
        check(s.parts.pending <= 8 * senders.length, 'reassembly holds more unfinished messages than its bound');
        if (!r.ok) {
          s.tainted.add(next.messageId);
          return { outcome: r.code, mutation: label };
        }
        const { f, whole } = r.value;
        if (f.kind !== 'part' || whole === null) return { outcome: f.kind === 'part' ? 'ok:held' : `ok:${f.kind}`, mutation: label };
        check(whole.length === f.total, 'reassembled message of the wrong length');
        const original = s.clean.get(f.messageId);
        if (original && !s.tainted.has(f.messageId)) check(equalBytes(whole, original), 'reassembled bytes differ from the message');
        s.clean.delete(f.messageId);
        s.queue = s.queue.filter((q) => q.messageId !== f.messageId || kind === 'replay');
        return { outcome: 'ok:complete', mutation: label };
      },
    };
  },
};

export const MISC_TARGETS: readonly FuzzTarget[] = [pow, inferFrame, inferParts];
