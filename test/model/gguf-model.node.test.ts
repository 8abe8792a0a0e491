import { describe, it } from 'node:test';
import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { BufferSource, type ByteSource } from '../../src/gguf/source.js';
import { readGguf } from '../../src/gguf/reader.js';
import { ggufValue } from '../../src/gguf/values.js';
import { writeGguf } from '../../src/gguf/writer.js';
import { activationChecksum } from '../../src/infer/forward.js';
import { loadGgufModel } from '../../src/model/index.js';
import { quantizeModel, tensorTypeFor } from '../../src/model/quantize-model.js';
import { tinyLlamaGguf } from '../helpers/tiny-llama.js';

/** A source that records every read, to prove what was (not) fetched. */
class CountingSource implements ByteSource {
  reads: [number, number][] = [];
  readonly #inner: BufferSource;
  constructor(bytes: Uint8Array) {
    this.#inner = new BufferSource(bytes);
  }
  get size(): number | undefined {
    return this.#inner.size;
  }
  read(offset: number, length: number): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return this.#inner.read(offset, length);
  }
}

async function rejects(p: Promise<unknown>, code: string, text?: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    expect(isKpcError(err), String(err)).to.equal(true);
    expect((err as { code: string }).code).to.equal(code);
    if (text) expect((err as Error).message).to.match(text);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('llama GGUF models', () => {
  it('loads a tied-embedding model with grouped-query attention and runs it', async () => {
    const model = await loadGgufModel(tinyLlamaGguf());
    expect(model.config).to.include({ dim: 64, layers: 2, heads: 4, kvHeads: 2, headDim: 16, ffnDim: 96, vocab: 275, contextLength: 64 });
    expect(model.info).to.deep.equal({ source: 'gguf', trained: true, name: 'tiny test llama' });
    const local = model.localModel();
    const out: number[] = [];
    for await (const t of local.generate('In the beginning', { maxTokens: 8, stopAtEos: false })) out.push(t.token);
    expect(out).to.have.length(8);
    const ids = local.codec.encode('In the beginning');
    expect(ids[0]).to.equal(1); // BOS, as the metadata asks
    expect(model.tokenizer.decode(ids.slice(1))).to.equal('In the beginning');
  });

  it('reads a Node Buffer (a view into a pooled buffer) like any bytes', async () => {
    const bytes = tinyLlamaGguf();
    const pooled = Buffer.concat([Buffer.from('padding'), Buffer.from(bytes)]).subarray(7);
    const model = await loadGgufModel(pooled);
    const ids = model.tokenizer.encode('In the beginning', { addBos: false });
    const d = model.codec.createStreamDecoder();
    expect(ids.map((t) => d.push(t)).join('') + d.flush()).to.equal(' In the beginning');
  });

  it('blocks cut anywhere give the same bits as the whole model (what cluster nodes and quorum checks rely on)', async () => {
    for (const type of ['F32', 'Q8_0'] as const) {
      const { localModel } = await loadGgufModel(tinyLlamaGguf({ layers: 3, type, dim: 64 }));
      const tr = localModel().transformer;
      const tokens = [1, 260, 261, 262, 5];
      const whole = tr.runLayers(0, 3, tr.embed(tokens), tr.createKvCache(), 0);
      for (const cut of [1, 2]) {
        const a = tr.runLayers(0, cut, tr.embed(tokens), tr.createKvCache(0, cut), 0);
        const b = tr.runLayers(cut, 3, a, tr.createKvCache(cut, 3), 0);
        expect(activationChecksum(b)).to.equal(activationChecksum(whole));
      }
      // Token by token through the cache = the whole prompt at once.
      const kv = tr.createKvCache();
      let last!: Float32Array;
      for (let i = 0; i < tokens.length; i++) last = tr.runLayers(0, 3, tr.embed([tokens[i]]), kv, i);
      expect(activationChecksum(last)).to.equal(activationChecksum(whole.subarray(4 * 64)));
    }
  });

  it('refuses another architecture by name before reading any tensor', async () => {
    const bytes = tinyLlamaGguf({ architecture: 'qwen2' });
    const source = new CountingSource(bytes);
    const file = await readGguf(bytes);
    await rejects(loadGgufModel(source), 'MODEL_UNSUPPORTED_ARCH', /"qwen2"/);
    for (const [off, len] of source.reads) expect(off + len <= file.dataOffset || off === 0, `read [${off}, +${len})`).to.equal(true);
    expect(source.reads.every(([off]) => off < file.dataOffset)).to.equal(true);
  });

  it('refuses a tensor type kpc does not compute with, naming tensor and type, before fetching tensors', async () => {
    const file = await readGguf(tinyLlamaGguf());
    const tensors = await Promise.all(file.tensors.map(async (t) => ({
      name: t.name, dims: t.dims, data: await file.readTensor(t),
      type: t.name === 'blk.1.ffn_up.weight' ? 'I32' as const : t.typeName,
    })));
    const bytes = writeGguf({ metadata: file.metadata, tensors });
    const source = new CountingSource(bytes);
    await rejects(loadGgufModel(source), 'MODEL_BAD_METADATA', /blk\.1\.ffn_up\.weight.*I32/);
    expect(source.reads.every(([off]) => off < file.dataOffset)).to.equal(true);
  });

  it('refuses missing tensors, bad shapes and inconsistent dimensions', async () => {
    const file = await readGguf(tinyLlamaGguf());
    const some = await Promise.all(file.tensors.filter((t) => t.name !== 'blk.1.attn_v.weight').map(async (t) => ({ name: t.name, dims: t.dims, type: t.typeName, data: await file.readTensor(t) })));
    await rejects(loadGgufModel(writeGguf({ metadata: file.metadata, tensors: some })), 'MODEL_MISSING_TENSOR', /blk\.1\.attn_v\.weight/);
    await rejects(loadGgufModel(tinyLlamaGguf({ metadata: [['llama.attention.head_count', ggufValue.u32(5)]] })), 'MODEL_BAD_METADATA', /head_count/);
    await rejects(loadGgufModel(tinyLlamaGguf({ metadata: [['llama.block_count', ggufValue.u32(3)]] })), 'MODEL_MISSING_TENSOR', /blk\.2\./);
    await rejects(loadGgufModel(tinyLlamaGguf({ metadata: [['llama.feed_forward_length', ggufValue.u32(128)]] })), 'MODEL_BAD_METADATA', /ffn_gate/);
    await rejects(loadGgufModel(tinyLlamaGguf({ metadata: [['llama.expert_count', ggufValue.u32(8)]] })), 'MODEL_UNSUPPORTED_ARCH', /expert/);
    await rejects(loadGgufModel(tinyLlamaGguf({ metadata: [['tokenizer.ggml.model', ggufValue.string('rwkv')]] })), 'TOKENIZER_UNSUPPORTED', /rwkv/);
  });

  it('loads only the blocks a node holds', async () => {
    const bytes = tinyLlamaGguf({ layers: 4 });
    const source = new CountingSource(bytes);
    const part = await loadGgufModel(source, { blocks: [1, 3] });
    expect(part.weights.holds(1, 3)).to.equal(true);
    expect(part.weights.holds(0, 1)).to.equal(false);
    const file = await readGguf(bytes);
    const fetched = new Set(source.reads.filter(([off]) => off >= file.dataOffset).map(([off]) => file.tensors.find((t) => t.offset === off)?.name));
    expect([...fetched].every((n) => /^blk\.[12]\./.test(n ?? ''))).to.equal(true);
    expect(() => part.localModel()).to.throw(/only part/);
    const tr = (await loadGgufModel(bytes)).localModel().transformer;
    const x = tr.runLayers(0, 1, tr.embed([1, 270]), tr.createKvCache(0, 1), 0);
    const want = tr.runLayers(1, 3, x, tr.createKvCache(1, 3), 0);
    const { Transformer } = await import('../../src/infer/forward.js');
    const mine = new Transformer(part.weights);
    expect(activationChecksum(mine.runLayers(1, 3, x, mine.createKvCache(1, 3), 0))).to.equal(activationChecksum(want));
  });

  it('quantizes with llama-quantize\'s per-tensor rules, and the quantized model stays close to F32', async () => {
    const bytes = tinyLlamaGguf({ dim: 256, ffn: 256, layers: 8, heads: 4, kvHeads: 2 });
    const file = await readGguf(bytes);
    const types = (ftype: 'Q4_K_M' | 'Q4_0' | 'Q8_0') => Object.fromEntries(file.tensors.map((t) => [t.name, tensorTypeFor(t, ftype, 8, true)]));
    const km = types('Q4_K_M');
    expect(km['token_embd.weight']).to.equal('Q6_K'); // tied: it is the output matrix too
    expect(km['blk.0.attn_v.weight']).to.equal('Q6_K');
    expect(km['blk.1.attn_v.weight']).to.equal('Q4_K');
    expect(km['blk.2.ffn_down.weight']).to.equal('Q4_K');
    expect(km['blk.3.ffn_down.weight']).to.equal('Q6_K'); // (3 − 1) mod 3 = 2
    expect(km['blk.7.ffn_down.weight']).to.equal('Q6_K');
    expect(km['blk.4.attn_q.weight']).to.equal('Q4_K');
    expect(km['blk.4.attn_norm.weight']).to.equal('F32');
    expect(types('Q4_0')['blk.0.attn_q.weight']).to.equal('Q4_0');
    expect(types('Q4_0')['token_embd.weight']).to.equal('Q6_K');
    expect(types('Q8_0')['token_embd.weight']).to.equal('Q8_0');
    const ref = (await loadGgufModel(bytes)).localModel().transformer;
    const refLogits = ref.logits(ref.runLayers(0, 8, ref.embed([1, 270, 271]), ref.createKvCache(), 0));
    for (const [ftype, tol] of [['Q8_0', 0.02], ['Q4_K_M', 0.15], ['Q4_0', 0.2]] as const) {
      const q = await quantizeModel(file, ftype);
      const model = await loadGgufModel(writeGguf(q));
      expect(model.file.getNumber('general.file_type')).to.equal({ Q8_0: 7, Q4_K_M: 15, Q4_0: 2 }[ftype]);
      const tr = model.localModel().transformer;
      const logits = tr.logits(tr.runLayers(0, 8, tr.embed([1, 270, 271]), tr.createKvCache(), 0));
      let err = 0;
      let norm = 0;
      for (let i = 0; i < logits.length; i++) {
        err += (logits[i] - refLogits[i]) ** 2;
        norm += refLogits[i] ** 2;
      }
      expect(Math.sqrt(err / norm), ftype).to.be.below(tol);
    }
  });
});

describe('a GGUF model over a cluster (in-memory mesh)', () => {
  it('four nodes that loaded the same file give LocalModel\'s tokens, with redundancy 2 checking every segment', async () => {
    const { makeCluster, collect } = await import('../infer-cluster/fake-mesh.js');
    const bytes = tinyLlamaGguf({ layers: 4, type: 'Q8_0' });
    const local = (await loadGgufModel(bytes)).localModel();
    const opts = { maxTokens: 12, temperature: 0.9, topK: 20, seed: 5, stopAtEos: false };
    const want: number[] = [];
    for await (const t of local.generate('In the beginning', opts)) want.push(t.token);
    const { nodes } = makeCluster(['a', 'b', 'c', 'd']);
    for (const n of nodes) n.register((await loadGgufModel(bytes)).localModel());
    const out = await collect(nodes[0].generate('In the beginning', { ...opts, model: (await loadGgufModel(bytes)).localModel(), redundancy: 2 }));
    expect(out.map((t) => t.token)).to.deep.equal(want);
    for (const hop of out[0].route) expect(hop.nodes).to.have.length(2);
    expect(new Set(out[0].route.flatMap((h) => h.nodes)).size).to.be.greaterThan(1);
  });
});

describe('model arguments (parseModelRef)', () => {
  it('tells presets, the repo model, GGUF locations and unknown names apart', async () => {
    const { parseModelRef } = await import('../../src/model/index.js');
    expect(parseModelRef('kpc-tiny')).to.deep.equal({ kind: 'procedural', name: 'kpc-tiny' });
    expect(parseModelRef('kjv-llama-3m')).to.deep.equal({ kind: 'repo', path: 'models/kjv-llama-3m/model-q8_0.gguf' });
    expect(parseModelRef('kjv-llama-3m:q4_k_m')).to.deep.equal({ kind: 'repo', path: 'models/kjv-llama-3m/model-q4_k_m.gguf' });
    expect(parseModelRef('https://host/m.gguf')).to.deep.equal({ kind: 'gguf', location: 'https://host/m.gguf' });
    expect(parseModelRef('model.gguf')).to.deep.equal({ kind: 'gguf', location: 'model.gguf' });
    expect(() => parseModelRef('kpc-huge')).to.throw(/unknown model "kpc-huge": use kpc-tiny, kpc-small, kjv-llama-3m/);
  });
});
