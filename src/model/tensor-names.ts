/**
 * llama.cpp's tensor names for the `llama` architecture (src/llama-arch.cpp's
 * LLM_ARCH_LLAMA table), mapped to the forward pass's names.
 */
import type { BlockMatrixName, BlockVectorName } from '../infer/transformer-weights.js';

/** GGUF tensor name of each block matrix (`blk.N.<name>.weight`). */
export const BLOCK_MATRIX_NAMES: Readonly<Record<BlockMatrixName, string>> = Object.freeze({
  wq: 'attn_q', wk: 'attn_k', wv: 'attn_v', wo: 'attn_output', w1: 'ffn_gate', w2: 'ffn_down', w3: 'ffn_up',
});

/** GGUF tensor name of each block norm. */
export const BLOCK_VECTOR_NAMES: Readonly<Record<BlockVectorName, string>> = Object.freeze({ attnNorm: 'attn_norm', ffnNorm: 'ffn_norm' });

/** The token embedding (vocab rows of dim). */
export const TOKEN_EMBD = 'token_embd.weight';
/** The output matrix; absent when tied to the embedding. */
export const OUTPUT = 'output.weight';
/** The final norm's gain. */
export const OUTPUT_NORM = 'output_norm.weight';
/** Per-dimension rope frequency factors (Llama 3.1-style rope scaling). */
export const ROPE_FREQS = 'rope_freqs.weight';

/** `blk.<layer>.<name>.weight` */
export function blockTensorName(layer: number, name: BlockMatrixName | BlockVectorName): string {
  const base = (BLOCK_MATRIX_NAMES as Record<string, string>)[name] ?? (BLOCK_VECTOR_NAMES as Record<string, string>)[name];
  return `blk.${layer}.${base}.weight`;
}

/**
 * The tensors that hold blocks [from, to), plus the embedding and/or the head (final norm
 * and output matrix, or the embedding again when the file ties them: `hasOutput` false),
 * each name once: what one node of a cluster (or a whole-model load) must fetch.
 */
export function tensorNamesFor(hasOutput: boolean, from: number, to: number, parts: { embed?: boolean; head?: boolean }): string[] {
  const names = new Set<string>();
  if (parts.embed) names.add(TOKEN_EMBD);
  for (let l = from; l < to; l++) {
    for (const n of ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'attnNorm', 'ffnNorm'] as const) names.add(blockTensorName(l, n));
  }
  if (parts.head) {
    names.add(OUTPUT_NORM);
    names.add(hasOutput ? OUTPUT : TOKEN_EMBD);
  }
  return [...names];
}
