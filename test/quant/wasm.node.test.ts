/**
 * The WebAssembly Q8_0 kernel computes the TypeScript kernel's bits: random matrices
 * (fast-check), the pinned golden case, resident and streamed weights, and a module
 * rebuilt from assembly/kernels.ts identical to the committed one.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { quantMatMul } from '../../src/quant/matmul.js';
import { setResidentLimit, useWasmKernels, wasmKernelsActive } from '../../src/quant/wasm/kernels.js';
import { K_GOLDEN, Q4_0_GOLDEN, Q8_0_GOLDEN, WASM_TYPES, kGoldenChecksums, q4GoldenChecksum, q8GoldenChecksum, wasmCase } from './wasm-cases.js';
import { compileKernels, kernelsModule } from '../../scripts/build-wasm.mjs';

/** Outputs with the TypeScript kernel, then with the WebAssembly one. */
function both<T>(fn: () => T): [T, T] {
  useWasmKernels(false);
  try {
    const ts = fn();
    useWasmKernels(true);
    return [ts, fn()];
  } finally {
    useWasmKernels(true);
  }
}

const bits = (a: Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

describe('WebAssembly kernels (Q8_0, Q4_0, Q4_K, Q6_K)', () => {
  it('is active in Node (WebAssembly SIMD), so these tests compare two kernels', () => {
    assert.equal(wasmKernelsActive(), true);
  });

  for (const type of Object.keys(WASM_TYPES) as Array<keyof typeof WASM_TYPES>) {
    it(`${type}: gives the TypeScript kernel's bits on random matrices (property)`, () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: type.endsWith('_K') ? 3 : 12 }), fc.integer({ min: 1, max: 6 }), (seed, rows, nb, n) => {
        const [ts, wasm] = both(() => wasmCase(type, seed, rows, nb, n));
        assert.equal(bits(wasm), bits(ts));
      }), { numRuns: 150 });
    });
  }

  it('match the pinned golden checksums (the same in Chromium: wasm.browser.test.ts)', () => {
    const [ts, wasm] = both(() => [q8GoldenChecksum(), q4GoldenChecksum(), kGoldenChecksums()]);
    assert.deepEqual(ts, [Q8_0_GOLDEN, Q4_0_GOLDEN, K_GOLDEN]);
    assert.deepEqual(wasm, [Q8_0_GOLDEN, Q4_0_GOLDEN, K_GOLDEN]);
  });

  it('weights resident in the module and weights copied in per call give the same bits', () => {
    const rows = 64;
    const nb = 4;
    const bytes = new Uint8Array(rows * nb * 34).map((_, i) => (i * 37 + 11) & 0xff);
    for (let b = 0; b < rows * nb; b++) bytes[b * 34 + 1] = 0x2c; // tame scales
    const x = Float64Array.from({ length: 3 * nb * 32 }, (_, i) => Math.sin(i));
    const run = () => {
      const out = new Float64Array(3 * rows);
      quantMatMul({ type: 'Q8_0', rows, cols: nb * 32, bytes }, x, 3, out);
      return bits(out);
    };
    const resident = [run(), run()];
    setResidentLimit(0);
    const streamed = run();
    setResidentLimit(256 * 1024 * 1024);
    assert.equal(resident[0], resident[1]);
    assert.equal(streamed, resident[0]);
  });

  it('the committed module is what assembly/kernels.ts compiles to', () => {
    assert.equal(readFileSync('src/quant/wasm/kernels-wasm.ts', 'utf8'), kernelsModule(compileKernels()));
  });
});
