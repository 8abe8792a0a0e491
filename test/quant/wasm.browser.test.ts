/** In Chromium, the WebAssembly Q8_0 kernel runs and computes the bits pinned in Node. */
import { expect } from 'chai';
import { useWasmKernels, wasmKernelsActive } from '../../src/quant/wasm/kernels.js';
import { Q8_0_GOLDEN, q8GoldenChecksum } from './wasm-cases.js';

describe('WebAssembly Q8_0 kernel in Chromium', () => {
  it('is active and gives the golden checksum, as the TypeScript kernel does', () => {
    expect(wasmKernelsActive()).to.equal(true);
    expect(q8GoldenChecksum()).to.equal(Q8_0_GOLDEN);
    useWasmKernels(false);
    try {
      expect(q8GoldenChecksum()).to.equal(Q8_0_GOLDEN);
    } finally {
      useWasmKernels(true);
    }
  });
});
