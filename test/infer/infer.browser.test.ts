// The golden table of the Node suite, checked again in Chromium: the same spec and prompt
// must give the same logits bit for bit, and the same tokens, on every engine.
import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { LocalModel, activationChecksum } from '../../src/infer/index.js';
import { toHex } from '../math/golden.js';
import { GOLDEN_MODELS, GOLDEN_PROMPT, firstTokens, promptLogits, promptLogitsSha256 } from './golden.js';

// Mocha globals, provided by web-test-runner.
declare const describe: (name: string, fn: () => void) => void;
declare const it: (name: string, fn: () => void | Promise<void>) => void;

describe('inference in Chromium', () => {
  for (const g of GOLDEN_MODELS) {
    it(`golden logits and tokens: ${g.label}`, async () => {
      const model = await LocalModel.load(g.spec);
      expect(promptLogitsSha256(model)).to.equal(g.logitsSha256);
      if (g.argmaxTokens) expect(await firstTokens(model, 0, 1)).to.deep.equal(g.argmaxTokens);
      if (g.sampledTokens) expect(await firstTokens(model, 0.8, 1)).to.deep.equal(g.sampledTokens);
    });
  }

  it('activationChecksum agrees with WebCrypto SHA-256', async () => {
    const logits = promptLogits(await LocalModel.load('kpc-tiny'));
    const subtle = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', logits)));
    expect(activationChecksum(logits)).to.equal(subtle);
  });

  it('blocks [0, 1) then [1, 2) give the bits of [0, 2)', async () => {
    const tr = (await LocalModel.load('kpc-tiny')).transformer;
    const x = tr.embed([256, 72, 105]);
    const whole = tr.runLayers(0, 2, x, tr.createKvCache(), 0);
    const split = tr.runLayers(1, 2, tr.runLayers(0, 1, x, tr.createKvCache(0, 1), 0), tr.createKvCache(1, 2), 0);
    expect(activationChecksum(split)).to.equal(activationChecksum(whole));
  });

  it('aborting stops generation with INFER_ABORTED', async () => {
    const model = await LocalModel.load('kpc-tiny');
    const ctl = new AbortController();
    const seen: number[] = [];
    let error: unknown;
    try {
      for await (const t of model.generate(GOLDEN_PROMPT, { maxTokens: 200, signal: ctl.signal, stopAtEos: false })) {
        seen.push(t.token);
        if (t.index === 2) ctl.abort();
      }
    } catch (err) {
      error = err;
    }
    expect(isKpcError(error, 'INFER_ABORTED')).to.equal(true);
    expect(seen.length).to.equal(3);
  });
});
