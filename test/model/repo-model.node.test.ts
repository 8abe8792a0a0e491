import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadGgufModel, REPO_MODELS, REPO_MODEL_NAME } from '../../src/model/index.js';
import { REPO_GOLDEN } from './repo-golden.js';
import { goldenRun } from './repo-model.js';

const FILES = REPO_MODELS[REPO_MODEL_NAME].files;

describe('the repo model in Node (golden checksums shared with Chromium)', () => {
  for (const [type, rel] of Object.entries(FILES)) {
    it(`${type}: logits and greedy tokens are the pinned ones`, async () => {
      const model = await loadGgufModel(readFileSync(fileURLToPath(new URL(`../../${rel}`, import.meta.url))));
      expect(model.info).to.include({ source: 'gguf', trained: true });
      const run = await goldenRun(model);
      expect(run).to.deep.equal(REPO_GOLDEN[type as keyof typeof REPO_GOLDEN]);
    });
  }

  it('writes English: the F32 model continues a verse with words of the Bible', async () => {
    const model = await loadGgufModel(readFileSync(fileURLToPath(new URL(`../../${FILES.f32}`, import.meta.url))));
    let text = '';
    for await (const t of model.localModel().generate('In the beginning', { maxTokens: 64 })) text += t.text;
    const words = text.split(/[^A-Za-z]+/).filter(Boolean);
    const common = new Set(['the', 'and', 'of', 'to', 'that', 'in', 'he', 'shall', 'unto', 'for', 'i', 'his', 'a', 'lord', 'they', 'be', 'is', 'him', 'not', 'them', 'it', 'with', 'all', 'thou', 'thy', 'was', 'god', 'which', 'my', 'me', 'said', 'but', 'ye', 'their', 'have', 'will', 'thee', 'from', 'as', 'are', 'when', 'this', 'out', 'were', 'upon', 'man', 'by', 'you', 'israel', 'king', 'son', 'up', 'there', 'hath', 'then', 'people', 'came', 'had', 'house', 'on', 'into', 'her', 'come', 'one', 'we', 'children', 'before', 'your', 'also', 'day', 'land', 'so', 'men', 'against', 'shalt', 'if', 'at', 'let', 'go', 'hand', 'us', 'made', 'earth', 'heaven', 'beginning', 'created', 'went', 'even', 'do', 'saying', 'what', 'no', 'every', 'did', 'father', 'put', 'after']);
    expect(words.length).to.be.greaterThan(20);
    expect(words.filter((w) => common.has(w.toLowerCase())).length / words.length, text).to.be.greaterThan(0.5);
  });
});
