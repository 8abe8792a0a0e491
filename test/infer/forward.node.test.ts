import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { isKpcError } from '../../src/errors.js';
import { LocalModel, MODEL_PRESETS, WeightCache, activationChecksum, encode, type Transformer } from '../../src/infer/index.js';
import { GOLDEN_MODELS, GOLDEN_PROMPT, ODD_SPEC, firstTokens, promptLogits, promptLogitsSha256 } from './golden.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKpcError(err) ? err.code : `not a KpcError: ${String(err)}`;
  }
  return undefined;
}

/** Runs `tokens` through all blocks in `cuts` ranges, one chunk of positions at a time. */
function runSplit(tr: Transformer, tokens: number[], cuts: number[], chunks: number[]): Float32Array {
  const L = tr.spec.layers;
  const bounds = [0, ...cuts, L];
  const caches = bounds.slice(1).map((to, i) => tr.createKvCache(bounds[i], to));
  const rows: Float32Array[] = [];
  for (let start = 0, c = 0; start < tokens.length; c++) {
    const n = Math.min(chunks[c % chunks.length], tokens.length - start);
    let h = tr.embed(tokens.slice(start, start + n));
    for (let r = 0; r + 1 < bounds.length; r++) h = tr.runLayers(bounds[r], bounds[r + 1], h, caches[r], start);
    rows.push(h);
    start += n;
  }
  const out = new Float32Array(tokens.length * tr.spec.dim);
  let off = 0;
  for (const r of rows) {
    out.set(r, off);
    off += r.length;
  }
  return out;
}

