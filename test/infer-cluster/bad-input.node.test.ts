import { describe, it } from 'node:test';
import { expect } from 'chai';
import { canonicalJsonBytes } from '../../src/protocol/canonical-json.js';
import { LocalModel, MODEL_PRESETS, modelSpecId, normalizeModelSpec, type ModelSpec } from '../../src/infer/index.js';
import {
  ClusterInference, assignSegments, bytesToFloats, decodeFrame, encodeFrame, floatsToBytes, payloadChecksum,
  type ErrorFrame, type FailoverDetail, type InferFrame, type RejectDetail, type RequestFrame, type ResultFrame,
} from '../../src/infer/cluster/index.js';
import { FakeNetwork, collect, makeCluster, record } from './fake-mesh.js';

const PROMPT = 'Hello, π-node!';
const TINY = MODEL_PRESETS['kpc-tiny'];
const tinyId = modelSpecId(TINY);
const tinySpec = canonicalJsonBytes(normalizeModelSpec(TINY));
const local = await LocalModel.load('kpc-tiny');
const opts = { maxTokens: 12, temperature: 0.8, seed: 1, stopAtEos: false };
const want = (await collect(local.generate(PROMPT, opts))).map((t) => t.token);
/** Until the fake mesh has delivered a frame and its reply (each one macrotask later). */
const settle = async () => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};
const row = (n: number, v = 0.25) => floatsToBytes(new Float32Array(n * 64).fill(v));

/** A server node and a raw endpoint that speaks frames by hand. */
function rig(serverOpts: { maxModelParams?: number } = {}) {
  const net = new FakeNetwork();
  const srv = new ClusterInference({ nodeId: 'srv', mesh: net.add('srv'), ...serverOpts });
  const evil = net.add('evil');
  const replies: InferFrame[] = [];
  evil.onFrame((_from, body) => replies.push(decodeFrame(body)));
  const rejects = record<RejectDetail>(srv, 'reject');
  const send = async (f: InferFrame | Uint8Array) => {
    evil.send('srv', f instanceof Uint8Array ? f : encodeFrame(f));
    await settle();
  };
  return { net, srv, evil, replies, rejects, send };
}

const job = 'aa'.repeat(16);
const req = (over: Partial<RequestFrame> = {}): RequestFrame => ({
  kind: 'request', job, requestId: 1, modelId: tinyId, from: 0, to: 1, pos: 0, rows: 1, lastRow: false, spec: tinySpec, payload: row(1), ...over,
});

/** Greedy sampling, as a hosted model's requester asks its last segment. */
const greedy = { temperature: 0, topK: 0, topP: 1, repeatPenalty: 1, repeatLastN: 64, u: 0, history: [], banned: [] };

