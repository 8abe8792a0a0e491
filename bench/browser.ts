/** Browser entry of `npm run bench`: runs every benchmark and hands the figures to the runner. */
import { runHostedBench } from './hosted.bench.js';
import { runClusterInferBench } from './infer-cluster.bench.js';
import { runInferBench } from './infer.bench.js';
import { BENCH_MODEL_FILES, benchPromptIds } from './bench-model.js';
import { runKernelsBench } from './kernels.bench.js';
import { runMeshBench } from './mesh.bench.js';
import { runPowBench } from './pow.bench.js';
import { runRecoveryBench } from './recovery.bench.js';
import { runRegenBench } from './regen.bench.js';
import { runRepoModelBench } from './repo-model.bench.js';
import { runSyncBench } from './sync.bench.js';
import type { BenchResults } from './types.js';

declare global {
  interface Window {
    /** `only`: comma-separated bench names to run (`BENCH_ONLY` of bench/run.mjs); all when empty. */
    kpcBench: (signaling: string, only?: string) => Promise<BenchResults>;
    /** Exposed by the runner: starts/stops extra signaling servers. */
    kpcControl: (command: string, payload?: unknown) => Promise<unknown>;
  }
}

const REPO_Q8 = () => new URL('models/kjv-llama-3m/model-q8_0.gguf', location.href).href;
/** The kernels bench's two files, written by bench/run.mjs into the page's folder. */
const BENCH_MODEL_URLS = () => ({ q8: new URL(BENCH_MODEL_FILES.q8, location.href).href, q4: new URL(BENCH_MODEL_FILES.q4, location.href).href });

window.kpcBench = async (signaling: string, only = '') => {
  const benches: Array<[string, () => Promise<BenchResults>]> = [
    ['regen', () => runRegenBench()],
    ['mesh', () => runMeshBench(signaling)],
    ['sync', () => runSyncBench(signaling)],
    ['infer', () => runInferBench()],
    ['repo-model', () => runRepoModelBench(REPO_Q8())],
    ['infer-cluster', () => runClusterInferBench(signaling)],
    ['hosted', () => runHostedBench(signaling, REPO_Q8())],
    ['pow', () => runPowBench()],
    ['recovery', () => runRecoveryBench(signaling, window.kpcControl)],
    // Last: it leaves ~300 MB in the page (the kernels' memory does not shrink).
    ['kernels', () => runKernelsBench(BENCH_MODEL_URLS(), benchPromptIds(), window.kpcControl)],
  ];
  const wanted = new Set(only.split(',').map((s) => s.trim()).filter(Boolean));
  let results: BenchResults = {};
  for (const [name, run] of benches) if (wanted.size === 0 || wanted.has(name)) results = { ...results, ...(await run()) };
  return results;
};
