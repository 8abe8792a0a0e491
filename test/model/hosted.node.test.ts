/**
 * Hosted models in Node: the manifest, range loading with checks, and a cluster of four
 * nodes (in-memory mesh) running the repo model with each node fetching only its blocks.
 * The real-WebRTC, real-HTTP version is test/model/hosted.browser.test.ts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadGgufModel } from '../../src/model/index.js';
import { buildManifest, encodeManifest, manifestUrlFor, parseManifest, sha256Hex } from '../../src/model/hosted/manifest.js';
import { HostedModel } from '../../src/model/hosted/hosted-model.js';
import type { LoaderEvent } from '../../src/model/hosted/range-loader.js';
import { MemoryTensorStore } from '../../src/model/hosted/memory-store.js';
import { collect, makeCluster, record } from '../infer-cluster/fake-mesh.js';
import { rangeHost } from '../helpers/range-host.js';

const GGUF = new Uint8Array(readFileSync('models/kjv-llama-3m/model-q8_0.gguf'));
const PROMPT = 'And God said';
const manifestText = encodeManifest(await buildManifest(GGUF));
const files = { '/m.gguf': GGUF, '/m.gguf.manifest.json': new TextEncoder().encode(manifestText) };
const URL_ = 'http://host.test/m.gguf';

/** Bytes of the requests in a host log. */
const requested = (log: { range: [number, number] | null }[]) => log.reduce((n, r) => n + (r.range ? r.range[1] - r.range[0] + 1 : 0), 0);

describe('model manifest', () => {
  it('lists every tensor once, in file order, and parses back to itself', () => {
    const m = parseManifest(manifestText);
    assert.equal(m.size, GGUF.length);
    assert.deepEqual(parseManifest(encodeManifest(m)), m);
    for (let i = 1; i < m.tensors.length; i++) assert.ok(m.tensors[i].offset >= m.tensors[i - 1].offset + m.tensors[i - 1].length);
  });

  it('refuses overlapping tensors, bad hashes and other formats with MODEL_BAD_MANIFEST', () => {
    const m = JSON.parse(manifestText);
    const cases = [
      { ...m, format: 'other' },
      { ...m, version: 2 },
      { ...m, tensors: [m.tensors[1], m.tensors[0]] },
      { ...m, tensors: [{ ...m.tensors[0], sha256: 'AB' }] },
      { ...m, tensors: [{ ...m.tensors[0], length: GGUF.length }] },
    ];
    for (const c of cases) assert.throws(() => parseManifest(JSON.stringify(c)), { code: 'MODEL_BAD_MANIFEST' });
    assert.throws(() => parseManifest('{'), { code: 'MODEL_BAD_MANIFEST' });
  });

  it('is found beside the GGUF by convention, query kept', () => {
    assert.equal(manifestUrlFor('https://h/x.gguf'), 'https://h/x.gguf.manifest.json');
    assert.equal(manifestUrlFor('https://h/x.gguf?download=1'), 'https://h/x.gguf.manifest.json?download=1');
  });
});

