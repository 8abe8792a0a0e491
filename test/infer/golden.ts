/**
 * Golden values of the deterministic forward pass, checked in Node and in Chromium: the
 * same spec and prompt must give the same logits bit for bit and the same tokens on every
 * engine. They pin the whole inference definition (weights, scales, op order, rotary,
 * softmax, sampling): a change to any of it must change these on purpose.
 */
import { LocalModel, activationChecksum, encode, type ModelSpec } from '../../src/infer/index.js';

/** The prompt of every golden value (ASCII plus a 2-byte character). */
export const GOLDEN_PROMPT = 'Hello, π-node!';

/** Odd shapes on purpose: heads of 10, one KV head, an odd ffnDim (matMul's row and column tails). */
export const ODD_SPEC: ModelSpec = {
  format: 'kpc-model', version: 1, mode: 'procedural', architecture: 'llama',
  dim: 30, layers: 3, heads: 3, kvHeads: 1, ffnDim: 77, vocab: 259,
  contextLength: 64, ropeTheta: 500000, normEps: 1e-6, seed: 0xdeadbeef,
};

export interface GoldenModel {
  label: string;
  spec: ModelSpec | 'kpc-tiny' | 'kpc-small';
  /** SHA-256 of the float32 logits (little-endian) after the prompt. */
  logitsSha256: string;
  /** First 8 tokens at temperature 0 (argmax), or null when not pinned. */
  argmaxTokens: number[] | null;
  /** First 8 tokens at temperature 0.8 with seed 1, or null when not pinned. */
  sampledTokens: number[] | null;
}

export const GOLDEN_MODELS: readonly GoldenModel[] = [
  {
    label: 'kpc-tiny',
    spec: 'kpc-tiny',
    logitsSha256: '391fb7f49b6e2159ee307dbd64ce288c0961bad2f177ea53c36960b8b1f34110',
    argmaxTokens: [206, 131, 135, 176, 41, 65, 76, 47],
    sampledTokens: [174, 3, 112, 252, 246, 71, 164, 168],
  },
  {
    label: 'odd shapes',
    spec: ODD_SPEC,
    logitsSha256: '2ac0d00179a1fda8422e20fd2f7f12831c5b9234d6c8359a99becc8ed9f7918b',
    argmaxTokens: [84, 62, 143, 169, 137, 245, 248, 62],
    sampledTokens: [142, 0, 112, 252, 239, 71, 118, 153],
  },
  // kpc-small: logits only (a second of compute per engine is enough to pin 24 M weights).
  { label: 'kpc-small', spec: 'kpc-small', logitsSha256: 'a9bdfad4644435a83a8ef6f9de2b0cc5e407adaba4ca77311ef9458a0cbbb034', argmaxTokens: null, sampledTokens: null },
];

/** Logits (float32) of the last prompt token, through embed → runLayers(0, L) → logits. */
export function promptLogits(model: LocalModel, prompt: string = GOLDEN_PROMPT): Float32Array<ArrayBuffer> {
  const tr = model.transformer;
  const tokens = encode(prompt);
  const hidden = tr.runLayers(0, model.spec.layers, tr.embed(tokens), tr.createKvCache(), 0);
  return tr.logits(hidden.subarray((tokens.length - 1) * model.spec.dim));
}

/** SHA-256 of {@link promptLogits}. */
export function promptLogitsSha256(model: LocalModel, prompt: string = GOLDEN_PROMPT): string {
  return activationChecksum(promptLogits(model, prompt));
}

/** The first `n` generated token ids. */
export async function firstTokens(model: LocalModel, temperature: number, seed: number, n = 8, prompt = GOLDEN_PROMPT): Promise<number[]> {
  const out: number[] = [];
  for await (const t of model.generate(prompt, { maxTokens: n, temperature, seed, stopAtEos: false })) out.push(t.token);
  return out;
}
