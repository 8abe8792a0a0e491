/** Browser entry of `npm run bench`: runs every benchmark and hands the figures to the runner. */
import { runClusterInferBench } from './infer-cluster.bench.js';
import { runInferBench } from './infer.bench.js';
import { runMeshBench } from './mesh.bench.js';
import { runPowBench } from './pow.bench.js';
import { runRecoveryBench } from './recovery.bench.js';
import { runRegenBench } from './regen.bench.js';
import { runRepoModelBench } from './repo-model.bench.js';
import { runSyncBench } from './sync.bench.js';
import type { BenchResults } from './types.js';

declare global {
  interface Window {
    kpcBench: (signaling: string) => Promise<BenchResults>;
    /** Exposed by the runner: starts/stops extra signaling servers. */
    kpcControl: (command: string, payload?: unknown) => Promise<unknown>;
  }
}

window.kpcBench = async (signaling: string) => ({
  ...(await runRegenBench()),
  ...(await runMeshBench(signaling)),
  ...(await runSyncBench(signaling)),
  ...(await runInferBench()),
  ...(await runRepoModelBench(new URL('models/kjv-llama-3m/model-q8_0.gguf', location.href).href)),
  ...(await runClusterInferBench(signaling)),
  ...(await runPowBench()),
  ...(await runRecoveryBench(signaling, window.kpcControl)),
});