describe('HostedModel', () => {
  it('fetches exactly the ranges of the blocks asked, checked against the manifest', async () => {
    const host = rangeHost(files);
    const model = await HostedModel.open(URL_, { fetch: host.fetch });
    assert.equal(model.verified, true);
    // The header is hashed from the reads that parsed it: no second download of it.
    assert.ok(requested(host.log) <= 64 * 1024 + model.file.headerByteLength, `${requested(host.log)} bytes to open`);
    const before = host.log.length;
    await model.ensure(2, 4);
    const tensorBytes = model.footprint.blockBytes[2] + model.footprint.blockBytes[3];
    const got = requested(host.log.slice(before));
    // Neighbouring tensors are coalesced: only alignment padding between them may come along.
    assert.ok(got >= tensorBytes && got < tensorBytes + 64 * 32, `${got} bytes fetched for ${tensorBytes} of tensors`);
    assert.deepEqual(model.heldBlocks(), [[2, 4]]);
    assert.equal(model.holds(0, 1), false);
  });

  it('a host serving a wrong byte is refused: the next URL serves, and the event names the tensor', async () => {
    const m = parseManifest(manifestText);
    const victim = m.tensors.find((t) => t.name === 'blk.1.ffn_up.weight')!;
    const bad = rangeHost(files, { corrupt: { path: '/m.gguf', offset: victim.offset + 7 } });
    const good = rangeHost(files);
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) => (String(input).includes('mirror') ? good : bad).fetch(String(input).replace('mirror.', ''), init)) as typeof globalThis.fetch;
    const model = await HostedModel.open({ urls: [URL_, 'http://mirror.host.test/m.gguf'], size: m.size, modelId: m.header.sha256, manifest: { url: 'http://mirror.host.test/m.gguf.manifest.json', sha256: sha(manifestText) } }, { fetch });
    const events = record<LoaderEvent>(model, 'loader');
    await model.ensure(0, 2, { embed: true });
    assert.ok(events.some((e) => e.type === 'integrity' && e.tensor === victim.name));
    assert.deepEqual(model.badSources, [URL_]);
    const whole = await loadGgufModel(GGUF, { blocks: [0, 2] });
    assert.equal(model.weights.matrix(1, 'w3'), model.weights.matrix(1, 'w3'), 'the matrix is built once and cached');
    const ours = new Float64Array(256);
    const theirs = new Float64Array(256);
    const x = new Float64Array(256).fill(0.5);
    model.weights.matrix(1, 'w3').mul(x, 1, ours);
    whole.weights.matrix(1, 'w3').mul(x, 1, theirs);
    assert.deepEqual(ours, theirs);
  });

  it('with only a lying host, the load fails with MODEL_INTEGRITY and nothing is held', async () => {
    const m = parseManifest(manifestText);
    const host = rangeHost(files, { corrupt: { path: '/m.gguf', offset: m.tensors[3].offset } });
    const model = await HostedModel.open(URL_, { fetch: host.fetch });
    await assert.rejects(model.ensure(0, model.config.layers, { embed: true, head: true }), { code: 'MODEL_INTEGRITY' });
    assert.equal(model.holds(0, 1, { embed: true }), false);
  });

  it('a host that ignores Range is reported as such before any tensor download', async () => {
    const host = rangeHost(files, { ignoreRange: true });
    await assert.rejects(HostedModel.open(URL_, { fetch: host.fetch }), (err: Error & { code?: string }) => err.code === 'GGUF_SOURCE_FAILED' && /ignores Range/.test(err.message));
  });

  it('retries a failing host with backoff, then succeeds on the same host', async () => {
    const host = rangeHost(files);
    const model = await HostedModel.open(URL_, { fetch: host.fetch, backoffMs: 1 });
    const events = record<LoaderEvent>(model, 'loader');
    host.failNext(2);
    await model.ensure(0, 1);
    assert.equal(events.filter((e) => e.type === 'retry').length, 2);
    assert.deepEqual(model.badSources, []);
    assert.equal(model.holds(0, 1), true);
  });

  it('a request slower than the timeout is aborted, reported, and retried', async () => {
    const host = rangeHost(files);
    let stall = 1;
    const fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
      if (stall > 0 && new Headers(init?.headers).get('range')?.startsWith('bytes=') && String(input).endsWith('.gguf') && opened) {
        stall--;
        // Never answers: only the loader's timeout ends it.
        return new Promise<Response>((_, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
      }
      return host.fetch(input, init);
    }) as typeof globalThis.fetch;
    let opened = false;
    const model = await HostedModel.open(URL_, { fetch, timeoutMs: 50, backoffMs: 1 });
    opened = true;
    const events = record<LoaderEvent>(model, 'loader');
    await model.ensure(3, 4);
    assert.deepEqual(events.map((e) => e.type), ['timeout', 'retry']);
    assert.equal(model.holds(3, 4), true);
  });

  it('a reload takes its tensors from the store, checked, without a download', async () => {
    const store = new MemoryTensorStore();
    const host = rangeHost(files);
    const first = await HostedModel.open(URL_, { fetch: host.fetch, store });
    await first.ensure(0, 8, { embed: true, head: true });
    // The tied head is the embedding: counted once, so a whole load ends at exactly its total.
    assert.equal(first.progress.loadedBytes, first.progress.totalBytes);
    const second = await HostedModel.open(URL_, { fetch: host.fetch, store });
    const before = host.log.length;
    await second.ensure(0, 8, { embed: true, head: true });
    assert.equal(host.log.length, before);
    assert.equal(second.progress.cachedBytes, second.progress.loadedBytes);
  });

  it('an unsupported file is refused before any tensor is fetched', async () => {
    const host = rangeHost({ '/x.gguf': new TextEncoder().encode('not a gguf at all, just text'.repeat(10)) });
    await assert.rejects(HostedModel.open('http://host.test/x.gguf', { fetch: host.fetch }), { code: 'GGUF_BAD_MAGIC' });
  });
});

