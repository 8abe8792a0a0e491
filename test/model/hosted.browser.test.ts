/**
 * A hosted GGUF over real parts: four Chromium π-nodes over real WebRTC agree on the
 * repo model served by a local Range-capable HTTP server (the test runner's), each
 * fetches only its blocks (checked in the server's own request log), they generate the
 * tokens of one node alone, survive a node closing mid-generation, and a host serving a
 * flipped byte is refused by the manifest.
 */
import { executeServerCommand } from '@web/test-runner-commands';
import { expect } from 'chai';
import type { FailoverDetail } from '../../src/infer/cluster/index.js';
import { HostedModel } from '../../src/model/hosted/hosted-model.js';
import { parseManifest, sha256Hex } from '../../src/model/hosted/manifest.js';
import { MemoryTensorStore } from '../../src/model/hosted/memory-store.js';
import type { LoaderEvent } from '../../src/model/hosted/range-loader.js';
import { loadGgufModel } from '../../src/model/index.js';
import type { PiNode } from '../../src/node.js';
import type { ModelProgressDetail } from '../../src/node-models.js';
import { testNode } from '../helpers/nodes.js';
import { uniqueCluster, waitFor } from '../helpers/wait.js';

const FILE = '/models/kjv-llama-3m/model-q8_0.gguf';
const MANIFEST = `${FILE}.manifest.json`;
const PROMPT = 'And God said';
const OPTS = { maxTokens: 14, stopAtEos: false } as const;

interface Logged { tag: string; path: string; range: [number, number] | null; status: number }

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** A fetch that sends this node's model requests through its own tag, so the server log says who fetched what. */
function taggedFetch(tag: string): typeof fetch {
  return (input, init) => globalThis.fetch(String(input).replace('/via/NODE/', `/via/${tag}/`), init);
}