describe('deterministic forward pass (Node)', () => {
  for (const g of GOLDEN_MODELS) {
    it(`golden logits and first tokens: ${g.label}`, async () => {
      const model = await LocalModel.load(g.spec);
      expect(promptLogitsSha256(model)).to.equal(g.logitsSha256);
      if (g.argmaxTokens) expect(await firstTokens(model, 0, 1)).to.deep.equal(g.argmaxTokens);
      if (g.sampledTokens) expect(await firstTokens(model, 0.8, 1)).to.deep.equal(g.sampledTokens);
    });
  }

  it('activationChecksum is SHA-256 of the little-endian bytes', async () => {
    const logits = promptLogits(await LocalModel.load('kpc-tiny'));
    expect(activationChecksum(logits)).to.equal(createHash('sha256').update(new Uint8Array(logits.buffer)).digest('hex'));
    const f64 = Float64Array.of(1, -0.5);
    expect(activationChecksum(f64)).to.equal(createHash('sha256').update(new Uint8Array(f64.buffer)).digest('hex'));
  });

  it('any cut into block ranges and any chunking of positions gives the bits of one run', async () => {
    const tr = (await LocalModel.load(ODD_SPEC)).transformer;
    const tokens = encode('split me anywhere: ∑ the bits');
    const whole = activationChecksum(runSplit(tr, tokens, [], [tokens.length]));
    fc.assert(
      fc.property(fc.subarray([1, 2]), fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), (cuts, chunks) => {
        return activationChecksum(runSplit(tr, tokens, cuts, chunks)) === whole;
      }),
      { numRuns: 25 },
    );
  });

  it('kpc-tiny: blocks [0, 1) then [1, 2) equal [0, 2), and logits agree', async () => {
    const tr = (await LocalModel.load('kpc-tiny')).transformer;
    const x = tr.embed(encode(GOLDEN_PROMPT));
    const whole = tr.runLayers(0, 2, x, tr.createKvCache(), 0);
    const split = tr.runLayers(1, 2, tr.runLayers(0, 1, x, tr.createKvCache(0, 1), 0), tr.createKvCache(1, 2), 0);
    expect(split).to.deep.equal(whole);
    expect(activationChecksum(tr.logits(split))).to.equal(activationChecksum(tr.logits(whole)));
  });

  it('runLayers does not modify its input, and rerunning a position overwrites it', async () => {
    const tr = (await LocalModel.load('kpc-tiny')).transformer;
    const kv = tr.createKvCache();
    const a = tr.runLayers(0, 2, tr.embed([256, 65, 66]), kv, 0);
    const x = tr.embed([67]);
    const copy = Float32Array.from(x);
    const first = tr.runLayers(0, 2, x, kv, 3);
    expect(x).to.deep.equal(copy);
    tr.runLayers(0, 2, tr.embed([68]), kv, 3); // a different token at position 3
    expect(tr.runLayers(0, 2, x, kv, 3)).to.deep.equal(first); // retry restores the same result
    expect(kv.length(0)).to.equal(4);
    expect(a.length).to.equal(3 * 64);
  });

  it('tensor eviction never changes a result (budget far below the model)', async () => {
    const cache = new WeightCache(40_000);
    const model = await LocalModel.load('kpc-tiny', { cache });
    expect(promptLogitsSha256(model)).to.equal(GOLDEN_MODELS[0].logitsSha256);
    expect(cache.bytes).to.be.at.most(40_000);
    model.clearCache();
    expect(cache.size).to.equal(0);
  });

  it('warming through a regenerate hook (as with the Worker) gives the same weights', async () => {
    const { generateLayer } = await import('../../src/math/index.js');
    let calls = 0;
    const cache = new WeightCache();
    const model = await LocalModel.load('kpc-tiny', { cache, warm: true, regenerate: async (s) => (calls++, generateLayer(s)) });
    expect(calls).to.equal(2 * 9 + 3);
    const before = cache.stats.misses;
    expect(promptLogitsSha256(model)).to.equal(GOLDEN_MODELS[0].logitsSha256);
    expect(cache.stats.misses).to.equal(before); // nothing regenerated on use
  });

  it('activations stay finite and bounded at depth (64 blocks)', async () => {
    const spec = { ...MODEL_PRESETS['kpc-tiny'], dim: 32, heads: 2, kvHeads: 1, ffnDim: 48, layers: 64 };
    const tr = (await LocalModel.load(spec)).transformer;
    const kv = tr.createKvCache();
    let h = tr.embed(encode('deep'));
    for (let l = 0; l < 64; l++) {
      h = tr.runLayers(l, l + 1, h, kv, 0);
      let ss = 0;
      for (const v of h) ss += v * v;
      const rms = Math.sqrt(ss / h.length);
      expect(Number.isFinite(rms) && rms < 10, `block ${l}: rms ${rms}`).to.equal(true);
    }
    expect(tr.logits(h).every(Number.isFinite)).to.equal(true);
  });

  it('rejects bad ranges, shapes, caches, tokens and positions with typed errors', async () => {
    const tr = (await LocalModel.load('kpc-tiny')).transformer;
    const x = tr.embed([256]);
    const kv = tr.createKvCache();
    expect(code(() => tr.runLayers(0, 3, x, kv, 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(1, 1, x, kv, 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(-1, 1, x, kv, 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(0, 2, new Float32Array(63), kv, 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(0, 2, new Float64Array(64) as never, kv, 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(0, 2, x, tr.createKvCache(0, 1), 0))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.runLayers(0, 2, x, kv, 1))).to.equal('INFER_BAD_INPUT'); // position 0 not cached yet
    expect(code(() => tr.runLayers(0, 2, x, kv, 256))).to.equal('INFER_CONTEXT_OVERFLOW');
    expect(code(() => tr.runLayers(0, 2, tr.embed(new Array(257).fill(65)), kv, 0))).to.equal('INFER_CONTEXT_OVERFLOW');
    expect(code(() => tr.embed([259]))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.embed([1.5]))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.embed([]))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.logits(new Float32Array(10)))).to.equal('INFER_BAD_INPUT');
    expect(code(() => tr.createKvCache(2, 3))).to.equal('INFER_BAD_INPUT');
  });
});
