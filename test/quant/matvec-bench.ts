/**
 * Matvec throughput of quantMatMul per weight type (not part of the test suite):
 *   node --import tsx test/quant/matvec-bench.ts
 * Prints, per type and shape, the CPU time per matvec (n = 1, a decode step) and the
 * implied weights per second, after a plain float32·float64 loop as a yardstick for
 * the host.
 */
import { quantMatMul, type GgmlTypeName } from '../../src/quant/index.js';
import { quantizeMatrix } from './helpers.js';
import { genFloats } from './gen.js';

const TYPES: GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];
const SHAPES: Array<[rows: number, cols: number]> = [
  [256, 256],
  [2048, 256],
];

function matrix(type: GgmlTypeName, rows: number, cols: number): Uint8Array {
  return quantizeMatrix(type, genFloats(7, rows * cols), rows, cols);
}

/** CPU microseconds this process has used (user + system). */
function cpuNow(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/**
 * Median over 5 runs of the CPU time per call of `fn`, each run long enough (≥ 150 ms
 * of CPU) for the OS's CPU accounting. CPU time rather than wall time, so a busy host
 * (other processes on the same cores) does not inflate the figures.
 */
function time(fn: () => void): number {
  for (let i = 0; i < 200; i++) fn();
  const runs: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    let calls = 0;
    const t0 = cpuNow();
    let t = t0;
    while (t - t0 < 150_000) {
      for (let i = 0; i < 20; i++) fn();
      calls += 20;
      t = cpuNow();
    }
    runs.push((t - t0) / calls);
  }
  return runs.sort((a, b) => a - b)[2];
}

const x = new Float64Array(genFloats(8, 256));
console.log('type   shape       CPU µs/matvec   Mweights/s');
for (const [rows, cols] of SHAPES) {
  // Reference point for the host's speed (and load): a plain float32·float64 loop.
  const w32 = genFloats(9, rows * cols);
  const out = new Float64Array(rows);
  const us = time(() => {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let i = 0, o = r * cols; i < cols; i++) s += w32[o + i] * x[i];
      out[r] = s;
    }
  });
  console.log(`${'(loop)'.padEnd(6)} ${`${rows}×${cols}`.padEnd(11)} ${us.toFixed(1).padStart(13)}   ${((rows * cols) / us).toFixed(0).padStart(8)}`);
}
for (const [rows, cols] of SHAPES) {
  for (const type of TYPES) {
    const bytes = matrix(type, rows, cols);
    const out = new Float64Array(rows);
    const w = { type, rows, cols, bytes };
    const us = time(() => quantMatMul(w, x, 1, out));
    console.log(`${type.padEnd(6)} ${`${rows}×${cols}`.padEnd(11)} ${us.toFixed(1).padStart(13)}   ${((rows * cols) / us).toFixed(0).padStart(8)}`);
  }
}

// One decode step's mat-muls of the repo model kjv-llama-3m (docs/models.md): 8 blocks of
// width 256 with 4 query / 2 key-value heads of 64 and SwiGLU width 256, plus the tied
// 2048 × 256 output matrix — about 3.67 M weights per token.
const blockShapes: Array<[name: string, rows: number]> = [
  ['q', 256],
  ['k', 128],
  ['v', 128],
  ['o', 256],
  ['gate', 256],
  ['up', 256],
  ['down', 256],
];
const MIXES: Record<string, (name: string) => GgmlTypeName> = {
  F32: () => 'F32',
  Q8_0: () => 'Q8_0',
  'Q4_0 (+Q6_K output)': (n) => (n === 'output' ? 'Q6_K' : 'Q4_0'),
  'Q4_K_M (Q4_K, Q6_K for v/down/output)': (n) => (n === 'output' || n === 'v' || n === 'down' ? 'Q6_K' : 'Q4_K'),
};
console.log('\nkjv-llama-3m decode step (mat-muls only, one core)');
for (const [mix, typeOf] of Object.entries(MIXES)) {
  const mats: Array<{ type: GgmlTypeName; rows: number; cols: number; bytes: Uint8Array }> = [];
  for (let b = 0; b < 8; b++) for (const [name, rows] of blockShapes) mats.push({ type: typeOf(name), rows, cols: 256, bytes: matrix(typeOf(name), rows, 256) });
  mats.push({ type: typeOf('output'), rows: 2048, cols: 256, bytes: matrix(typeOf('output'), 2048, 256) });
  const outs = mats.map((m) => new Float64Array(m.rows));
  const us = time(() => {
    for (let i = 0; i < mats.length; i++) quantMatMul(mats[i], x, 1, outs[i]);
  });
  console.log(`${mix.padEnd(40)} ${(us / 1000).toFixed(2).padStart(6)} ms/token   ${(1e6 / us).toFixed(0).padStart(5)} tokens/s`);
}
