/**
 * The bench model of issue #14: a llama GGUF shaped like SmolLM2-135M (dim 576, 30 blocks,
 * 9 heads, 3 KV heads, FFN 1536, vocabulary 49152, tied embeddings, context 2048, rope
 * theta 10000, RMS eps 1e-5) with RANDOM weights, in two files:
 *
 * - `q8`: every matrix Q8_0 (token_embd included); norms F32. 142.9 MB.
 * - `q4`: a "Q4 mix": Q4_K where the row length is a multiple of 256 (only ffn_down, whose
 *   rows are 1536 long), Q4_0 for every other matrix, **token_embd included** (it is also
 *   the output matrix, tied); norms F32. 75.6 MB.
 *
 * The quantized blocks are generated directly (random quants, f16 scales from a table),
 * never as float32 then quantized: weights come out roughly N(0, 0.02)-sized (Q8_0:
 * uniform quants in [-127, 127] (never -128, which ggml's x86 sign trick mishandles) ×
 * d ≈ 2.7e-4 ± 25 %; Q4_0: (nibble − 8) × d ≈ 4.3e-3; Q4_K: random 6-bit scales and mins,
 * d ≈ 1.4e-4, dmin ≈ 1.0e-3). No NaN or Inf anywhere. The vocabulary is SentencePiece
 * (`llama`): `<unk>`, `<s>`, `</s>`, the 256 byte tokens `<0x00>`…`<0xFF>`, then `▁t0`,
 * `▁t1`, …, so kpc and llama.cpp both load it.
 *
 * Pure (no Node imports): bench/run.mjs bundles it for Node, streams
 * {@link benchModelChunks} to bench/.tmp/bench-model/ and regenerates a file only when it
 * is missing or {@link BENCH_MODEL_VERSION} changed.
 */
import { writeGgufChunks, type GgufTensorSpec } from '../src/gguf/writer.js';
import { GgufType, ggufValue, type GgufValue } from '../src/gguf/values.js';
import { f32ToF16 } from '../src/quant/half.js';

/** Bump when the bytes of the files change: bench/run.mjs then regenerates them. */
export const BENCH_MODEL_VERSION = 1;

/** The two files' paths under bench/.tmp (also the URL paths of the bench page's server). */
export const BENCH_MODEL_FILES = {
  q8: 'bench-model/smollm2-135m-random-q8_0.gguf',
  q4: 'bench-model/smollm2-135m-random-q4mix.gguf',
} as const;

export type BenchModelKind = keyof typeof BENCH_MODEL_FILES;

/** SmolLM2-135M's shape. */
export const BENCH_MODEL_SHAPE = {
  dim: 576, layers: 30, heads: 9, kvHeads: 3, ffn: 1536, vocab: 49152, context: 2048, ropeTheta: 10000, normEps: 1e-5,
} as const;

/** The fixed 128-token prompt of the kernel figures, as token ids: BOS, then 127 ids in [259, vocab). */
export function benchPromptIds(n = 128): number[] {
  const next = xorshift(0x5eed1234);
  const ids = [1];
  while (ids.length < n) ids.push(259 + (next() % (BENCH_MODEL_SHAPE.vocab - 259)));
  return ids;
}

/** xorshift32: a fast uint32 stream (the weights need ~36 M words). */
function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

/** 256 f16 bit patterns of target × [0.75, 1.25), picked by a random byte. */
function scaleTable(target: number): Uint16Array {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) t[i] = f32ToF16(target * (0.75 + (i + 0.5) / 512));
  return t;
}

const Q8_D = scaleTable(0.02 / 73.3);
const Q4_0_D = scaleTable(0.02 / 4.61);
const Q4_K_D = scaleTable(0.02 / (4.61 * 31.5));
const Q4_K_DMIN = scaleTable((7.5 * 0.02) / (4.61 * 31.5));

