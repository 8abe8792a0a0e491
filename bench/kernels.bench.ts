/**
 * The kernel figures of issue #14 (`kpc_*`), on the bench model (bench/bench-model.ts: a
 * SmolLM2-135M-shaped llama with random weights), one thread, in the bench's Chromium
 * page. Each file is fetched from the bench's static server (one GET, into a Blob) and
 * loaded once with loadGgufModel, which reads it tensor by tensor; the forward pass is driven with token ids directly (no tokenizer):
 *
 * - prefill: the fixed 128-id prompt (benchPromptIds) in chunks of 32 tokens, each chunk
 *   through all blocks (as LocalModel.generate), then the logits of the last position and
 *   the greedy token. `kpc_prefill_tps_q8_1t` = 128 / that time.
 * - decode: 64 greedy tokens after it (the first is the prefill's); rate (n − 1) / (t_n − t_1),
 *   as llama.cpp's figure beside it (`llamacpp_decode_tps_q8`, bench/llamacpp.bench.mjs).
 *   Greedy = the first index of the largest logit (llama.cpp's sampler).
 * - `kpc_decode_tps_q8_js`: the same decode with the WebAssembly kernels off (the
 *   TypeScript kernels, same bits); its prefill runs with them on, untimed.
 * - `kpc_peak_rss_mb_q8`: the renderer's peak RSS (VmHWM) from just before the Q8_0 load
 *   to after its runs (read by bench/run.mjs from /proc; left out where it cannot be).
 *
 * Medians of RUNS runs after one warm-up run (each in a fresh KV cache). The greedy
 * tokens of the Q8_0 warm-up run are left in `window.kpcKernelsTokens` for run.mjs to
 * compare with llama.cpp's.
 */
import { loadGgufModel } from '../src/model/index.js';
import type { Transformer } from '../src/infer/forward.js';
import { setResidentLimit, useWasmKernels } from '../src/quant/wasm/kernels.js';
import type { BenchResults } from './types.js';
import { median } from './util.js';

/** Greedy tokens per decode run (the first comes from the prefill). */
const DECODE = 64;
/** Timed runs per figure (after one warm-up). */
const RUNS = 3;
/** Timed runs of the TypeScript-kernel decode (slower). */
const RUNS_JS = 1;
/** Prompt chunk, as LocalModel.generate's PREFILL_CHUNK. */
const CHUNK = 32;

declare global {
  interface Window {
    kpcKernelsTokens?: number[];
  }
}

function argmax(logits: Float32Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

interface Run {
  prefillTps: number;
  decodeTps: number;
  tokens: number[];
}

/** One prompt + decode in a fresh KV cache; `jsDecode` turns the WebAssembly kernels off for the decode. */
function run(model: Transformer, prompt: readonly number[], jsDecode = false): Run {
  const { layers, dim } = model.spec;
  const kv = model.createKvCache();
  const t0 = performance.now();
  let hidden!: Float32Array;
  for (let start = 0; start < prompt.length; start += CHUNK) {
    const chunk = prompt.slice(start, start + CHUNK);
    const h = model.runLayers(0, layers, model.embed(chunk), kv, start);
    hidden = h.subarray((chunk.length - 1) * dim);
  }
  const tokens = [argmax(model.logits(hidden))];
  const t1 = performance.now();
  if (jsDecode) useWasmKernels(false);
  try {
    for (let pos = prompt.length; tokens.length < DECODE; pos++) {
      hidden = model.runLayers(0, layers, model.embed([tokens[tokens.length - 1]]), kv, pos);
      tokens.push(argmax(model.logits(hidden)));
    }
  } finally {
    useWasmKernels(true);
  }
  const t2 = performance.now();
  return { prefillTps: prompt.length / ((t1 - t0) / 1000), decodeTps: (DECODE - 1) / ((t2 - t1) / 1000), tokens };
}

async function load(url: string): Promise<Transformer> {
  const t0 = performance.now();
  // One GET into a Blob, then the loader reads it tensor by tensor: the bench's static
  // server reads the whole file for every Range request, which made the 274 per-tensor
  // requests of a 144 MB file take over two minutes.
  const response = await fetch(url);
  if (!response.ok) throw new Error(`kernels bench: ${url}: HTTP ${response.status} (bench/run.mjs writes the files)`);
  const model = await loadGgufModel(await response.blob());
  console.log(`[kernels bench] loaded ${url.split('/').pop()} in ${(performance.now() - t0).toFixed(0)} ms`);
  return model.localModel().transformer;
}

function timed(model: Transformer, prompt: readonly number[], runs: number, jsDecode = false): Run[] {
  const out: Run[] = [];
  for (let i = 0; i < runs; i++) out.push(run(model, prompt, jsDecode));
  return out;
}

const yieldNow = () => new Promise((r) => setTimeout(r, 0));

/**
 * Runs the kernel figures. `files.q8` / `files.q4`: URLs of the two bench model files;
 * `control`: the runner's kpcControl (renderer RSS), if any.
 */
export async function runKernelsBench(files: { q8: string; q4: string }, prompt: readonly number[], control?: (command: string) => Promise<unknown>): Promise<BenchResults> {
  const rss = async (command: 'rss-reset' | 'rss-peak'): Promise<number | null> => {
    try {
      const v = await control?.(command);
      return typeof v === 'number' ? v : null;
    } catch {
      return null;
    }
  };
  const results: BenchResults = {};
  await rss('rss-reset');
  let q8: Transformer | null = await load(files.q8);
  const warm = run(q8, prompt);
  window.kpcKernelsTokens = warm.tokens;
  console.log(`[kernels bench] q8 greedy: ${warm.tokens.slice(0, 16).join(' ')} …`);
  const wasm = timed(q8, prompt, RUNS);
  await yieldNow();
  run(q8, prompt, true);
  const js = timed(q8, prompt, RUNS_JS, true);
  const jsSame = js.every((r) => r.tokens.every((t, i) => t === warm.tokens[i]));
  if (!jsSame) console.error('[kernels bench] the TypeScript kernels gave other tokens than the WebAssembly ones');
  const peak = await rss('rss-peak');
  q8 = null;
  setResidentLimit(256 * 1024 * 1024); // drops the resident Q8_0 weights from the kernels' memory (it does not shrink)
  results.kpc_prefill_tps_q8_1t = { value: median(wasm.map((r) => r.prefillTps)), unit: 'tokens/s' };
  results.kpc_decode_tps_q8_1t = { value: median(wasm.map((r) => r.decodeTps)), unit: 'tokens/s' };
  results.kpc_decode_tps_q8_js = { value: median(js.map((r) => r.decodeTps)), unit: 'tokens/s' };
  if (peak !== null) results.kpc_peak_rss_mb_q8 = { value: peak, unit: 'MB' };
  await yieldNow();

  const q4 = await load(files.q4);
  run(q4, prompt);
  const q4runs = timed(q4, prompt, RUNS);
  results.kpc_decode_tps_q4_1t = { value: median(q4runs.map((r) => r.decodeTps)), unit: 'tokens/s' };
  console.log(`[kernels bench] q8 prefill ${wasm.map((r) => r.prefillTps.toFixed(1)).join(', ')}; q8 decode ${wasm.map((r) => r.decodeTps.toFixed(1)).join(', ')}; `
    + `q8 js decode ${js.map((r) => r.decodeTps.toFixed(1)).join(', ')}; q4 prefill ${q4runs.map((r) => r.prefillTps.toFixed(1)).join(', ')}; q4 decode ${q4runs.map((r) => r.decodeTps.toFixed(1)).join(', ')}`);
  return results;
}
