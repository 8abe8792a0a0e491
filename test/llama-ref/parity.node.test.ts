/**
 * kpc against llama.cpp (through node-llama-cpp, installed on demand by
 * scripts/llama-ref): for the repo model in every committed type, the tokenizer gives
 * llama.cpp's ids on a varied corpus, and greedy decoding gives llama.cpp's tokens for
 * 5 prompts × 64 tokens. kpc and llama.cpp sum in different orders, so a divergence is
 * allowed only at a step where kpc's own top-2 logits are within 1e-3 of their
 * magnitude (a near-tie); the test then stops comparing that prompt and reports the step.
 *
 * llama.cpp runs with batch size 1 (its single-token decode kernels for the prompt too):
 * its batched kernels (tinyBLAS, repacked gemm) round differently, and on the Q4_K_M
 * file its own greedy output changes with the batch size.
 *
 * One known divergence is pinned, not hidden (docs/models.md, "Parity"): on Q4_K_M,
 * "In the beginning" leaves llama.cpp at token 8 with kpc's top-2 margin at 2.8e-3 of
 * the logits, past the near-tie bound: on the quantized files kpc's logits stay within
 * a few 1e-2 of llama.cpp's single-token decode, not within 1e-3, and that is enough to
 * decide a step with a 1.6e-2 margin (docs/models.md, "Parity": the cause is open). The
 * test asserts that this happens exactly there, so any change shows, and prints each
 * prompt's largest logit gap.
 */
import { after, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { loadGgufModel, REPO_MODELS, REPO_MODEL_NAME, type GgufModel } from '../../src/model/index.js';
import { disposeLlamaRef, llamaGreedyDetailed, llamaTokenize, type LlamaGreedyStep } from '../helpers/llama-ref.js';

const FILES = Object.entries(REPO_MODELS[REPO_MODEL_NAME].files).map(([type, rel]) => ({ type, path: fileURLToPath(new URL(`../../${rel}`, import.meta.url)) }));

/** Text a tokenizer gets wrong first: Unicode, emoji, whitespace runs, digits, text from outside the Bible. */
export const TOKENIZER_CORPUS = [
  'In the beginning God created the heaven and the earth.',
  'And God said, Let there be light: and there was light.',
  '',
  ' ',
  '   leading and trailing spaces   ',
  'two  spaces, three   spaces,\ttab\t\ttabs',
  'line one\nline two\n\n\nthree newlines\r\nCRLF',
  'Numbers: 0 7 42 1611 3.14159 1,000,000 2026-12-06 +44 (0)20 7946 0958',
  'Émile naïve café — “quotes” ‘single’ … ½ ¾ ℃',
  'Ελληνικά, русский язык, עברית, العربية, हिन्दी',
  '日本語のテキスト、中文文本、한국어 텍스트',
  'emoji: 😀 👩‍👩‍👧‍👦 🇫🇷 ❤️ 🙏🏽',
  'WebRTC data channels carry float32 activations between browser tabs.',
  'fn main() { println!("{}", 1 << 20); } // code & <html> "quotes"',
  'UPPER lower MiXeD snake_case camelCase kebab-case',
  'Ye shall know the truth, and the truth shall make you free.',
  '\u00a0non-breaking\u2003em space\u200bzero width',
  'a'.repeat(200),
];

const PROMPTS = [
  'In the beginning',
  'And the LORD said unto Moses,',
  'Blessed are the',
  'Jesus answered and said unto them,',
  'The kingdom of heaven is like unto',
];
const STEPS = 64;
const NEAR_TIE = 1e-3;
/** (file type, prompt) → the step where kpc leaves llama.cpp beyond a near-tie, and why (above). */
const KNOWN_DIVERGENCES: Record<string, number> = { 'q4_k_m|In the beginning': 8 };

/** How one prompt went: tokens in common, where it left llama.cpp, and how far kpc's logits were from llama.cpp's. */
interface GreedyComparison {
  matched: number;
  divergedAt?: number;
  margin?: number;
  /** Largest |kpc − llama.cpp| on llama.cpp's top-2 logits, over the steps compared. */
  maxDeviation: number;
  /** The first step where that deviation passed 1e-3, if one did. */
  firstJump?: number;
}

/** kpc's greedy continuation, stopping where it leaves llama.cpp's; the divergence must be a near-tie. */
function compareGreedy(model: GgufModel, prompt: number[], steps: readonly LlamaGreedyStep[], known?: number): GreedyComparison {
  const want = steps.map((s) => s.token);
  const tr = model.localModel().transformer;
  const kv = tr.createKvCache();
  let hidden = tr.runLayers(0, tr.spec.layers, tr.embed(prompt), kv, 0).subarray((prompt.length - 1) * tr.spec.dim);
  let maxDeviation = 0;
  let firstJump: number | undefined;
  for (let step = 0; step < want.length; step++) {
    const logits = tr.logits(hidden);
    for (const [t, v] of steps[step].top) maxDeviation = Math.max(maxDeviation, Math.abs(logits[t] - v));
    if (firstJump === undefined && maxDeviation > 1e-3) firstJump = step;
    let a = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[a]) a = i;
    if (a !== want[step]) {
      let b = a === 0 ? 1 : 0;
      for (let i = 0; i < logits.length; i++) if (i !== a && logits[i] > logits[b]) b = i;
      const margin = logits[a] - logits[b];
      const scale = Math.max(Math.abs(logits[a]), Math.abs(logits[b]));
      if (known !== undefined) {
        expect(step, 'the known divergence moved').to.equal(known);
        return { matched: step, divergedAt: step, margin, maxDeviation, firstJump };
      }
      expect(margin, `step ${step}: kpc picked ${a}, llama.cpp ${want[step]}; kpc's top-2 margin ${margin} is not a near-tie (< ${NEAR_TIE}·${scale})`).to.be.below(NEAR_TIE * scale);
      return { matched: step, divergedAt: step, margin, maxDeviation, firstJump };
    }
    hidden = tr.runLayers(0, tr.spec.layers, tr.embed([a]), kv, prompt.length + step);
  }
  expect(known, 'a known divergence no longer happens: remove it from KNOWN_DIVERGENCES').to.equal(undefined);
  return { matched: want.length, maxDeviation, firstJump };
}

