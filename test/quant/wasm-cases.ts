/**
 * Deterministic Q8_0 mat-mul cases for the WebAssembly kernel: random weights (every
 * f16 scale class: normal, subnormal, zero, negative) and activations, from a seed. The
 * checksum of the outputs is pinned, and must be the same in Node and Chromium, with the
 * WebAssembly kernel and with the TypeScript one.
 */
import { activationChecksum } from '../../src/infer/forward.js';
import { mulberry32 } from '../../src/infer/sampler.js';
import { quantMatMul } from '../../src/quant/matmul.js';

/** SHA-256 of the float64 outputs of {@link q8Case}(seed 7, 96 rows, 8 blocks, 5 activation rows). */
export const Q8_0_GOLDEN = '9addb9051b542c340272b4d747402f37e52cbf50795fd5ff12bcffb388285ab1';

/** SHA-256 of the float64 outputs of the Q4_0 case (seed 7, 96 rows, 8 blocks, 5 activation rows). */
export const Q4_0_GOLDEN = 'fc2bc23da1addf5574bc0f71ff77dc675fee5cf7e7acb123e85069c362c9c969';

/** Weight types with a WebAssembly kernel, and their block bytes. */
export const WASM_TYPES = { Q8_0: 34, Q4_0: 18, Q4_K: 144, Q6_K: 210 } as const;
/** Values per block, and where each block's f16 scales are. */
const LAYOUT = { Q8_0: [32, [0]], Q4_0: [32, [0]], Q4_K: [256, [0, 2]], Q6_K: [256, [208]] } as const;

/** One weight matrix of `type` and activation rows from `seed`; returns the outputs. */
export function wasmCase(type: keyof typeof WASM_TYPES, seed: number, rows: number, nb: number, n: number): Float64Array {
  const rand = mulberry32(seed);
  const block = WASM_TYPES[type];
  const [perBlock, scales] = LAYOUT[type];
  const bytes = new Uint8Array(rows * nb * block);
  const dv = new DataView(bytes.buffer);
  for (let b = 0; b < rows * nb; b++) {
    for (let j = 0; j < block; j++) bytes[b * block + j] = Math.floor(rand() * 256);
    for (const at of scales) {
      const kind = Math.floor(rand() * 8);
      // Mostly normal scales; some subnormal, zero, negative zero and negative ones (never NaN or ∞).
      const bits = kind === 0 ? Math.floor(rand() * 0x3ff) : kind === 1 ? 0 : kind === 2 ? 0x8000 : (kind === 3 ? 0x8000 : 0) | (0x1000 + Math.floor(rand() * 0x2000));
      dv.setUint16(b * block + at, bits, true);
    }
  }
  const x = new Float64Array(n * nb * perBlock);
  for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * (i % 7 === 0 ? 100 : 2);
  const out = new Float64Array(n * rows);
  quantMatMul({ type, rows, cols: nb * perBlock, bytes }, x, n, out);
  return out;
}

/** One Q8_0 case (see {@link wasmCase}). */
export function q8Case(seed: number, rows: number, nb: number, n: number): Float64Array {
  return wasmCase('Q8_0', seed, rows, nb, n);
}

/** The pinned case's checksum. */
export function q8GoldenChecksum(): string {
  return activationChecksum(q8Case(7, 96, 8, 5));
}

/** The pinned Q4_0 case's checksum. */
export function q4GoldenChecksum(): string {
  return activationChecksum(wasmCase('Q4_0', 7, 96, 8, 5));
}

/** SHA-256 of the outputs of the K-quant cases (seed 7, 48 rows, 2 blocks of 256, 3 activation rows). */
export const K_GOLDEN = { Q4_K: '5504587bc56d0b1bc5522dd8c1a732618f10c4f551a94fd9e5b9608bc63993d2', Q6_K: '97cbd30e0540077d3fb19cf826b3f3898ec9f63f6a51a4003f88998885a385c1' };

/** The pinned K-quant cases' checksums. */
export function kGoldenChecksums(): { Q4_K: string; Q6_K: string } {
  return { Q4_K: activationChecksum(wasmCase('Q4_K', 7, 48, 2, 3)), Q6_K: activationChecksum(wasmCase('Q6_K', 7, 48, 2, 3)) };
}
