import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import {
  Reassembler, assignSegments, bytesToFloats, decodeFrame, encodeFrame, floatsToBytes, payloadChecksum, rankMembers, splitFrame, splitLayers,
  type InferFrame, type PartFrame, type RequestFrame,
} from '../../src/infer/cluster/index.js';

const job = '0123456789abcdef0123456789abcdef';
const modelId = 'ab'.repeat(32);
const rows2 = floatsToBytes(Float32Array.from({ length: 8 }, (_, i) => i - 3.5));

const samples: InferFrame[] = [
  { kind: 'request', job, requestId: 7, modelId, from: 1, to: 3, pos: 5, rows: 2, lastRow: false, payload: rows2 },
  { kind: 'request', job, requestId: 0xffffffff, modelId, from: 0, to: 1024, pos: 0, rows: 1, lastRow: true, spec: new TextEncoder().encode('{"a":1}'), payload: rows2 },
  { kind: 'result', job, requestId: 9, from: 1, to: 3, pos: 5, rows: 2, lastRow: false, checksum: payloadChecksum(rows2), payload: rows2 },
  // A hosted model: token ids to the first segment, sampling asked of the last (rows·dim floats + a u32 token back).
  {
    kind: 'request', job, requestId: 8, modelId, from: 0, to: 4, pos: 0, rows: 2, lastRow: false, tokens: true,
    sample: { temperature: 0.8, topK: 40, topP: 0.95, repeatPenalty: 1.1, repeatLastN: 64, u: 0.25, history: [5, 6, 7], banned: [2] },
    payload: new Uint8Array([1, 0, 0, 0, 7, 1, 0, 0]),
  },
  { kind: 'result', job, requestId: 8, from: 0, to: 4, pos: 0, rows: 2, lastRow: false, sampled: true, checksum: payloadChecksum(rows2.subarray(0, 20)), payload: rows2.subarray(0, 20) },
  { kind: 'error', job, requestId: 3, code: 'INFER_KV_MISSING', have: 12, message: 'lost it — π' },
  { kind: 'release', job },
  { kind: 'part', messageId: 4, index: 1, count: 3, total: 10, data: new Uint8Array([1, 2, 3]) },
];

describe('INFER frames', () => {
  it('every kind round-trips', () => {
    for (const f of samples) expect(decodeFrame(encodeFrame(f))).to.deep.equal(f);
  });

  it('float32 payloads are little-endian and round-trip bit for bit (−0, subnormals, extremes)', () => {
    const values = Float32Array.from([0, -0, 1.5e-45, -3.4028234663852886e38, 1 / 3]);
    const bytes = floatsToBytes(values);
    expect([...bytes.subarray(0, 8)]).to.deep.equal([0, 0, 0, 0, 0, 0, 0, 0x80]);
    expect(new Uint8Array(bytesToFloats(bytes).buffer)).to.deep.equal(new Uint8Array(values.buffer));
  });

  it('any bytes decode to a frame or throw INFER_BAD_FRAME, nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeFrame(bytes);
        } catch (err) {
          return isKpcError(err, 'INFER_BAD_FRAME');
        }
        return true;
      }),
      { numRuns: 2000 },
    );
    // Mutations of valid frames too.
    fc.assert(
      fc.property(fc.constantFrom(...samples.map((f) => encodeFrame(f))), fc.nat(), fc.integer({ min: 0, max: 255 }), (frame, at, byte) => {
        const b = frame.slice();
        b[at % b.length] = byte;
        try {
          decodeFrame(b);
        } catch (err) {
          return isKpcError(err, 'INFER_BAD_FRAME');
        }
        return true;
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects what it must: version, kind, flags, sizes, ranges, error codes', () => {
    const bad = (bytes: Uint8Array) => expect(() => decodeFrame(bytes)).to.throw().with.property('code', 'INFER_BAD_FRAME');
    const req = encodeFrame(samples[0]);
    bad(new Uint8Array(0));
    bad(Uint8Array.from([2, ...req.subarray(1)])); // version
    bad(Uint8Array.from([1, 9, ...req.subarray(2)])); // kind
    bad(Uint8Array.from([1, 1, 0x80, ...req.subarray(3)])); // flags
    bad(req.subarray(0, req.length - 1)); // not whole rows
    const empty = req.slice();
    new DataView(empty.buffer).setUint16(58, 1); // to = from
    bad(empty);
    const err = encodeFrame(samples[3]);
    bad(Uint8Array.from([1, 3, 99, ...err.subarray(3)])); // unknown error code
    bad(err.subarray(0, err.length - 1)); // message length
  });

  it('parts: split to fit, reassembled in any order; contradictions throw; memory is bounded', () => {
    const big = encodeFrame({ ...(samples[0] as RequestFrame), rows: 100, payload: new Uint8Array(100 * 4 * 4).fill(7) });
    const parts = splitFrame(big, 300, 42);
    expect(parts.length).to.equal(Math.ceil(big.length / (300 - 16)));
    for (const p of parts) expect(p.length).to.be.at.most(300);
    const r = new Reassembler(() => 0);
    const shuffled = [...parts].reverse();
    const results = shuffled.map((p) => r.push('x', decodeFrame(p) as PartFrame));
    expect(results.slice(0, -1).every((x) => x === null)).to.equal(true);
    expect(results[results.length - 1]).to.deep.equal(big);
    expect(r.pending).to.equal(0);
    // A duplicate or inconsistent part.
    const p0 = decodeFrame(parts[0]) as PartFrame;
    r.push('x', p0);
    expect(() => r.push('x', p0)).to.throw().with.property('code', 'INFER_BAD_FRAME');
    r.push('x', p0);
    expect(() => r.push('x', { ...p0, index: 1, total: p0.total + 1 })).to.throw().with.property('code', 'INFER_BAD_FRAME');
    expect(r.pending).to.equal(0); // a contradicted message is dropped whole
    // At most 8 unfinished messages per sender; old ones expire.
    let now = 0;
    const bounded = new Reassembler(() => now, 1000, 8);
    for (let id = 0; id < 20; id++) bounded.push('y', { ...p0, messageId: id });
    expect(bounded.pending).to.equal(8);
    now = 5000;
    bounded.push('z', { ...p0, messageId: 1 });
    expect(bounded.pending).to.equal(1);
  });
});