describe('serving: bad requests are typed errors and change no state', () => {
  it('each bad request is answered with its code, penalized unless benign, and leaves nothing behind', async () => {
    const { net, srv, replies, rejects, send } = rig();
    const cases: Array<[InferFrame | Uint8Array, string | null, boolean]> = [
      [Uint8Array.from([1, 2, 3]), null, true], // garbage: no reply possible
      [req({ spec: undefined }), 'INFER_UNKNOWN_MODEL', false],
      [req({ modelId: 'cd'.repeat(32) }), 'INFER_BAD_FRAME', true], // spec does not hash to the id
      [req({ spec: new TextEncoder().encode('{"format":"kpc-model","extra":1}') }), 'INFER_BAD_SPEC', true],
      [req({ spec: new TextEncoder().encode('not json') }), 'INFER_BAD_FRAME', true],
      [req({ payload: floatsToBytes(new Float32Array(65)) }), 'INFER_BAD_FRAME', true], // 65 floats, not 1·64
      [req({ from: 1, to: 3 }), 'INFER_BAD_FRAME', true], // kpc-tiny has 2 blocks
      [req({ payload: floatsToBytes(new Float32Array(64).fill(NaN)) }), 'INFER_BAD_FRAME', true],
      [req({ pos: 256 }), 'INFER_CONTEXT_OVERFLOW', true],
      [req({ rows: 65, payload: row(65) }), 'INFER_BAD_FRAME', true], // more rows than one request may carry
      [req({ pos: 5 }), 'INFER_KV_MISSING', false], // a gap: nothing cached for that job
      [req({ from: 1, to: 2, tokens: true, payload: new Uint8Array(4) }), 'INFER_BAD_FRAME', true], // token ids past the first segment
      [req({ tokens: true, payload: new Uint8Array([0xff, 0xff, 0, 0]) }), 'INFER_BAD_FRAME', true], // a token outside the vocabulary
      [req({ sample: greedy }), 'INFER_BAD_FRAME', true], // sampling asked of a segment that does not end the model
      [req({ to: 2, sample: greedy, lastRow: true }), 'INFER_BAD_FRAME', true], // a replay asking to sample
      [req({ to: 2, sample: { ...greedy, banned: [9999] } }), 'INFER_BAD_FRAME', true], // a banned id outside the vocabulary
    ];
    for (const [frame, code, penalized] of cases) {
      const before = { replies: replies.length, rejects: rejects.length, penalties: net.penalties.length };
      await send(frame);
      if (code) {
        expect(replies).to.have.length(before.replies + 1);
        expect((replies[replies.length - 1] as ErrorFrame).code, JSON.stringify(code)).to.equal(code);
      } else expect(replies).to.have.length(before.replies);
      expect(net.penalties.length - before.penalties, String(code)).to.equal(penalized ? 1 : 0);
      expect(rejects.length - before.rejects).to.equal(penalized ? 1 : 0);
      expect(srv.serving, String(code)).to.deep.equal({ models: 0, kvCaches: 0, kvBytes: 0 });
    }
    for (const r of rejects) expect(r.from).to.equal('evil');

    // A good request: the output of those blocks, bit for bit; then a release frees it.
    await send(req({ payload: floatsToBytes(local.transformer.embed([256])) }));
    const ok = replies[replies.length - 1] as ResultFrame;
    expect(ok.kind).to.equal('result');
    const expected = local.transformer.runLayers(0, 1, local.transformer.embed([256]), local.transformer.createKvCache(0, 1), 0);
    expect(bytesToFloats(ok.payload)).to.deep.equal(expected);
    expect(ok.checksum).to.equal(payloadChecksum(floatsToBytes(expected)));
    expect(srv.serving).to.include({ models: 1, kvCaches: 1 });
    await send({ kind: 'release', job });
    expect(srv.serving.kvCaches).to.equal(0);

    // Token ids in, a sampled token out (what a hosted model's first and last holders do): the same as locally.
    await send(req({ to: 2, tokens: true, sample: greedy, payload: new Uint8Array([1, 1, 0, 0]) }));
    const both = replies[replies.length - 1] as ResultFrame;
    expect(both.kind).to.equal('result');
    const tr = local.transformer;
    const hidden = tr.runLayers(0, 2, tr.embed([257]), tr.createKvCache(0, 2), 0);
    expect(bytesToFloats(both.payload.subarray(0, hidden.length * 4))).to.deep.equal(hidden);
    const logits = tr.logits(hidden);
    const argmax = logits.indexOf(Math.max(...logits));
    expect(new DataView(both.payload.buffer, both.payload.byteOffset).getUint32(hidden.length * 4, true)).to.equal(argmax);
    await send({ kind: 'release', job });
  });

  it('a model larger than the node serves: INFER_UNAVAILABLE, not penalized', async () => {
    const { net, replies, send, srv } = rig({ maxModelParams: 1000 });
    await send(req());
    expect((replies[0] as ErrorFrame).code).to.equal('INFER_UNAVAILABLE');
    expect(net.penalties).to.deep.equal([]);
    expect(srv.serving.models).to.equal(0);
  });
});

