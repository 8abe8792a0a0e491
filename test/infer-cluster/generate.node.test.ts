import { describe, it } from 'node:test';
import { expect } from 'chai';
import { LocalModel, MODEL_PRESETS, modelSpecId, type GenerateOptions, type ModelSpec } from '../../src/infer/index.js';
import { assignSegments, type ClusterToken, type FailoverDetail } from '../../src/infer/cluster/index.js';
import { collect, makeCluster, record, rejection } from './fake-mesh.js';

const PROMPT = 'Hello, π-node!';
const tiny = await LocalModel.load('kpc-tiny');
/** kpc-tiny with 5 blocks: 4 nodes then hold one segment each. */
const FIVE: ModelSpec = { ...MODEL_PRESETS['kpc-tiny'], layers: 5 };
const five = await LocalModel.load(FIVE);

async function localTokens(model: LocalModel, opts: GenerateOptions, prompt = PROMPT): Promise<{ tokens: number[]; text: string }> {
  const out = await collect(model.generate(prompt, opts));
  return { tokens: out.map((t) => t.token), text: out.map((t) => t.text).join('') };
}

const tokensOf = (out: ClusterToken[]) => out.map((t) => t.token);
const textOf = (out: ClusterToken[]) => out.map((t) => t.text).join('');
const ids4 = ['n0', 'n1', 'n2', 'n3'];