describe('assignment by rendezvous hashing', () => {
  const ids = ['a', 'b', 'c', 'd', 'e'];

  it('is the same whatever the member order, and even', () => {
    const a = assignSegments(modelId, 8, ids, 1, 4);
    expect(assignSegments(modelId, 8, [...ids].reverse(), 1, 4)).to.deep.equal(a);
    expect(a.map((s) => [s.from, s.to])).to.deep.equal([[0, 2], [2, 4], [4, 6], [6, 8]]);
    expect(new Set(a.map((s) => s.holders[0])).size).to.equal(4);
    expect(splitLayers(5, 4)).to.deep.equal([[0, 1], [1, 2], [2, 3], [3, 5]]);
    // Default: min(members, layers).
    expect(assignSegments(modelId, 2, ids)).to.have.length(2);
    expect(assignSegments(modelId, 8, ids)).to.have.length(5);
  });

  it('r holders per segment, distinct, every member within its fair share', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 1e6 }).map((n) => `m${n}`), { minLength: 4, maxLength: 9 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 12 }), (members, r, layers) => {
        const plan = assignSegments(modelId, layers, members, r);
        const load = new Map<string, number>();
        for (const s of plan) {
          if (new Set(s.holders).size !== r) return false;
          for (const h of s.holders) load.set(h, (load.get(h) ?? 0) + 1);
        }
        const share = Math.ceil((r * plan.length) / members.length);
        return [...load.values()].every((n) => n <= share);
      }),
      { numRuns: 1000 },
    );
  });

  it('a member leaving changes no other member\'s rank (the rendezvous property)', () => {
    const before = rankMembers(modelId, 0, 4, ids);
    for (const gone of ids) expect(rankMembers(modelId, 0, 4, ids.filter((x) => x !== gone))).to.deep.equal(before.filter((x) => x !== gone));
  });

  it('typed errors for impossible requests', () => {
    expect(() => assignSegments(modelId, 4, ['a'], 2)).to.throw().with.property('code', 'INFER_NO_QUORUM');
    expect(() => assignSegments(modelId, 4, ids, 1, 5)).to.throw().with.property('code', 'INFER_BAD_INPUT');
    expect(() => assignSegments(modelId, 4, ids, 0)).to.throw().with.property('code', 'INFER_BAD_INPUT');
  });
});
