import { expect } from 'chai';
import { loadGgufModel, REPO_MODELS, REPO_MODEL_NAME } from '../../src/model/index.js';
import { HttpSource } from '../../src/gguf/http.js';
import { REPO_GOLDEN } from './repo-golden.js';
import { goldenRun } from './repo-model.js';

describe('the repo model in Chromium, read by Range requests (golden checksums shared with Node)', () => {
  for (const [type, rel] of Object.entries(REPO_MODELS[REPO_MODEL_NAME].files)) {
    it(`${type}: the same logits and greedy tokens as Node`, async function () {
      this.timeout(120_000);
      const source = new HttpSource(new URL(`/${rel}`, location.href));
      const model = await loadGgufModel(source);
      // The header in a few requests, then one per tensor: never the whole file at once.
      expect(source.requests).to.be.at.most(model.file.tensors.length + 4);
      expect(await goldenRun(model)).to.deep.equal(REPO_GOLDEN[type as keyof typeof REPO_GOLDEN]);
    });
  }
});