describe('a cluster running a hosted model', () => {
  it('with replicas 2, a node that leaves is replaced by the replica already holding its blocks: no download', async () => {
    const host = rangeHost(files);
    const { nodes, net } = makeCluster(['a1', 'b2', 'c3', 'd4']);
    const models = await Promise.all(nodes.map(() => HostedModel.open(URL_, { fetch: host.fetch })));
    nodes.forEach((n, i) => n.serve(models[i]));
    // What each node would load when the cluster agrees with replicas 2 (as PiNode does).
    const full = nodes[0].assignHosted(models[0], 2, 2);
    await Promise.all(full.flatMap((seg) => seg.holders.map((id) => models[nodes.findIndex((n) => n.nodeId === id)].ensure(seg.from, seg.to, { embed: seg.from === 0, head: seg.to === 8 }))));
    const alone = await (await loadGgufModel(GGUF)).localModel();
    const expected = (await collect(alone.generate(PROMPT, { maxTokens: 10, stopAtEos: false }))).map((t) => t.token);
    const before = host.log.length;
    const failovers = record<{ failed: string; replacement: string }>(nodes[0], 'failover');
    const tokens: number[] = [];
    for await (const t of nodes[0].generate(PROMPT, { model: models[0], maxTokens: 10, stopAtEos: false, replicas: 2 })) {
      tokens.push(t.token);
      if (t.index === 2) net.remove(t.route.map((h) => h.nodes[0]).find((id) => id !== 'a1')!);
    }
    assert.deepEqual(tokens, expected);
    assert.equal(failovers.length, 1);
    const seg = full.find((s) => s.holders.includes(failovers[0].failed))!;
    assert.ok(seg.holders.includes(failovers[0].replacement), 'the replacement is the segment\'s other holder');
    assert.equal(host.log.length, before, 'nothing downloaded during the failover');
  });

  it('a model larger than the cluster can hold is refused with the missing bytes, before any tensor download', async () => {
    const host = rangeHost(files);
    const { nodes } = makeCluster(['a1']);
    const model = await HostedModel.open(URL_, { fetch: host.fetch });
    const before = host.log.length;
    await assert.rejects(collect(nodes[0].generate(PROMPT, { model, maxTokens: 2, budget: 1024 * 1024 })), (err: Error & { code?: string; detail?: { missing?: number; needed?: number } }) => {
      assert.equal(err.code, 'MODEL_DOES_NOT_FIT');
      assert.equal(err.detail?.missing, err.detail!.needed! - 1024 * 1024);
      assert.match(err.message, /MiB/);
      return true;
    });
    assert.equal(host.log.length, before);
  });

  it('four nodes fetch only their blocks and produce the tokens of one node alone', async () => {
    const host = rangeHost(files);
    const { nodes } = makeCluster(['a1', 'b2', 'c3', 'd4']);
    const models = await Promise.all(nodes.map(() => HostedModel.open(URL_, { fetch: host.fetch })));
    nodes.forEach((n, i) => n.serve(models[i]));
    const opened = host.log.length;
    const alone = await (await loadGgufModel(GGUF)).localModel();
    const expected = (await collect(alone.generate(PROMPT, { maxTokens: 12, stopAtEos: false }))).map((t) => t.token);
    const got = await collect(nodes[0].generate(PROMPT, { model: models[0], maxTokens: 12, stopAtEos: false }));
    assert.deepEqual(got.map((t) => t.token), expected);
    assert.equal(requested(host.log.slice(opened)) < GGUF.length * 1.5, true);
    // Every node holds one contiguous share; only the first holds the embedding (tied: the last holds it as head).
    const shares = models.map((m) => m.heldBlocks());
    assert.equal(shares.flat().reduce((n, [f, t]) => n + t - f, 0), 8);
    for (const m of models) assert.ok(m.progress.loadedBytes <= GGUF.length * 0.45, `${m.progress.loadedBytes} bytes on one node`);
    // Sampling with every option: the last segment samples with our draws, so still LocalModel's tokens.
    const opts = { maxTokens: 16, temperature: 0.8, topK: 20, topP: 0.9, repeatPenalty: 1.1, repeatLastN: 8, seed: 5, stopAtEos: false };
    const sampled = (await collect(alone.generate(PROMPT, opts))).map((t) => t.token);
    assert.deepEqual((await collect(nodes[0].generate(PROMPT, { ...opts, model: models[0] }))).map((t) => t.token), sampled);
  });

  it('a node that leaves mid-generation is replaced by a node that downloads its blocks; the tokens do not change', async () => {
    const host = rangeHost(files);
    const { nodes, net } = makeCluster(['a1', 'b2', 'c3', 'd4']);
    const models = await Promise.all(nodes.map(() => HostedModel.open(URL_, { fetch: host.fetch })));
    nodes.forEach((n, i) => n.serve(models[i]));
    const alone = await (await loadGgufModel(GGUF)).localModel();
    const expected = (await collect(alone.generate(PROMPT, { maxTokens: 12, stopAtEos: false }))).map((t) => t.token);
    const failovers = record(nodes[0], 'failover');
    const tokens: number[] = [];
    for await (const t of nodes[0].generate(PROMPT, { model: models[0], maxTokens: 12, stopAtEos: false })) {
      tokens.push(t.token);
      if (t.index === 3) {
        const victim = t.route.find((h) => !h.nodes.includes('a1'))!.nodes[0];
        net.remove(victim);
      }
    }
    assert.deepEqual(tokens, expected);
    assert.equal(failovers.length, 1);
  });
});

function sha(text: string): string {
  return sha256Hex(new TextEncoder().encode(text));
}
