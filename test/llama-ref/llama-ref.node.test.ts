/**
 * Smoke test of the llama.cpp reference (test/helpers/llama-ref.ts): installs node-llama-cpp
 * into .cache/llama-ref/ when it is not there (~15 s, npm registry), then tokenizes and
 * greedy-decodes with the repo model, models/kjv-llama-3m/model-f32.gguf (this test needs
 * that file). On a machine where the prebuilt binary cannot run (not x86-64 Linux) it fails
 * with a message that says what to install: it never skips.
 */
import { after, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { ensureLlamaRef } from '../../scripts/llama-ref/install.mjs';
import {
  disposeLlamaRef, llamaDetokenize, llamaGreedy, llamaGreedyDetailed, llamaModelInfo, llamaNextLogits, llamaRefInfo,
  llamaTokenize, NODE_LLAMA_CPP_VERSION,
} from '../helpers/llama-ref.js';

const MODEL = fileURLToPath(new URL('../../models/kjv-llama-3m/model-f32.gguf', import.meta.url));
const VERSES = [
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.',
  'Jesus wept.',
];

describe('llama.cpp reference (node-llama-cpp)', () => {
  after(disposeLlamaRef);

  it('installs the pinned node-llama-cpp outside node_modules, once', async () => {
    const entry = await ensureLlamaRef({ log: (l) => console.log(l) });
    expect(entry.startsWith(fileURLToPath(new URL('../../node_modules/', import.meta.url)))).to.equal(false);
    expect(existsSync(entry)).to.equal(true);
    const second: string[] = [];
    expect(await ensureLlamaRef({ log: (l) => second.push(l) })).to.equal(entry);
    expect(second.join('\n')).to.not.match(/install/i); // already there: no npm run
    const info = await llamaRefInfo();
    expect(info.nodeLlamaCpp).to.equal(NODE_LLAMA_CPP_VERSION);
    expect(info.systemInfo).to.match(/^CPU :/);
  });

  it('reads the repo model as llama.cpp does (needs models/kjv-llama-3m/model-f32.gguf)', async () => {
    expect(existsSync(MODEL), `${MODEL} is missing: the repo model must be committed`).to.equal(true);
    const info = await llamaModelInfo(MODEL);
    expect(info).to.deep.equal({ bos: 1, eos: 2, addBos: true, addEos: false, vocabSize: 2048, trainContextSize: 256 });
  });

  it('tokenizes without parsing special tokens, BOS only on request, and detokenizes back', async () => {
    const [plain, withBos, special, empty] = await llamaTokenize(MODEL, [VERSES[0], VERSES[0], '<s></s>', '']);
    expect(plain.length).to.be.greaterThan(3);
    expect(plain.every((t) => Number.isInteger(t) && t > 2 && t < 2048)).to.equal(true);
    expect(special).to.not.include(1); // "<s>" is text here, not BOS
    expect(special).to.not.include(2);
    expect(empty).to.deep.equal([]);
    expect(withBos).to.deep.equal(plain);
    const [bosd] = await llamaTokenize(MODEL, [VERSES[0]], { addBos: true });
    expect(bosd).to.deep.equal([1, ...plain]);
    for (const [i, ids] of (await llamaTokenize(MODEL, VERSES)).entries()) {
      expect(await llamaDetokenize(MODEL, ids)).to.equal(VERSES[i]);
    }
  });

  it('greedy-decodes deterministically, each token the argmax of the logits it reports', async () => {
    const [prompt] = await llamaTokenize(MODEL, ['In the beginning'], { addBos: true });
    const a = await llamaGreedyDetailed(MODEL, prompt, 64);
    expect(a.context).to.deep.equal({ contextSize: 256, batchSize: 256, threads: 1, flashAttention: false, kvCacheKeyType: 1, kvCacheValueType: 1 });
    expect(a.tokens.length === 64 || a.stoppedAtEos).to.equal(true);
    for (const s of a.steps) {
      expect(s.top[0][0]).to.equal(s.token);
      expect(s.margin).to.be.at.least(0);
    }
    expect(await llamaGreedy(MODEL, prompt, 64)).to.deep.equal(a.tokens);
    // The logits of the whole vocabulary after the prompt: the first step's, bit for bit.
    const logits = await llamaNextLogits(MODEL, prompt);
    expect(logits.length).to.equal(2048);
    expect(logits[a.tokens[0]]).to.equal(a.steps[0].top[0][1]);
    expect(Math.max(...logits)).to.equal(a.steps[0].top[0][1]);
    console.log(`llama.cpp greedy: ${JSON.stringify(await llamaDetokenize(MODEL, [...prompt.slice(1), ...a.tokens]))}`);
  });

  it('gives the same tokens and logits with 2 threads (ggml splits work by rows, not sums)', async () => {
    const [prompt] = await llamaTokenize(MODEL, ['And God said'], { addBos: true });
    const one = await llamaGreedyDetailed(MODEL, prompt, 8, { threads: 1 });
    const two = await llamaGreedyDetailed(MODEL, prompt, 8, { threads: 2 });
    expect(two.context.threads).to.equal(2);
    expect(two.steps).to.deep.equal(one.steps);
  });
});