describe('parity with llama.cpp on the repo model (node-llama-cpp)', () => {
  after(disposeLlamaRef);

  for (const { type, path } of FILES) {
    describe(`${REPO_MODEL_NAME} ${type}`, () => {
      let model: GgufModel;

      it('tokenizes the corpus to llama.cpp\'s ids (BOS as llama.cpp adds it)', { timeout: 300_000 }, async () => {
        model = await loadGgufModel(readFileSync(path));
        const want = await llamaTokenize(path, TOKENIZER_CORPUS, { addBos: true });
        TOKENIZER_CORPUS.forEach((text, i) => {
          expect(model.tokenizer.encode(text, { addBos: true }), JSON.stringify(text)).to.deep.equal(want[i]);
        });
      });

      it(`greedy-decodes ${PROMPTS.length} prompts × ${STEPS} tokens as llama.cpp does`, { timeout: 300_000 }, async () => {
        model ??= await loadGgufModel(readFileSync(path));
        const report: string[] = [];
        for (const text of PROMPTS) {
          const prompt = model.tokenizer.encode(text);
          const { steps } = await llamaGreedyDetailed(path, prompt, STEPS, { stopAtEos: false, batchSize: 1 });
          expect(steps).to.have.length(STEPS);
          const known = KNOWN_DIVERGENCES[`${type}|${text}`];
          const r = compareGreedy(model, prompt, steps, known);
          const end = r.divergedAt === undefined
            ? `all ${STEPS} tokens`
            : `${r.matched} tokens, then ${known === undefined ? 'a near-tie' : 'the known divergence'} (kpc's top-2 margin ${r.margin?.toExponential(2)})`;
          const jump = r.firstJump === undefined ? '' : `, past 1e-3 from step ${r.firstJump}`;
          report.push(`${JSON.stringify(text)}: ${end}; max |Δlogit| ${r.maxDeviation.toExponential(1)}${jump}`);
        }
        // What docs/models.md "Parity" quotes: per prompt, how long it agreed and how close the logits were.
        console.log(`  ${type}:\n    ${report.join('\n    ')}`);
      });
    });
  }
});
