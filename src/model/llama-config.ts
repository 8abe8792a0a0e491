/**
 * The `llama` architecture as a GGUF file describes it (llama.cpp's LLM_ARCH_LLAMA:
 * LLaMA 1/2/3, TinyLlama, SmolLM/SmolLM2, Mistral-style models without sliding window):
 * dimensions from `llama.*` metadata, checked before any tensor is fetched.
 */
import { KpcError } from '../errors.js';
import type { ModelDims } from '../infer/transformer-weights.js';

/** Reads one metadata value (undefined when absent). */
export type MetadataLookup = (key: string) => unknown;

/** A llama model's dimensions and constants, plus what the file says about itself. */
export interface LlamaConfig extends ModelDims {
  /** Always `'llama'`. */
  readonly architecture: 'llama';
  /** `general.name`, or '' */
  readonly name: string;
  /** The context length the model was trained with (`llama.context_length`). */
  readonly trainedContextLength: number;
}

/** Architectures llama.cpp runs with this same graph under another name are still refused: their tensors differ in ways we do not check. */
const SUPPORTED = 'llama';

/** Upper bounds that keep every buffer a sane size (a file claiming more is refused). */
const LIMITS = { dim: 65536, layers: 1024, heads: 1024, ffnDim: 262144, vocab: 1 << 21, contextLength: 1 << 20 } as const;

function bad(key: string, why: string, value?: unknown): KpcError {
  return new KpcError('MODEL_BAD_METADATA', `GGUF metadata ${key} ${why}${value === undefined ? '' : `, got ${String(value)}`}`, { key, value: value === undefined ? undefined : String(value) });
}

function uint(get: MetadataLookup, key: string, max: number, fallback?: number): number {
  const v = get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw bad(key, 'is missing');
  }
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) throw bad(key, `must be an integer in [1, ${max}]`, v);
  return n;
}

function positive(get: MetadataLookup, key: string, fallback: number): number {
  const v = get(key);
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v > 0 && v < Infinity)) throw bad(key, 'must be a positive number', v);
  return v;
}

/**
 * The architecture named by a file's metadata, checked first so a file of another
 * architecture is refused by name before anything else is read.
 * @throws KpcError `MODEL_UNSUPPORTED_ARCH` naming the architecture
 */
export function checkArchitecture(get: MetadataLookup): 'llama' {
  const arch = get('general.architecture');
  if (arch !== SUPPORTED) {
    const name = typeof arch === 'string' ? arch : '(none)';
    throw new KpcError('MODEL_UNSUPPORTED_ARCH', `kpc runs GGUF models of architecture "llama"; this file is "${name}"`, { architecture: name });
  }
  return SUPPORTED;
}

/**
 * The dimensions of a llama GGUF model.
 * @param get - metadata lookup
 * @param vocab - rows of `token_embd.weight` (the vocabulary the tensors hold)
 * @param contextLength - positions to provide for (default: the trained context, at most 4096 to keep the KV cache small; at most the trained context)
 * @throws KpcError `MODEL_UNSUPPORTED_ARCH`, `MODEL_BAD_METADATA` naming the key
 */
export function llamaConfig(get: MetadataLookup, vocab: number, contextLength?: number): LlamaConfig {
  checkArchitecture(get);
  const dim = uint(get, 'llama.embedding_length', LIMITS.dim);
  const layers = uint(get, 'llama.block_count', LIMITS.layers);
  const heads = uint(get, 'llama.attention.head_count', LIMITS.heads);
  const kvHeads = uint(get, 'llama.attention.head_count_kv', LIMITS.heads, heads);
  const ffnDim = uint(get, 'llama.feed_forward_length', LIMITS.ffnDim);
  const trained = uint(get, 'llama.context_length', LIMITS.contextLength, 2048);
  if (dim % heads !== 0 || (dim / heads) % 2 !== 0) throw bad('llama.attention.head_count', `must divide embedding_length ${dim} into heads of even size`, heads);
  if (heads % kvHeads !== 0) throw bad('llama.attention.head_count_kv', `must divide head_count ${heads}`, kvHeads);
  const headDim = dim / heads;
  const ropeDims = uint(get, 'llama.rope.dimension_count', LIMITS.dim, headDim);
  if (ropeDims !== headDim) throw bad('llama.rope.dimension_count', `must equal the head size ${headDim} (partial rotary embeddings are not supported)`, ropeDims);
  const experts = get('llama.expert_count');
  if (experts !== undefined && experts !== 0) {
    throw new KpcError('MODEL_UNSUPPORTED_ARCH', `mixture-of-experts llama models (llama.expert_count = ${String(experts)}) are not supported`, { architecture: 'llama', experts: String(experts) });
  }
  const scaling = get('llama.rope.scaling.type');
  const factor = get('llama.rope.scaling.factor');
  if ((scaling !== undefined && scaling !== 'none' && !(scaling === 'linear' && (factor === undefined || factor === 1))) || (factor !== undefined && factor !== 1 && factor !== 0)) {
    throw bad('llama.rope.scaling.type', 'asks for rope scaling, which is not supported', `${String(scaling)} × ${String(factor)}`);
  }
  if (!Number.isInteger(vocab) || vocab < 1 || vocab > LIMITS.vocab) throw bad('llama.vocab_size', `must be in [1, ${LIMITS.vocab}]`, vocab);
  const declaredVocab = get('llama.vocab_size');
  if (declaredVocab !== undefined && declaredVocab !== vocab) throw bad('llama.vocab_size', `disagrees with token_embd.weight's ${vocab} rows`, declaredVocab);
  const ctx = contextLength ?? Math.min(trained, 4096);
  if (!Number.isInteger(ctx) || ctx < 1 || ctx > trained) {
    throw new KpcError('INFER_BAD_INPUT', `context length must be an integer in [1, ${trained}] (the model's trained context), got ${String(ctx)}`, { contextLength: ctx });
  }
  const name = get('general.name');
  return Object.freeze({
    architecture: 'llama' as const,
    name: typeof name === 'string' ? name : '',
    dim, layers, heads, kvHeads, headDim, ffnDim, vocab,
    contextLength: ctx,
    trainedContextLength: trained,
    ropeTheta: positive(get, 'llama.rope.freq_base', 10000),
    normEps: positive(get, 'llama.attention.layer_norm_rms_epsilon', 1e-5),
  });
}
