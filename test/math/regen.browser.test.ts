// The golden table of the Node suite, checked again in Chromium: the bits must not depend on the engine.
import { expect } from 'chai';
import { generateLayer, generateLayerReference } from '../../src/math/index.js';
import { GOLDEN, label, littleEndianBytes, toHex } from './golden.js';

// Mocha globals, provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => void | Promise<void>) => void;

async function sha256(layer: Float32Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', littleEndianBytes(layer))));
}

describe('procedural weights in Chromium (spec §6)', () => {
  for (const { spec, sha256: expected } of GOLDEN) {
    it(`golden checksum: ${label(spec)}`, async () => {
      expect(await sha256(generateLayer(spec))).to.equal(expected);
    });
  }

  it('every row has unit L2 length', () => {
    for (const spec of [...GOLDEN.map((g) => g.spec), { seed: 11, layer: 7, rows: 50, cols: 1000 }]) {
      const layer = generateLayer(spec);
      for (let r = 0; r < spec.rows; r++) {
        let s = 0;
        for (let j = 0; j < spec.cols; j++) s += layer[r * spec.cols + j] ** 2;
        expect(Math.abs(Math.sqrt(s) - 1), `${label(spec)} row ${r}`).to.be.below(1e-6);
      }
    }
  });

  it('the fast path agrees with the reference', () => {
    const spec = { seed: 3, layer: 9, rows: 20, cols: 1000 };
    const fast = generateLayer(spec);
    const ref = generateLayerReference(spec);
    for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i] - ref[i])).to.be.at.most(1e-6 * Math.abs(ref[i]) + 1e-9);
  });
});
