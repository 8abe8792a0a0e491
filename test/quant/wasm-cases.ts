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
export const Q8_0_GOLDEN = '7df1bbaf7aae066c4eb6c8978dc6bc1467e1ea15cf365911a437074cc85415c5';

/** SHA-256 of the float64 outputs of the Q4_0 case (seed 7, 96 rows, 8 blocks, 5 activation rows). */
export const Q4_0_GOLDEN = 'e225cf5cbab460876b6fa5a3b18d1401762cf90680b63e8272faa43423169ac5';

/** Weight types with a WebAssembly kernel, and their block bytes. */
export const WASM_TYPES = { Q8_0: 34, Q4_0: 18 } as const;

/** One weight matrix of `type` and activation rows from `seed`; returns the outputs. */
export function wasmCase(type: keyof typeof WASM_TYPES, seed: number, rows: number, nb: number, n: number): Float64Array {
  const rand = mulberry32(seed);
  const block = WASM_TYPES[type];
  const bytes = new Uint8Array(rows * nb * block);
  const dv = new DataView(bytes.buffer);
  for (let b = 0; b < rows * nb; b++) {
    const kind = Math.floor(rand() * 8);
    // Mostly normal scales; some subnormal, zero, negative zero and negative ones.
    const bits = kind === 0 ? Math.floor(rand() * 0x3ff) : kind === 1 ? 0 : kind === 2 ? 0x8000 : (kind === 3 ? 0x8000 : 0) | (0x1000 + Math.floor(rand() * 0x2000));
    dv.setUint16(b * block, bits, true);
    for (let j = 2; j < block; j++) bytes[b * block + j] = Math.floor(rand() * 256);
  }
  const x = new Float64Array(n * nb * 32);
  for (let i = 0; i < x.length; i++) x[i] = (rand() - 0.5) * (i % 7 === 0 ? 100 : 2);
  const out = new Float64Array(n * rows);
  quantMatMul({ type, rows, cols: nb * 32, bytes }, x, n, out);
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
