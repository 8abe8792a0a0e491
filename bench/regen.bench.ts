/**
 * Regeneration figures (spec §6, §9), measured in the browser page:
 *
 * - `regen_1000x1000_ms`: the fast bit-exact kernel (`generateLayer`, allocation included)
 * - `regen_math_builtin_ms`: the same definition element by element with `Math.*`
 * - `regen_reference_ms`: the same definition element by element with the exact functions
 * - `regen_worker_1000x1000_ms`: one layer through the RegenWorker (post, compute, transfer back)
 * - `idb_read_4mb_ms`: reading the same 4 MB layer back from IndexedDB — what regeneration competes with
 *
 * Each is the median of several runs after warm-up runs (JIT tiers settle first).
 */
import { deleteDB, openDB } from 'idb';
import { RegenWorker } from '../src/compute/index.js';
import { generateLayer, generateLayerBuiltin, generateLayerReference, type LayerSpec } from '../src/math/index.js';
import type { BenchResults } from './types.js';
import { median } from './util.js';

const SPEC: LayerSpec = { seed: 0x9e3779b9, layer: 1, rows: 1000, cols: 1000 };

async function sample(fn: () => unknown, warmup: number, runs: number): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 0)); // let the page breathe (GC, timers) between runs
  }
  return median(times);
}

async function idbRead(layer: Float32Array): Promise<number> {
  const name = `kpc-bench-regen-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const db = await openDB(name, 1, { upgrade: (d) => d.createObjectStore('layers') });
  try {
    await db.put('layers', layer, 'layer');
    return await sample(async () => {
      const back = (await db.get('layers', 'layer')) as Float32Array;
      if (back.length !== layer.length) throw new Error('IndexedDB returned a different layer');
    }, 2, 9);
  } finally {
    db.close();
    await deleteDB(name);
  }
}

/** Runs the regeneration benchmarks; returns figures keyed by name. */
export async function runRegenBench(): Promise<BenchResults> {
  const fast = await sample(() => generateLayer(SPEC), 3, 11);
  const builtin = await sample(() => generateLayerBuiltin(SPEC), 2, 7);
  const reference = await sample(() => generateLayerReference(SPEC), 2, 7);
  const worker = new RegenWorker();
  let viaWorker: number;
  try {
    viaWorker = await sample(() => worker.generateLayer(SPEC), 3, 9);
  } finally {
    worker.terminate();
  }
  const idb = await idbRead(generateLayer(SPEC));
  return {
    regen_1000x1000_ms: { value: fast, unit: 'ms', spec: 50, goal: 20 },
    regen_math_builtin_ms: { value: builtin, unit: 'ms' },
    regen_reference_ms: { value: reference, unit: 'ms' },
    regen_worker_1000x1000_ms: { value: viaWorker, unit: 'ms', spec: 50, goal: 20 },
    idb_read_4mb_ms: { value: idb, unit: 'ms' },
  };
}
