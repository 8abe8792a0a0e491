/**
 * The repo model in one node of Chromium (`repo_model_*`): models/kjv-llama-3m's Q8_0
 * file, fetched by Range requests from the bench's static server and loaded once; then
 * greedy decoding of 64 tokens after a short prompt.
 *
 * - `repo_model_first_token_ms`: from `generate()` to the first token (the prompt's
 *   forward pass included, the download and load not).
 * - `repo_model_tokens_per_s`: (n − 1) / (t_n − t_1), as llama.cpp's figure beside it
 *   (`llamacpp_repo_model_tokens_per_s`, bench/llamacpp.bench.mjs, same file, same run).
 *
 * Medians of 5 runs after one warm-up run.
 */
import type { LocalModel } from '../src/infer/generate.js';
import { loadGgufModel } from '../src/model/index.js';
import type { BenchResults } from './types.js';
import { median } from './util.js';

const PROMPT = 'In the beginning';
const TOKENS = 64;

async function run(model: LocalModel): Promise<{ first: number; rate: number }> {
  const t0 = performance.now();
  let t1 = 0;
  let n = 0;
  for await (const t of model.generate(PROMPT, { maxTokens: TOKENS, stopAtEos: false })) {
    if (t.index === 0) t1 = performance.now();
    n++;
  }
  return { first: t1 - t0, rate: (n - 1) / ((performance.now() - t1) / 1000) };
}

/** Runs the repo-model figures; `url` is where the Q8_0 file is served. */
export async function runRepoModelBench(url: string): Promise<BenchResults> {
  const model = (await loadGgufModel(url)).localModel();
  await run(model);
  const runs: { first: number; rate: number }[] = [];
  for (let i = 0; i < 5; i++) runs.push(await run(model));
  return {
    repo_model_tokens_per_s: { value: median(runs.map((r) => r.rate)), unit: 'tokens/s' },
    repo_model_first_token_ms: { value: median(runs.map((r) => r.first)), unit: 'ms' },
  };
}