describe('ClusterInference.generate: the same tokens as LocalModel', () => {
  for (const [label, opts] of [
    ['temperature 0', { maxTokens: 24, stopAtEos: false }],
    ['temperature 0.8, seed 1', { maxTokens: 24, temperature: 0.8, seed: 1, stopAtEos: false }],
  ] as const) {
    it(`kpc-tiny, ${label}: one node and four nodes`, async () => {
      const want = await localTokens(tiny, opts);
      const solo = makeCluster(['solo']);
      const one = await collect(solo.nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny' }));
      expect(tokensOf(one)).to.deep.equal(want.tokens);
      expect(textOf(one)).to.equal(want.text);
      for (const t of one) expect(t.route).to.deep.equal([{ segment: [0, 2], nodes: ['solo'] }]);

      const { nodes } = makeCluster(ids4);
      const four = await collect(nodes[2].generate(PROMPT, { ...opts, model: 'kpc-tiny' }));
      expect(tokensOf(four)).to.deep.equal(want.tokens);
      expect(textOf(four)).to.equal(want.text);
      expect(four.map((t) => t.index)).to.deep.equal([...Array(24).keys()]);
      // Two blocks → two segments, given by rendezvous hashing to two distinct nodes.
      const expected = assignSegments(modelSpecId(MODEL_PRESETS['kpc-tiny']), 2, ids4).map((s) => ({ segment: [s.from, s.to], nodes: s.holders }));
      for (const t of four) expect(t.route).to.deep.equal(expected);
      expect(new Set(expected.map((h) => h.nodes[0])).size).to.equal(2);
    });
  }

  it('four segments over four nodes, one each, whoever requests; stops on EOS like LocalModel', async () => {
    const opts = { maxTokens: 40, temperature: 1.1, seed: 7 };
    const want = await localTokens(five, opts, 'abc');
    const { nodes } = makeCluster(ids4);
    for (const requester of [nodes[0], nodes[3]]) {
      const out = await collect(requester.generate('abc', { ...opts, model: FIVE }));
      expect(tokensOf(out)).to.deep.equal(want.tokens);
      const holders = out[0].route.map((h) => h.nodes[0]);
      expect(out[0].route.map((h) => h.segment)).to.deep.equal([[0, 1], [1, 2], [2, 3], [3, 5]]);
      expect([...holders].sort()).to.deep.equal(ids4);
    }
    // Every job told its holders to drop their KV caches.
    await new Promise((r) => setImmediate(r));
    for (const n of nodes) expect(n.serving.kvCaches).to.equal(0);
  });

  it('a long prompt (several 32-token chunks) and redundancy 2 give the same tokens', async () => {
    const prompt = 'The π-node regenerates its weights from a tiny spec. '.repeat(3);
    const opts = { maxTokens: 12, temperature: 0.8, seed: 1, stopAtEos: false };
    const want = await localTokens(tiny, opts, prompt);
    const { nodes } = makeCluster(ids4);
    const out = await collect(nodes[1].generate(prompt, { ...opts, model: 'kpc-tiny', redundancy: 2 }));
    expect(tokensOf(out)).to.deep.equal(want.tokens);
    for (const hop of out[0].route) expect(hop.nodes).to.have.length(2);
  });

  it('frames split into parts (small maxFrameBytes) and dropped frames change nothing', async () => {
    const opts = { maxTokens: 16, temperature: 0.8, seed: 1, stopAtEos: false };
    const want = await localTokens(five, opts);
    const split = makeCluster(ids4, { maxFrameBytes: 300 });
    expect(tokensOf(await collect(split.nodes[0].generate(PROMPT, { ...opts, model: FIVE })))).to.deep.equal(want.tokens);
    // A 64-float row is 256 bytes + header: every activation crossed the wire in parts.
    expect(split.nodes[0].stats.framesSent).to.be.greaterThan(2 * 16 * 3);
    const lossy = makeCluster(ids4, { dropRate: 0.05, timeoutMs: 150 });
    expect(tokensOf(await collect(lossy.nodes[0].generate(PROMPT, { ...opts, model: FIVE })))).to.deep.equal(want.tokens);
  });
});

describe('ClusterInference failover', () => {
  it('a holder removed mid-generation is replaced at once; the output is unchanged', async () => {
    const opts = { maxTokens: 24, temperature: 0.8, seed: 1, stopAtEos: false };
    const want = await localTokens(five, opts);
    const { nodes, net } = makeCluster(ids4);
    const failovers = record<FailoverDetail>(nodes[0], 'failover');
    const out: ClusterToken[] = [];
    let victim = '';
    for await (const t of nodes[0].generate(PROMPT, { ...opts, model: FIVE })) {
      out.push(t);
      if (t.index === 5) {
        victim = t.route.map((h) => h.nodes[0]).find((n) => n !== 'n0')!;
        net.remove(victim);
      }
    }
    expect(tokensOf(out)).to.deep.equal(want.tokens);
    expect(failovers).to.have.length(1);
    const f = failovers[0];
    expect(f).to.include({ failed: victim, reason: 'closed', index: 6 });
    expect(f.replacement).to.be.a('string').and.not.equal(victim);
    expect(f.pauseMs).to.be.a('number');
    for (const t of out.slice(6)) for (const hop of t.route) expect(hop.nodes).to.not.include(victim);
    const hop = out[6].route.find((h) => h.segment[0] === f.segment[0])!;
    expect(hop.nodes).to.deep.equal([f.replacement]);
  });

  it('a holder that goes silent is replaced after its timeout', async () => {
    const opts = { maxTokens: 12, stopAtEos: false };
    const want = await localTokens(five, opts);
    const { nodes, endpoint } = makeCluster(ids4, { timeoutMs: 150 });
    const failovers = record<FailoverDetail>(nodes[1], 'failover');
    const out: ClusterToken[] = [];
    for await (const t of nodes[1].generate(PROMPT, { ...opts, model: FIVE })) {
      out.push(t);
      if (t.index === 2) endpoint(t.route.map((h) => h.nodes[0]).find((n) => n !== 'n1')!).muted = true;
    }
    expect(tokensOf(out)).to.deep.equal(want.tokens);
    expect(failovers.map((f) => f.reason)).to.deep.equal(['timeout']);
  });

  it('a slow holder is replaced; its late answers are dropped quietly, not penalized', async () => {
    const opts = { maxTokens: 8, stopAtEos: false };
    const want = await localTokens(five, opts);
    const { nodes, endpoint, net } = makeCluster(ids4, { timeoutMs: 100 });
    const rejects = record(nodes[0], 'reject');
    const failovers = record<FailoverDetail>(nodes[0], 'failover');
    const slow = assignSegments(modelSpecId(FIVE), 5, ids4).map((s) => s.holders[0]).find((n) => n !== 'n0')!;
    endpoint(slow).delayMs = 300;
    expect(tokensOf(await collect(nodes[0].generate(PROMPT, { ...opts, model: FIVE })))).to.deep.equal(want.tokens);
    await new Promise((r) => setTimeout(r, 400)); // the late answers arrive
    expect(failovers.map((f) => [f.failed, f.reason])).to.deep.equal([[slow, 'timeout']]);
    expect(rejects).to.deep.equal([]);
    expect(net.penalties).to.deep.equal([]);
  });

  it('the requester takes over when every other holder is gone; with r = 2 and no second voter left: INFER_NO_QUORUM', async () => {
    const opts = { maxTokens: 30, stopAtEos: false };
    const want = await localTokens(five, opts);
    const { nodes, net } = makeCluster(['a', 'b']);
    const out: ClusterToken[] = [];
    for await (const t of nodes[0].generate(PROMPT, { ...opts, model: FIVE, segments: 2 })) {
      out.push(t);
      if (t.index === 0) net.remove('b');
    }
    expect(tokensOf(out)).to.deep.equal(want.tokens);
    expect(out[29].route.map((h) => h.nodes)).to.deep.equal([['a'], ['a']]);
    const lonely = makeCluster(['x', 'y'], { timeoutMs: 50 });
    lonely.endpoint('x').tamper = () => null; // x swallows everything it sends: y never hears back
    const err = await rejection(collect(lonely.nodes[1].generate(PROMPT, { maxTokens: 4, model: FIVE, segments: 2, redundancy: 2 })));
    expect(err.code).to.equal('INFER_NO_QUORUM');
    expect(Object.values(err.detail!.votes as Record<string, string[]>)).to.deep.equal([['y']]);
  });

  it('aborting stops with INFER_ABORTED and releases every KV cache', async () => {
    const { nodes } = makeCluster(ids4);
    const ctrl = new AbortController();
    const err = await rejection((async () => {
      for await (const t of nodes[0].generate(PROMPT, { maxTokens: 50, model: FIVE, signal: ctrl.signal, stopAtEos: false })) {
        if (t.index === 3) ctrl.abort();
      }
    })());
    expect(err.code).to.equal('INFER_ABORTED');
    await new Promise((r) => setImmediate(r));
    for (const n of nodes) expect(n.serving.kvCaches).to.equal(0);
  });
});
