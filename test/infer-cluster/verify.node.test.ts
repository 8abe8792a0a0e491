import { describe, it } from 'node:test';
import { expect } from 'chai';
import { LocalModel, MODEL_PRESETS, modelSpecId, type ModelSpec } from '../../src/infer/index.js';
import { assignSegments, redundancyQuorum, type DisagreementDetail, type FailoverDetail } from '../../src/infer/cluster/index.js';
import { collect, corrupt, makeCluster, record, rejection } from './fake-mesh.js';

const PROMPT = 'Hello, π-node!';
const FIVE: ModelSpec = { ...MODEL_PRESETS['kpc-tiny'], layers: 5 };
const tinyId = modelSpecId(MODEL_PRESETS['kpc-tiny']);
const opts = { maxTokens: 16, temperature: 0.8, seed: 1, stopAtEos: false };
const want = (await collect((await LocalModel.load('kpc-tiny')).generate(PROMPT, opts))).map((t) => t.token);

describe('quorum', () => {
  it('⌈2r/3⌉ agreeing nodes: a single faulty node is outvoted from r = 3 on', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(redundancyQuorum)).to.deep.equal([1, 2, 2, 3, 4, 4, 5]);
  });
});

describe('ClusterInference verification (redundancy)', () => {
  it('r = 3: a node that corrupts its outputs is outvoted, reported and penalized; the text is unchanged', async () => {
    const ids = ['n0', 'n1', 'n2', 'n3'];
    // The liar must hold a segment: pick one the assignment gives work to, other than the requester.
    const plan = assignSegments(tinyId, 2, ids, 3);
    const liar = ids.find((id) => id !== 'n0' && plan.some((s) => s.holders.includes(id)))!;
    const { nodes, endpoint, net } = makeCluster(ids);
    corrupt(endpoint(liar));
    const disagreements = record<DisagreementDetail>(nodes[0], 'disagreement');
    const out = await collect(nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny', redundancy: 3 }));
    expect(out.map((t) => t.token)).to.deep.equal(want);
    expect(disagreements.length).to.be.at.least(1);
    for (const d of disagreements) {
      expect(d.nodeId).to.equal(liar);
      expect(d.checksum).to.not.equal(d.accepted);
    }
    expect(disagreements[0].index).to.equal(0);
    const penalties = net.penalties.filter((p) => p.by === 'n0');
    expect(penalties.length).to.be.at.least(1);
    for (const p of penalties) expect([p.nodeId, p.code]).to.deep.equal([liar, 'INFER_DISAGREEMENT']);
    // Its output never counted, and once caught it is no longer asked.
    for (const t of out) for (const hop of t.route) expect(hop.nodes).to.not.include(liar);
    for (const hop of out[out.length - 1].route) expect(hop.nodes).to.have.length(3);
  });

  it('r = 2 and the two disagree: a third node decides, the loser is reported', async () => {
    const ids = ['n0', 'n1', 'n2', 'n3'];
    const plan = assignSegments(tinyId, 2, ids, 2);
    const liar = ids.find((id) => id !== 'n0' && plan.some((s) => s.holders.includes(id)))!;
    const { nodes, endpoint } = makeCluster(ids);
    corrupt(endpoint(liar), -0.5);
    const disagreements = record<DisagreementDetail>(nodes[0], 'disagreement');
    const out = await collect(nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny', redundancy: 2 }));
    expect(out.map((t) => t.token)).to.deep.equal(want);
    expect(disagreements.map((d) => d.nodeId)).to.include(liar);
  });

  it('no quorum: INFER_NO_QUORUM before any token, never a silently different output', async () => {
    // Three nodes, r = 3, two liars that disagree with each other too: three different outputs.
    const { nodes, endpoint, net } = makeCluster(['a', 'b', 'c']);
    corrupt(endpoint('b'), 1);
    corrupt(endpoint('c'), 2);
    const got: number[] = [];
    const err = await rejection((async () => {
      for await (const t of nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny', redundancy: 3 })) got.push(t.token);
    })());
    expect(err.code).to.equal('INFER_NO_QUORUM');
    expect(got).to.deep.equal([]);
    expect(Object.keys(err.detail!.votes as object)).to.have.length(3);
    expect(net.penalties).to.deep.equal([]); // nobody knows who lied: nobody is blamed
    // r = 2 of two nodes, one liar.
    const pair = makeCluster(['a', 'b']);
    corrupt(pair.endpoint('b'));
    expect((await rejection(collect(pair.nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny', redundancy: 2 })))).code).to.equal('INFER_NO_QUORUM');
    // More redundancy than nodes.
    expect((await rejection(collect(pair.nodes[0].generate(PROMPT, { ...opts, model: 'kpc-tiny', redundancy: 3 })))).code).to.equal('INFER_NO_QUORUM');
  });

  it('r = 3 with a failover and a liar at once, over four segments', async () => {
    const ids = ['n0', 'n1', 'n2', 'n3', 'n4', 'n5'];
    const local = await collect((await LocalModel.load(FIVE)).generate(PROMPT, opts));
    const { nodes, endpoint, net } = makeCluster(ids);
    const plan = assignSegments(modelSpecId(FIVE), 5, ids, 3, 4);
    const holders = [...new Set(plan.flatMap((s) => s.holders))].filter((id) => id !== 'n0');
    corrupt(endpoint(holders[0]));
    const failovers = record<FailoverDetail>(nodes[0], 'failover');
    const disagreements = record<DisagreementDetail>(nodes[0], 'disagreement');
    const out = [];
    for await (const t of nodes[0].generate(PROMPT, { ...opts, model: FIVE, redundancy: 3, segments: 4 })) {
      out.push(t);
      if (t.index === 4) net.remove(holders[1]);
    }
    expect(out.map((t) => t.token)).to.deep.equal(local.map((t) => t.token));
    expect(new Set(disagreements.map((d) => d.nodeId))).to.deep.equal(new Set([holders[0]]));
    expect(failovers.map((f) => f.failed)).to.include(holders[1]);
  });
});
