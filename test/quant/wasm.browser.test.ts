/** In Chromium, the WebAssembly kernels run and compute the bits pinned in Node. */
import { expect } from 'chai';
import { useWasmKernels, wasmKernelsActive } from '../../src/quant/wasm/kernels.js';
import { K_GOLDEN, Q4_0_GOLDEN, Q8_0_GOLDEN, kGoldenChecksums, q4GoldenChecksum, q8GoldenChecksum } from './wasm-cases.js';

describe('WebAssembly kernels in Chromium', () => {
  it('is active and gives the golden checksum, as the TypeScript kernel does', () => {
    expect(wasmKernelsActive()).to.equal(true);
    expect(q8GoldenChecksum()).to.equal(Q8_0_GOLDEN);
    expect(q4GoldenChecksum()).to.equal(Q4_0_GOLDEN);
    expect(kGoldenChecksums()).to.deep.equal(K_GOLDEN);
    useWasmKernels(false);
    try {
      expect(q8GoldenChecksum()).to.equal(Q8_0_GOLDEN);
      expect(q4GoldenChecksum()).to.equal(Q4_0_GOLDEN);
      expect(kGoldenChecksums()).to.deep.equal(K_GOLDEN);
    } finally {
      useWasmKernels(true);
    }
  });
});
