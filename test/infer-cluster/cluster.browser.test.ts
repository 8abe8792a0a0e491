import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import { LocalModel, MODEL_PRESETS, type ModelSpec } from '../../src/infer/index.js';
import type { ClusterToken, FailoverDetail } from '../../src/infer/cluster/index.js';
import { PiNode } from '../../src/node.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';
import { loadGgufModel } from '../../src/model/index.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';
import { testNode } from '../helpers/nodes.js';

const PROMPT = 'Hello, π-node!';
/** kpc-tiny with 5 blocks: four segments, one per node. */
const FIVE: ModelSpec = { ...MODEL_PRESETS['kpc-tiny'], layers: 5 };

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('distributed inference over real WebRTC', function () {
  this.timeout(120_000);
  let signaling: string;
  const running: PiNode[] = [];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  async function cluster(count: number): Promise<{ nodes: PiNode[] }> {
    const clusterId = uniqueCluster('infer');
    const nodes = Array.from({ length: count }, () => testNode(clusterId, signaling));
    running.push(...nodes);
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === count - 1 && n.peers.every((p) => p.state === 'READY')), `${count} READY nodes, fully linked`, 60_000);
    return { nodes };
  }

  it('four Chromium nodes produce exactly LocalModel\'s tokens (kpc-tiny, T = 0 and T = 0.8)', async () => {
    const { nodes } = await cluster(4);
    const tiny = await LocalModel.load('kpc-tiny');
    for (const opts of [{ maxTokens: 24, stopAtEos: false }, { maxTokens: 24, temperature: 0.8, seed: 1, stopAtEos: false }]) {
      const want = await collect(tiny.generate(PROMPT, opts));
      const got = await collect(nodes[1].generate(PROMPT, { ...opts, model: 'kpc-tiny' }));
      expect(got.map((t) => t.token)).to.deep.equal(want.map((t) => t.token));
      expect(got.map((t) => t.text).join('')).to.equal(want.map((t) => t.text).join(''));
    }
    // Four segments of a 5-block model: every node computes one, over the data channels.
    const local = await collect((await LocalModel.load(FIVE)).generate(PROMPT, { maxTokens: 16, temperature: 0.8, seed: 1, stopAtEos: false }));
    const got: ClusterToken[] = await collect(nodes[0].generate(PROMPT, { maxTokens: 16, temperature: 0.8, seed: 1, stopAtEos: false, model: FIVE }));
    expect(got.map((t) => t.token)).to.deep.equal(local.map((t) => t.token));
    expect(got[0].route.map((h) => h.nodes[0]).sort()).to.deep.equal(nodes.map((n) => n.nodeId).sort());
  });

  it('a node that stops mid-generation is replaced; the tokens do not change', async () => {
    const { nodes } = await cluster(4);
    const opts = { maxTokens: 20, temperature: 0.8, seed: 1, stopAtEos: false };
    const want = (await collect((await LocalModel.load(FIVE)).generate(PROMPT, opts))).map((t) => t.token);
    const failovers: FailoverDetail[] = [];
    nodes[0].addEventListener('failover', (e) => failovers.push((e as CustomEvent<FailoverDetail>).detail));
    const got: number[] = [];
    let victim = '';
    for await (const t of nodes[0].generate(PROMPT, { ...opts, model: FIVE })) {
      got.push(t.token);
      if (t.index === 4) {
        victim = t.route.map((h) => h.nodes[0]).find((id) => id !== nodes[0].nodeId)!;
        const i = nodes.findIndex((n) => n.nodeId === victim);
        void nodes[i].stop();
      }
    }
    expect(got).to.deep.equal(want);
    expect(failovers.map((f) => f.failed)).to.deep.equal([victim]);
  });

  it('three Chromium nodes that loaded the same GGUF serve its blocks; with redundancy 2 the tokens are LocalModel\'s', async () => {
    const { nodes } = await cluster(3);
    const bytes = tinyLlamaGguf({ layers: 3, type: 'Q8_0' });
    const opts = { maxTokens: 12, temperature: 0.9, topK: 20, seed: 3, stopAtEos: false };
    const local = (await loadGgufModel(bytes)).localModel();
    const want = (await collect(local.generate('In the beginning', opts))).map((t) => t.token);
    for (const n of nodes) n.serveModel((await loadGgufModel(bytes)).localModel());
    const got = await collect(nodes[2].generate('In the beginning', { ...opts, model: (await loadGgufModel(bytes)).localModel(), redundancy: 2 }));
    expect(got.map((t) => t.token)).to.deep.equal(want);
    for (const hop of got[0].route) expect(hop.nodes).to.have.length(2);
    expect(new Set(got[0].route.flatMap((h) => h.nodes)).size).to.be.greaterThan(1);
  });
});