/** rows × cols weights of `type` (Q8_0, Q4_0, Q4_K), random blocks. */
function randomMatrix(type: 'Q8_0' | 'Q4_0' | 'Q4_K', rows: number, cols: number, next: () => number): Uint8Array {
  const [qk, size] = type === 'Q8_0' ? [32, 34] : type === 'Q4_0' ? [32, 18] : [256, 144];
  if (cols % qk !== 0) throw new Error(`bench model: ${cols} columns are not whole ${type} blocks`);
  const blocks = (rows * cols) / qk;
  const out = new Uint8Array(blocks * size);
  // Fill everything with random bytes, then overwrite the scales (and fix Q8_0's -128).
  const words = new Uint32Array(out.buffer, 0, out.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = next();
  for (let i = words.length * 4; i < out.length; i++) out[i] = next() & 0xff;
  const view = new DataView(out.buffer);
  for (let b = 0, at = 0; b < blocks; b++, at += size) {
    const r = next();
    if (type === 'Q8_0') {
      view.setUint16(at, Q8_D[r & 0xff], true);
      for (let i = at + 2; i < at + 34; i++) if (out[i] === 0x80) out[i] = 0x81;
    } else if (type === 'Q4_0') {
      view.setUint16(at, Q4_0_D[r & 0xff], true);
    } else {
      view.setUint16(at, Q4_K_D[r & 0xff], true);
      view.setUint16(at + 2, Q4_K_DMIN[(r >>> 8) & 0xff], true);
    }
  }
  return out;
}

/** The vocabulary: <unk>, <s>, </s>, <0x00>…<0xFF>, then ▁t0, ▁t1, … up to `vocab` pieces. */
export function benchVocab(vocab: number = BENCH_MODEL_SHAPE.vocab): { tokens: string[]; scores: Float32Array; types: Int32Array } {
  const tokens = ['<unk>', '<s>', '</s>'];
  for (let b = 0; b < 256; b++) tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  for (let i = 0; tokens.length < vocab; i++) tokens.push(`▁t${i}`);
  const scores = new Float32Array(vocab);
  const types = new Int32Array(vocab);
  for (let i = 0; i < vocab; i++) {
    types[i] = i === 0 ? 2 : i < 3 ? 3 : i < 259 ? 6 : 1;
    scores[i] = i < 259 ? 0 : -(i - 259);
  }
  return { tokens, scores, types };
}

/** The file of `kind` as consecutive parts (writeGgufChunks): ~143 MB (q8) or ~76 MB (q4) in all. */
export function benchModelChunks(kind: BenchModelKind): Uint8Array[] {
  const { dim, layers, heads, kvHeads, ffn, vocab, context, ropeTheta, normEps } = BENCH_MODEL_SHAPE;
  const kvDim = (dim / heads) * kvHeads;
  const next = xorshift(kind === 'q8' ? 0x0000b8b8 : 0x0000a4a4);
  const tensors: GgufTensorSpec[] = [];
  const typeFor = (cols: number) => (kind === 'q8' ? 'Q8_0' : cols % 256 === 0 ? 'Q4_K' : 'Q4_0') as 'Q8_0' | 'Q4_0' | 'Q4_K';
  const matrix = (name: string, rows: number, cols: number, type = typeFor(cols)): void => {
    tensors.push({ name, dims: [cols, rows], type, data: randomMatrix(type, rows, cols, next) });
  };
  const norm = (name: string): void => {
    const f = new Float32Array(dim);
    for (let i = 0; i < dim; i++) f[i] = 1 + ((next() / 2 ** 32) - 0.5) * 0.2;
    tensors.push({ name, dims: [dim], type: 'F32', data: new Uint8Array(f.buffer) });
  };
  // 576 is a multiple of 64, not of 256, so only ffn_down (1536 columns) is Q4_K in the mix.
  matrix('token_embd.weight', vocab, dim, kind === 'q8' ? 'Q8_0' : 'Q4_0');
  for (let l = 0; l < layers; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    matrix(`blk.${l}.attn_q.weight`, dim, dim);
    matrix(`blk.${l}.attn_k.weight`, kvDim, dim);
    matrix(`blk.${l}.attn_v.weight`, kvDim, dim);
    matrix(`blk.${l}.attn_output.weight`, dim, dim);
    norm(`blk.${l}.ffn_norm.weight`);
    matrix(`blk.${l}.ffn_gate.weight`, ffn, dim);
    matrix(`blk.${l}.ffn_up.weight`, ffn, dim);
    matrix(`blk.${l}.ffn_down.weight`, dim, ffn);
  }
  norm('output_norm.weight');
  const { tokens, scores, types } = benchVocab(vocab);
  const metadata: [string, GgufValue][] = [
    ['general.architecture', ggufValue.string('llama')],
    ['general.name', ggufValue.string(`kpc bench model (SmolLM2-135M shape, random weights, ${kind === 'q8' ? 'Q8_0' : 'Q4 mix'}) v${BENCH_MODEL_VERSION}`)],
    ['llama.context_length', ggufValue.u32(context)],
    ['llama.embedding_length', ggufValue.u32(dim)],
    ['llama.block_count', ggufValue.u32(layers)],
    ['llama.feed_forward_length', ggufValue.u32(ffn)],
    ['llama.rope.dimension_count', ggufValue.u32(dim / heads)],
    ['llama.attention.head_count', ggufValue.u32(heads)],
    ['llama.attention.head_count_kv', ggufValue.u32(kvHeads)],
    ['llama.rope.freq_base', ggufValue.f32(ropeTheta)],
    ['llama.attention.layer_norm_rms_epsilon', ggufValue.f32(normEps)],
    ['llama.vocab_size', ggufValue.u32(vocab)],
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.array(GgufType.STRING, tokens)],
    ['tokenizer.ggml.scores', ggufValue.array(GgufType.FLOAT32, scores)],
    ['tokenizer.ggml.token_type', ggufValue.array(GgufType.INT32, types)],
    ['tokenizer.ggml.bos_token_id', ggufValue.u32(1)],
    ['tokenizer.ggml.eos_token_id', ggufValue.u32(2)],
    ['tokenizer.ggml.unknown_token_id', ggufValue.u32(0)],
    ['tokenizer.ggml.add_bos_token', ggufValue.bool(true)],
    ['tokenizer.ggml.add_eos_token', ggufValue.bool(false)],
  ];
  return writeGgufChunks({ metadata, tensors });
}