describe('a hosted GGUF on four Chromium nodes over real WebRTC', function () {
  this.timeout(180_000);
  let signaling: string;
  const running: PiNode[] = [];
  let expected: number[];

  before(async () => {
    signaling = (await executeServerCommand('signal-url')) as string;
    const alone = (await loadGgufModel(FILE)).localModel();
    expected = (await collect(alone.generate(PROMPT, OPTS))).map((t) => t.token);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.stop()));
  });

  async function cluster(count: number, run: string): Promise<PiNode[]> {
    const clusterId = uniqueCluster('hosted');
    const nodes = Array.from({ length: count }, (_, i) => testNode(clusterId, signaling, {
      modelFetch: taggedFetch(`${run}-n${i}`), tensorStore: new MemoryTensorStore(),
    }));
    running.push(...nodes);
    await Promise.all(nodes.map((n) => n.start()));
    await waitFor(() => nodes.every((n) => n.state === 'READY' && n.peers.length === count - 1 && n.peers.every((p) => p.state === 'READY')), `${count} READY nodes`, 60_000);
    // Budgets are announced in the cluster state on READY: wait until every node knows every budget.
    await waitFor(() => nodes.every((n) => n.entries('cluster/capacity/').length === count), 'budgets announced', 20_000);
    return nodes;
  }

  /** Resolves when every node has loaded its whole share of `modelId`. */
  function loaded(nodes: PiNode[], modelId: string): Promise<void> {
    return waitFor(() => {
      const p = nodes[0].modelProgress(modelId);
      return p.nodes === nodes.length && p.totalBytes > 0 && p.loadedBytes === p.totalBytes;
    }, 'every node loaded its share', 60_000);
  }

  it('each node fetches only its blocks; the tokens are one node\'s; a node closing mid-generation is replaced', async () => {
    const run = `h${Math.random().toString(36).slice(2, 8)}`;
    const nodes = await cluster(4, run);
    const progress: ModelProgressDetail[] = [];
    nodes.forEach((n) => n.addEventListener('model-progress', (e) => progress.push((e as CustomEvent<ModelProgressDetail>).detail)));
    const model = await nodes[0].useModel(`/via/NODE${FILE}`, { manifest: MANIFEST });
    expect(model.verified).to.equal(true);
    await loaded(nodes, model.modelId);
    expect(progress.length).to.be.greaterThan(4);

    // The server's log, per node: header reads, then only the node's own tensors.
    const manifest = parseManifest(await (await fetch(MANIFEST)).text());
    const size = manifest.size;
    const layers = model.config.layers;
    const assignment = nodes[0].entries('cluster/capacity/').length === 4 ? await nodeShares(nodes, model) : [];
    let middle = 0;
    for (const [i, node] of nodes.entries()) {
      const log = (await executeServerCommand('range-log', { tag: `${run}-n${i}` })) as Logged[];
      const tensorReads = log.filter((e) => e.range && e.range[0] >= manifest.header.length);
      const share = assignment[i];
      const allowed = manifest.tensors.filter((t) => share.names.has(t.name));
      for (const e of tensorReads) {
        // Every byte asked for is within the node's tensors or the alignment padding between them.
        const [a, b] = e.range!;
        const inside = allowed.some((t) => a >= t.offset - 64 && a < t.offset + t.length) && allowed.some((t) => b >= t.offset && b < t.offset + t.length + 64);
        expect(inside, `node ${i} fetched ${a}-${b}, outside its blocks ${JSON.stringify(share.blocks)}`).to.equal(true);
      }
      const fetched = tensorReads.reduce((n, e) => n + e.range![1] - e.range![0] + 1, 0);
      const own = allowed.reduce((n, t) => n + t.length, 0);
      expect(fetched).to.be.at.least(own);
      expect(fetched).to.be.below(own + 64 * allowed.length);
      if (!share.embed && !share.head) middle = Math.max(middle, fetched / size);
      expect(node.state).to.equal('READY');
    }
    expect(assignment.some((s) => !s.embed && !s.head), 'a node holds neither embedding nor head').to.equal(true);
    expect(middle).to.be.below(0.35);
    expect(assignment.flatMap((s) => s.blocks).reduce((n, [f, t]) => n + t - f, 0)).to.equal(layers);

    const got = await collect(nodes[0].generate(PROMPT, { ...OPTS, model }));
    expect(got.map((t) => t.token)).to.deep.equal(expected);

    const failovers: FailoverDetail[] = [];
    nodes[0].addEventListener('failover', (e) => failovers.push((e as CustomEvent<FailoverDetail>).detail));
    const tokens: number[] = [];
    let victim = '';
    for await (const t of nodes[0].generate(PROMPT, { ...OPTS, model })) {
      tokens.push(t.token);
      if (t.index === 3) {
        victim = t.route.map((h) => h.nodes[0]).find((id) => id !== nodes[0].nodeId)!;
        void nodes.find((n) => n.nodeId === victim)!.stop();
      }
    }
    expect(tokens).to.deep.equal(expected);
    expect(failovers.map((f) => f.failed)).to.deep.equal([victim]);
  });

  it('a host serving a flipped byte is refused by the manifest; the mirror serves the model and the tokens are right', async () => {
    const manifestBytes = new Uint8Array(await (await fetch(MANIFEST)).arrayBuffer());
    const manifest = parseManifest(manifestBytes);
    const victim = manifest.tensors.find((t) => t.name === 'blk.2.ffn_up.weight')!;
    const nodes = await cluster(2, `c${Math.random().toString(36).slice(2, 8)}`);
    const events: LoaderEvent[] = [];
    nodes.forEach((n) => n.addEventListener('model-loader', (e) => events.push((e as CustomEvent<LoaderEvent>).detail)));
    const lying = `/via/corrupt-${victim.offset + 100}${FILE}`;
    const model = await nodes[0].useModel({
      urls: [lying, FILE], size: manifest.size, modelId: manifest.header.sha256,
      manifest: { url: MANIFEST, sha256: sha256Hex(manifestBytes) },
    });
    await loaded(nodes, model.modelId);
    expect(events.some((e) => e.type === 'integrity' && e.tensor === victim.name)).to.equal(true);
    expect(events.some((e) => e.type === 'source-bad' && e.url === lying)).to.equal(true);
    const got = await collect(nodes[1].generate(PROMPT, { ...OPTS, model: await nodes[1].hostedModel(model.modelId) }));
    expect(got.map((t) => t.token)).to.deep.equal(expected);
  });

  it('a node that joins after the cluster agreed on a model loads it on READY and can serve', async () => {
    const run = `j${Math.random().toString(36).slice(2, 8)}`;
    const nodes = await cluster(2, run);
    const model = await nodes[0].useModel(FILE, { manifest: MANIFEST });
    await loaded(nodes, model.modelId);
    const late = testNode(nodes[0].options.clusterId, signaling, { tensorStore: new MemoryTensorStore() });
    running.push(late);
    await late.start();
    await waitFor(() => late.state === 'READY', 'the late node READY', 60_000);
    const mine = await late.hostedModel(model.modelId);
    expect(mine.modelId).to.equal(model.modelId);
    const got = await collect(nodes[0].generate(PROMPT, { ...OPTS, model }));
    expect(got.map((t) => t.token)).to.deep.equal(expected);
  });

  it('with only a lying host, no node runs on its bytes: the load fails with MODEL_INTEGRITY', async () => {
    const manifest = parseManifest(await (await fetch(MANIFEST)).text());
    const victim = manifest.tensors[5];
    const model = await HostedModel.open(`/via/corrupt-${victim.offset}${FILE}`, { manifest: MANIFEST });
    let error: { code?: string } | undefined;
    await model.ensure(0, model.config.layers, { embed: true, head: true }).catch((e: { code?: string }) => (error = e));
    expect(error?.code).to.equal('MODEL_INTEGRITY');
    expect(model.holds(0, model.config.layers)).to.equal(false);
  });
});

/** Which tensors each node should hold: blocks by capacity, as the cluster assigned them. */
async function nodeShares(nodes: PiNode[], model: HostedModel): Promise<Array<{ names: Set<string>; blocks: Array<[number, number]>; embed: boolean; head: boolean }>> {
  return Promise.all(nodes.map(async (n) => {
    const mine = await n.hostedModel(model.modelId);
    const blocks = mine.heldBlocks();
    const embed = mine.holds(0, 0, { embed: true });
    const head = mine.holds(0, 0, { head: true });
    const names = new Set(mine.file.tensors.filter((t) => {
      const m = t.name.match(/^blk\.(\d+)\./);
      if (m) return blocks.some(([f, to]) => Number(m[1]) >= f && Number(m[1]) < to);
      if (t.name === 'token_embd.weight') return embed || (head && !mine.file.findTensor('output.weight'));
      return head;
    }).map((t) => t.name));
    return { names, blocks, embed, head: head && blocks.some(([, to]) => to === model.config.layers) };
  }));
}
