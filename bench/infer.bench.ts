/**
 * Single-node inference figures, measured in the browser page:
 *
 * - `first_token_ms_tiny`, `first_token_ms_small`: from `LocalModel.load` to the first
 *   generated token of a 36-byte prompt, with a cold weight cache — so it includes
 *   regenerating every tensor from the spec (0.13 M / 23.9 M weights) and the prompt.
 *   Median of fresh models, after warm-up runs so the JIT has settled (a page's very
 *   first run is slower).
 * - `tokens_per_s_1node_tiny`, `tokens_per_s_1node_small`: decoding rate once the first
 *   token is out (weights cached), wall clock, the yield to the event loop between
 *   tokens included. Median of several runs.
 * - `regen_weights_ms_small`: regenerating all of kpc-small's tensors on the main thread
 *   (`load` with `warm`), i.e. the part of `first_token_ms_small` that is not the prompt.
 *
 * The weights are procedural (untrained): these figures measure compute, not quality.
 */
import { LocalModel, type ModelPresetName } from '../src/infer/index.js';
import type { BenchResults } from './types.js';
import { median } from './util.js';

const PROMPT = 'The π-node regenerates its weights.';

/** ms from load (cold cache) to the first token. */
async function coldFirstToken(preset: ModelPresetName): Promise<number> {
  const t0 = performance.now();
  const model = await LocalModel.load(preset);
  for await (const _ of model.generate(PROMPT, { maxTokens: 1, stopAtEos: false })) break;
  return performance.now() - t0;
}

/** Tokens per second after the first token, on an already loaded model. */
async function decodeRate(model: LocalModel, tokens: number): Promise<number> {
  let first = 0;
  let count = 0;
  for await (const t of model.generate(PROMPT, { maxTokens: tokens, temperature: 0.8, seed: 1, stopAtEos: false })) {
    if (t.index === 0) first = performance.now();
    count++;
  }
  return (count - 1) / ((performance.now() - first) / 1000);
}

async function sample(fn: () => Promise<number>, warmup: number, runs: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const values: number[] = [];
  for (let i = 0; i < runs; i++) {
    values.push(await fn());
    await new Promise((r) => setTimeout(r, 0)); // let GC and timers run between runs
  }
  return median(values);
}

/** Runs the single-node inference benchmarks; returns figures keyed by name. */
export async function runInferBench(): Promise<BenchResults> {
  const firstTiny = await sample(() => coldFirstToken('kpc-tiny'), 3, 9);
  const firstSmall = await sample(() => coldFirstToken('kpc-small'), 1, 3);
  const tiny = await LocalModel.load('kpc-tiny', { warm: true });
  const rateTiny = await sample(() => decodeRate(tiny, 200), 1, 5);
  let small!: LocalModel;
  const regenSmall = await sample(async () => {
    small?.clearCache();
    const t0 = performance.now();
    small = await LocalModel.load('kpc-small', { warm: true });
    return performance.now() - t0;
  }, 1, 3);
  const rateSmall = await sample(() => decodeRate(small, 24), 1, 3);
  small.clearCache(); // 95 MB: give it back before other benchmarks run
  return {
    tokens_per_s_1node_tiny: { value: rateTiny, unit: 'tokens/s' },
    tokens_per_s_1node_small: { value: rateSmall, unit: 'tokens/s' },
    first_token_ms_tiny: { value: firstTiny, unit: 'ms' },
    first_token_ms_small: { value: firstSmall, unit: 'ms' },
    regen_weights_ms_small: { value: regenSmall, unit: 'ms' },
  };
}
