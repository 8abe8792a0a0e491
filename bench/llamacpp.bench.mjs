#!/usr/bin/env node
/**
 * llama.cpp's speed on a GGUF, the yardstick for kpc's own decoding figures:
 *
 *   node bench/llamacpp.bench.mjs [model.gguf] [--threads 1] [--runs 5] [--tokens 64] [--prompt "In the beginning"] [--ids 1,523,…]
 *
 * `--ids`: the prompt as token ids, used as is (no BOS added); the output then also has
 * `prompt_tokens` and `tokens` (the warm-up run's greedy tokens).
 *
 * Prints one line of JSON on stdout, `{"tokens_per_s": n, "first_token_ms": n}` (details on
 * stderr), measured as bench/infer.bench.ts measures kpc:
 *
 * - `first_token_ms`: from handing llama.cpp the prompt (BOS + the tokenized prompt, one batch)
 *   to the first generated token; the model is loaded and a fresh context made beforehand.
 * - `tokens_per_s`: decoding rate once the first token is out, (n − 1) / (t_n − t_1), for
 *   n = --tokens greedy tokens (an EOS does not stop it).
 *
 * Median of --runs runs after one warm-up run, each in a fresh context. Same reference as
 * the tests (test/helpers/llama-ref.ts): node-llama-cpp from .cache/llama-ref/ (installed
 * on first use), CPU backend, --threads threads (default 1), flash attention off, f16 KV
 * cache. The default model is the repo model, models/kjv-llama-3m/model-f32.gguf.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLlamaRef, LlamaRefError, NODE_LLAMA_CPP_VERSION } from '../scripts/llama-ref/install.mjs';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '64' },
    prompt: { type: 'string', default: 'In the beginning' },
    ids: { type: 'string' },
  },
});
const modelPath = resolve(positionals[0] ?? fileURLToPath(new URL('../models/kjv-llama-3m/model-f32.gguf', import.meta.url)));
const threads = Number(values.threads);
const runs = Number(values.runs);
const nTokens = Number(values.tokens);
if (!existsSync(modelPath)) {
  console.error(`llamacpp.bench: no model at ${modelPath}`);
  process.exit(1);
}
if (!(threads >= 1 && runs >= 1 && nTokens >= 2)) {
  console.error('llamacpp.bench: --threads and --runs must be >= 1, --tokens >= 2');
  process.exit(1);
}

/** @param {number[]} xs */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

let entry;
try {
  entry = await ensureLlamaRef({ log: (l) => console.error(l) });
} catch (e) {
  console.error(e instanceof LlamaRefError ? e.message : e);
  process.exit(1);
}
/** @type {any} node-llama-cpp, loaded by URL from the cache (its types are not visible here) */
const nlc = await import(pathToFileURL(entry).href);
let cpuVariant = '';
const llama = await nlc.getLlama({
  gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, maxThreads: 0,
  logLevel: nlc.LlamaLogLevel.log,
  logger(/** @type {string} */ level, /** @type {string} */ message) {
    const m = /libggml-cpu-([\w-]+)\.so/.exec(message);
    if (m) cpuVariant = m[1];
    if (level === 'error' || level === 'fatal' || level === 'warn') process.stderr.write(`[llama.cpp ${level}] ${message.trimEnd()}\n`);
  },
});
const loadStart = performance.now();
const model = await llama.loadModel({ modelPath, gpuLayers: 0, defaultContextFlashAttention: false });
const loadMs = performance.now() - loadStart;
/** @type {number[]} --ids gives the prompt as token ids (used as is); else BOS + the tokenized --prompt. */
const prompt = values.ids !== undefined ? values.ids.split(',').map(Number)
  : [model.tokens.bos, ...model.tokenize(values.prompt, false)].filter((t) => t != null);
/** The greedy tokens of the warm-up run (printed with --ids, for checking kpc's tokens). @type {number[]} */
let tokens = [];
const contextSize = Math.max(model.trainContextSize, prompt.length + nTokens);

/** One run in a fresh context: [first_token_ms, tokens_per_s]. */
async function once() {
  const ctx = await model.createContext({ contextSize, batchSize: contextSize, sequences: 1, threads, flashAttention: false, failedCreationRemedy: false });
  try {
    const seq = ctx.getSequence();
    let count = 0;
    let tFirst = 0;
    const t0 = performance.now();
    const got = [];
    for await (const t of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
      if (count === 0) tFirst = performance.now();
      got.push(t);
      if (++count >= nTokens) break;
    }
    const tEnd = performance.now();
    if (tokens.length === 0) tokens = got;
    return [tFirst - t0, (count - 1) / ((tEnd - tFirst) / 1000)];
  } finally {
    await ctx.dispose();
  }
}

await once(); // warm-up: page in the weights, settle the allocator
const first = [];
const rate = [];
for (let i = 0; i < runs; i++) {
  const [f, r] = await once();
  first.push(f);
  rate.push(r);
}
await model.dispose();
await llama.dispose();

const result = {
  tokens_per_s: Math.round(median(rate) * 10) / 10, first_token_ms: Math.round(median(first) * 100) / 100,
  ...(values.ids !== undefined ? { prompt_tokens: prompt.length, tokens } : {}),
};
console.error(`llamacpp.bench: node-llama-cpp ${NODE_LLAMA_CPP_VERSION} (llama.cpp ${llama.llamaCppRelease?.release}, CPU backend ${cpuVariant || '?'}), `
  + `${modelPath}, load ${loadMs.toFixed(0)} ms, prompt ${prompt.length} tokens, ${nTokens} tokens, ${threads} thread(s), flash attention off, `
  + `runs: tokens/s [${rate.map((r) => r.toFixed(1)).join(', ')}], first token ms [${first.map((f) => f.toFixed(2)).join(', ')}]`);
console.log(JSON.stringify(result));
