/**
 * Small random llama GGUF files built in memory with kpc's writer, so model tests need
 * no committed file: SentencePiece-style vocabulary (specials, 256 byte tokens, a few
 * pieces), random weights from a seeded PRNG, any tensor type src/quant writes.
 */
import { writeGguf, type GgufTensorSpec } from '../../src/gguf/writer.js';
import { GgufType, ggufValue, type GgufValue } from '../../src/gguf/values.js';
import { mulberry32 } from '../../src/infer/sampler.js';
import { quantizeMatrix } from '../../src/quant/index.js';
import type { GgmlTypeName } from '../../src/quant/types.js';

/** Shape and options of a tiny model. */
export interface TinyLlamaOptions {
  dim?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  ffn?: number;
  context?: number;
  /** Type of the 2-D tensors (norms stay F32). */
  type?: GgmlTypeName;
  /** Write a separate output.weight (default: tied to the embedding). */
  untied?: boolean;
  /** `general.architecture` (default llama). */
  architecture?: string;
  seed?: number;
  /** Extra or replacing metadata. */
  metadata?: [string, GgufValue][];
}

const PIECES = ['▁', '▁the', '▁and', '▁of', '▁LORD', 'th', 'he', '▁a', 'in', '▁God', '▁be', 'gin', 'ning', '▁In', '▁beginning', ','];

/** The vocabulary: <unk>, <s>, </s>, <0x00>…<0xFF>, then a few pieces. */
export function tinyVocab(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(6);
  }
  for (const p of PIECES) {
    tokens.push(p);
    types.push(1);
  }
  const scores = tokens.map((_, i) => (i < 259 ? 0 : -(i - 259)));
  return { tokens, scores, types };
}

/** A random llama GGUF file. */
export function tinyLlamaGguf(opts: TinyLlamaOptions = {}): Uint8Array {
  const { dim = 64, layers = 2, heads = 4, kvHeads = 2, ffn = 96, context = 64, type = 'F32', untied = false, architecture = 'llama', seed = 1 } = opts;
  const { tokens, scores, types } = tinyVocab();
  const vocab = tokens.length;
  const rand = mulberry32(seed);
  const kvDim = (dim / heads) * kvHeads;
  const tensors: GgufTensorSpec[] = [];
  const matrix = (name: string, rows: number, cols: number, scale: number): void => {
    const f = new Float32Array(rows * cols);
    for (let i = 0; i < f.length; i++) f[i] = (rand() * 2 - 1) * scale;
    const data = type === 'F32' ? new Uint8Array(f.buffer) : quantizeMatrix(type, f, rows, cols);
    tensors.push({ name, dims: [cols, rows], type, data });
  };
  const norm = (name: string): void => {
    const f = new Float32Array(dim);
    for (let i = 0; i < dim; i++) f[i] = 1 + (rand() - 0.5) * 0.2;
    tensors.push({ name, dims: [dim], type: 'F32', data: new Uint8Array(f.buffer) });
  };
  matrix('token_embd.weight', vocab, dim, 1);
  for (let l = 0; l < layers; l++) {
    norm(`blk.${l}.attn_norm.weight`);
    matrix(`blk.${l}.attn_q.weight`, dim, dim, 1 / Math.sqrt(dim));
    matrix(`blk.${l}.attn_k.weight`, kvDim, dim, 1 / Math.sqrt(dim));
    matrix(`blk.${l}.attn_v.weight`, kvDim, dim, 1 / Math.sqrt(dim));
    matrix(`blk.${l}.attn_output.weight`, dim, dim, 1 / Math.sqrt(dim));
    norm(`blk.${l}.ffn_norm.weight`);
    matrix(`blk.${l}.ffn_gate.weight`, ffn, dim, 1 / Math.sqrt(dim));
    matrix(`blk.${l}.ffn_up.weight`, ffn, dim, 1 / Math.sqrt(dim));
    matrix(`blk.${l}.ffn_down.weight`, dim, ffn, 1 / Math.sqrt(ffn));
  }
  norm('output_norm.weight');
  if (untied) matrix('output.weight', vocab, dim, 1 / Math.sqrt(dim));
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', ggufValue.string(architecture)],
    ['general.name', ggufValue.string('tiny test llama')],
    [`${architecture}.context_length`, ggufValue.u32(context)],
    [`${architecture}.embedding_length`, ggufValue.u32(dim)],
    [`${architecture}.block_count`, ggufValue.u32(layers)],
    [`${architecture}.feed_forward_length`, ggufValue.u32(ffn)],
    [`${architecture}.attention.head_count`, ggufValue.u32(heads)],
    [`${architecture}.attention.head_count_kv`, ggufValue.u32(kvHeads)],
    [`${architecture}.rope.freq_base`, ggufValue.f32(10000)],
    [`${architecture}.attention.layer_norm_rms_epsilon`, ggufValue.f32(1e-5)],
    ['tokenizer.ggml.model', ggufValue.string('llama')],
    ['tokenizer.ggml.tokens', ggufValue.array(GgufType.STRING, tokens)],
    ['tokenizer.ggml.scores', ggufValue.array(GgufType.FLOAT32, scores)],
    ['tokenizer.ggml.token_type', ggufValue.array(GgufType.INT32, types)],
    ['tokenizer.ggml.bos_token_id', ggufValue.u32(1)],
    ['tokenizer.ggml.eos_token_id', ggufValue.u32(2)],
    ['tokenizer.ggml.unknown_token_id', ggufValue.u32(0)],
    ['tokenizer.ggml.add_bos_token', ggufValue.bool(true)],
  ]);
  for (const [k, v] of opts.metadata ?? []) metadata.set(k, v);
  return writeGguf({ metadata, tensors });
}