describe('requesting: results that answer nothing asked are dropped', () => {
  const ids = ['n0', 'n1', 'n2', 'n3'];
  const holder = assignSegments(tinyId, 2, ids).map((s) => s.holders[0]).find((id) => id !== 'n0')!;

  it('a stranger\'s results: rejected, penalized, no effect on the output', async () => {
    const { nodes, net } = makeCluster(ids);
    const stranger = net.add('stranger');
    const rejects = record<RejectDetail>(nodes[0], 'reject');
    const out = [];
    for await (const t of nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny' })) {
      out.push(t.token);
      for (let id = 1; id < 40; id += 3) {
        stranger.send('n0', encodeFrame({ kind: 'result', job, requestId: id, from: 0, to: 1, pos: 0, rows: 1, lastRow: false, checksum: payloadChecksum(row(1)), payload: row(1) }));
      }
    }
    expect(out).to.deep.equal(want);
    expect(rejects.length).to.be.greaterThan(0);
    for (const r of rejects) expect([r.from, r.error.code]).to.deep.equal(['stranger', 'INFER_BAD_FRAME']);
    expect(net.penalties.every((p) => p.nodeId === 'stranger')).to.equal(true);
  });

  for (const [label, tamper] of [
    ['answers for another segment', (f: ResultFrame) => ({ ...f, from: f.from + 1, to: f.to + 1 })],
    ['answers with the wrong size', (f: ResultFrame) => {
      const payload = f.payload.subarray(0, f.rows * 63 * 4);
      return { ...f, payload, checksum: payloadChecksum(payload) };
    }],
    ['answers with a checksum that does not match', (f: ResultFrame) => ({ ...f, checksum: payloadChecksum(new Uint8Array(1)) })],
  ] as const) {
    it(`a holder that ${label}: typed error, ignored, then replaced; output unchanged`, async () => {
      const { nodes, endpoint, net } = makeCluster(ids, { timeoutMs: 150 });
      const rejects = record<RejectDetail>(nodes[0], 'reject');
      const failovers = record<FailoverDetail>(nodes[0], 'failover');
      endpoint(holder).tamper = (_to, body) => {
        const f = decodeFrame(body);
        return f.kind === 'result' ? encodeFrame(tamper(f)) : body;
      };
      const out = (await collect(nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny' }))).map((t) => t.token);
      expect(out).to.deep.equal(want);
      expect(rejects.length).to.be.at.least(1);
      for (const r of rejects) expect([r.from, r.error.code]).to.deep.equal([holder, 'INFER_BAD_FRAME']);
      expect(failovers.map((f) => [f.failed, f.reason])).to.deep.equal([[holder, 'timeout']]);
      expect(net.penalties.every((p) => p.nodeId === holder)).to.equal(true);
    });
  }
});

describe('a holder short of memory or of models', () => {
  it('drops KV caches under pressure; requesters replay and still get the same tokens', async () => {
    let c = 0;
    while (!assignSegments(tinyId, 2, ['a', 'b', `c${c}`]).some((s) => s.holders.includes(`c${c}`))) c++;
    const net = new FakeNetwork();
    const make = (id: string, maxKvBytes?: number) => new ClusterInference({ nodeId: id, mesh: net.add(id), maxKvBytes });
    const [a, b] = [make('a'), make('b')];
    make(`c${c}`, 2 * 256 * 64 * 4); // room for one 1-block KV cache: two jobs keep evicting each other
    const [x, y] = await Promise.all([collect(a.generate(PROMPT, { ...opts, model: 'kpc-tiny' })), collect(b.generate(PROMPT, { ...opts, model: 'kpc-tiny' }))]);
    expect(x.map((t) => t.token)).to.deep.equal(want);
    expect(y.map((t) => t.token)).to.deep.equal(want);
  });

  it('forgets old models (4 at most) and is sent the spec again', async () => {
    const { nodes } = makeCluster(['a', 'b', 'c']);
    const others: ModelSpec[] = [];
    for (let seed = 1; others.length < 5; seed++) {
      const spec: ModelSpec = { ...TINY, seed };
      if (assignSegments(modelSpecId(spec), 2, ['a', 'b', 'c']).some((s) => s.holders.includes('c'))) others.push(spec);
    }
    const [first, ...rest] = others;
    const firstTokens = (await collect(nodes[0].generate(PROMPT, { ...opts, model: first }))).map((t) => t.token);
    for (const spec of rest) await collect(nodes[1].generate(PROMPT, { ...opts, model: spec }));
    expect(nodes[2].serving.models).to.equal(4);
    expect((await collect(nodes[0].generate(PROMPT, { ...opts, model: first }))).map((t) => t.token)).to.deep.equal(firstTokens);
    const model = await LocalModel.load(first);
    expect(firstTokens).to.deep.equal((await collect(model.generate(PROMPT, opts))).map((t) => t.token));
  });
});
