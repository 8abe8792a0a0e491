/**
 * What Node and Chromium must both compute on the repo model: the logits after a prompt
 * (SHA-256 of their float32 bytes) and a greedy continuation, per committed file. The
 * same checksum on both engines is what lets nodes verify each other; the values are
 * pinned in repo-golden.ts.
 */
import { activationChecksum } from '../../src/infer/forward.js';
import type { GgufModel } from '../../src/model/index.js';

/** The prompt of the golden run. */
export const GOLDEN_PROMPT = 'In the beginning God created';
/** Greedy tokens of the golden run. */
export const GOLDEN_STEPS = 16;

/** The checksum of the prompt's last logits and the greedy continuation. */
export async function goldenRun(model: GgufModel): Promise<{ logitsSha256: string; tokens: number[]; text: string }> {
  const local = model.localModel();
  const tr = local.transformer;
  const ids = local.codec.encode(GOLDEN_PROMPT);
  const h = tr.runLayers(0, tr.spec.layers, tr.embed(ids), tr.createKvCache(), 0);
  const logitsSha256 = activationChecksum(tr.logits(h.subarray((ids.length - 1) * tr.spec.dim)));
  const tokens: number[] = [];
  let text = '';
  for await (const t of local.generate(GOLDEN_PROMPT, { maxTokens: GOLDEN_STEPS, stopAtEos: false })) {
    tokens.push(t.token);
    text += t.text;
  }
  return { logitsSha256, tokens, text };
}
