/**
 * Loading a llama GGUF model: header first (architecture, dimensions, tensor types and
 * tokenizer are all checked before any tensor byte is fetched), then only the tensors
 * this node needs, each read through the file's byte-range source.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.js';
import { KpcError } from '../errors.js';
import { HttpSource } from '../gguf/http.js';
import { readGguf, type GgufReadOptions } from '../gguf/reader.js';
import type { GgufFile, GgufTensorInfo } from '../gguf/file.js';
import { toByteSource, type ByteSource, type ByteSourceInput } from '../gguf/source.js';
import { GgufType } from '../gguf/values.js';
import { LocalModel, type ModelInfo, type TextCodec } from '../infer/generate.js';
import type { Runtime } from '../runtime.js';
import { COMPUTE_TYPES } from '../quant/types.js';
import { chatEncodeOptions, chatSpecials, tokenizerFromMetadata, type Tokenizer } from '../tokenizer/index.js';
import { GgufWeights, type RawTensor } from './gguf-weights.js';
import { checkArchitecture, llamaConfig, type LlamaConfig, type MetadataLookup } from './llama-config.js';
import { OUTPUT, OUTPUT_NORM, ROPE_FREQS, TOKEN_EMBD, tensorNamesFor } from './tensor-names.js';

/** Progress of a model load. */
export interface ModelLoadProgress {
  /** Tensor bytes fetched so far. */
  readonly loadedBytes: number;
  /** Tensor bytes this load fetches in all. */
  readonly totalBytes: number;
  /** The tensor just fetched. */
  readonly tensor: string;
}

/** Options of {@link loadGgufModel}. */
export interface GgufLoadOptions {
  /** Positions of the KV cache (default: the trained context, at most 4096). */
  contextLength?: number;
  /**
   * Only blocks [from, to) (plus the embedding when from = 0, the final norm and output
   * when to = layers): what one node of a cluster holds. Default: the whole model.
   */
  blocks?: readonly [number, number];
  /** Called after each tensor is fetched. */
  onProgress?: (progress: ModelLoadProgress) => void;
  /** Stops the load between tensors (KpcError `INFER_ABORTED`). */
  signal?: AbortSignal;
  /** Limits for the header reader. */
  readOptions?: GgufReadOptions;
  /** Name shown for the model (default: `general.name`, else 'GGUF model'). */
  name?: string;
  /** Clock and timers of the LocalModel made by {@link GgufModel.localModel}. */
  runtime?: Runtime;
}

/** A loaded llama GGUF model: its file, dimensions, tensors and tokenizer. */
export interface GgufModel {
  /** The parsed header. */
  readonly file: GgufFile;
  /** Dimensions and constants. */
  readonly config: LlamaConfig;
  /** The tensors held. */
  readonly weights: GgufWeights;
  /** The tokenizer from the file's metadata. */
  readonly tokenizer: Tokenizer;
  /** The tokenizer as LocalModel uses it. */
  readonly codec: TextCodec;
  /** Label: source 'gguf', trained. */
  readonly info: ModelInfo;
  /** The whole model as a LocalModel (needs every block loaded). */
  localModel(): LocalModel;
}

/** A lookup of a file's metadata values in the plain shapes the config and tokenizer read. */
export function metadataLookup(file: GgufFile): MetadataLookup {
  return (key) => {
    const v = file.get(key);
    if (v === undefined) return undefined;
    return v.type === GgufType.ARRAY ? v.value.items : v.value;
  };
}

/** Tensors a node holding blocks [from, to) needs, in file order (the embedding when from = 0, final norm and output when to = layers). */
export function neededTensors(file: GgufFile, config: LlamaConfig, from: number, to: number): GgufTensorInfo[] {
  const names = tensorNamesFor(file.findTensor(OUTPUT) !== undefined, from, to, { embed: from === 0, head: to === config.layers });
  const needed = new Set<GgufTensorInfo>();
  for (const name of names) {
    const t = file.findTensor(name);
    if (!t) throw new KpcError('MODEL_MISSING_TENSOR', `the file has no tensor "${name}"`, { name });
    needed.add(t);
  }
  return file.tensors.filter((t) => needed.has(t));
}

/** Checks a tensor's shape (GGUF lists ne0 = columns first) and type. */
function checkTensor(t: GgufTensorInfo, rows: number, cols: number): void {
  if (!(COMPUTE_TYPES as readonly string[]).includes(t.typeName)) {
    throw new KpcError('MODEL_BAD_METADATA', `tensor "${t.name}" has type ${t.typeName}, which kpc does not compute with (supported: ${COMPUTE_TYPES.join(', ')})`, { name: t.name, type: t.typeName });
  }
  const ok = (t.dims.length === 2 && t.dims[0] === cols && t.dims[1] === rows) || (rows === 1 && t.dims.length === 1 && t.dims[0] === cols);
  if (!ok) {
    throw new KpcError('MODEL_BAD_METADATA', `tensor "${t.name}" has shape [${t.dims.join(', ')}]; the metadata implies [${cols}, ${rows}]`, { name: t.name, dims: [...t.dims] });
  }
}

function shapeOf(name: string, c: LlamaConfig): [rows: number, cols: number] {
  const kvDim = c.kvHeads * c.headDim;
  if (name === TOKEN_EMBD || name === OUTPUT) return [c.vocab, c.dim];
  if (name === OUTPUT_NORM) return [1, c.dim];
  const part = name.split('.')[2];
  switch (part) {
    case 'attn_q': case 'attn_output': return [c.dim, c.dim];
    case 'attn_k': case 'attn_v': return [kvDim, c.dim];
    case 'ffn_gate': case 'ffn_up': return [c.ffnDim, c.dim];
    case 'ffn_down': return [c.dim, c.ffnDim];
    default: return [1, c.dim]; // norms
  }
}

/** A source for a URL string, or the input itself. */
function sourceOf(input: ByteSourceInput | string | URL): ByteSource {
  return typeof input === 'string' || input instanceof URL ? new HttpSource(String(input)) : toByteSource(input);
}

/**
 * Loads a llama GGUF model from a source (a URL string, a `File`/`Blob`, bytes, or any
 * {@link ByteSource}). Everything that can be refused is refused before tensor data is
 * fetched: another architecture (`MODEL_UNSUPPORTED_ARCH`, naming it), bad dimensions
 * or a tensor type kpc does not compute with (`MODEL_BAD_METADATA`), a missing tensor
 * (`MODEL_MISSING_TENSOR`), an unsupported tokenizer (`TOKENIZER_*`); file errors are
 * `GGUF_*`.
 */
/** What a model's header says, checked: everything needed before any tensor byte is fetched. */
export interface InspectedModel {
  readonly config: LlamaConfig;
  readonly tokenizer: Tokenizer;
  readonly codec: TextCodec;
  readonly info: ModelInfo;
}

/**
 * Checks a parsed header the way {@link loadGgufModel} does before fetching tensors:
 * architecture, dimensions, every tensor's presence, shape and type, and the tokenizer.
 * @throws KpcError `MODEL_UNSUPPORTED_ARCH`, `MODEL_BAD_METADATA`, `MODEL_MISSING_TENSOR`, `TOKENIZER_*`
 */
export function inspectModel(file: GgufFile, opts: { contextLength?: number; name?: string } = {}): InspectedModel {
  const get = metadataLookup(file);
  checkArchitecture(get);
  const embd = file.findTensor(TOKEN_EMBD);
  if (!embd) throw new KpcError('MODEL_MISSING_TENSOR', `the file has no tensor "${TOKEN_EMBD}"`, { name: TOKEN_EMBD });
  const config = llamaConfig(get, embd.dims[1] ?? 0, opts.contextLength);
  if (file.findTensor(ROPE_FREQS)) {
    throw new KpcError('MODEL_UNSUPPORTED_ARCH', 'this llama model scales its rotary frequencies (rope_freqs.weight, Llama 3.1-style), which kpc does not support yet', { architecture: 'llama' });
  }
  const tokenizer = tokenizerFromMetadata(get);
  for (const t of neededTensors(file, config, 0, config.layers)) checkTensor(t, ...shapeOf(t.name, config));
  const template = get('tokenizer.chat_template');
  const chat = typeof template === 'string' && template.length > 0 ? { template, ...chatSpecials(tokenizer) } : undefined;
  const codec: TextCodec = Object.freeze({
    encode: (text: string) => tokenizer.encode(text),
    ...(chat ? { encodeChat: (text: string) => tokenizer.encode(text, chatEncodeOptions(tokenizer, text)) } : {}),
    // The output continues the prompt: its first token's space is part of the text.
    createStreamDecoder: () => tokenizer.createStreamDecoder({ stripLeadingSpace: false }),
    stopTokens: Object.freeze([...tokenizer.eog].filter((t) => t < config.vocab)),
    neverSample: Object.freeze([]),
  });
  const info: ModelInfo = Object.freeze({ source: 'gguf', trained: true, name: opts.name ?? (config.name || 'GGUF model'), ...(chat ? { chat } : {}) });
  return { config, tokenizer, codec, info };
}

/** A tensor's bytes as the weights hold them: a copy at offset 0 (aligned for the word kernels), with its shape. */
export function rawTensor(t: GgufTensorInfo, config: LlamaConfig, bytes: Uint8Array): RawTensor {
  const [rows, cols] = shapeOf(t.name, config);
  // new Uint8Array(view) copies even a Node Buffer, whose slice() would not.
  return { name: t.name, type: t.type, rows, cols, bytes: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes) };
}

/**
 * Loads a llama GGUF model from a source (a URL string, a `File`/`Blob`, bytes, or any
 * {@link ByteSource}). Everything that can be refused is refused before tensor data is
 * fetched: another architecture (`MODEL_UNSUPPORTED_ARCH`, naming it), bad dimensions
 * or a tensor type kpc does not compute with (`MODEL_BAD_METADATA`), a missing tensor
 * (`MODEL_MISSING_TENSOR`), an unsupported tokenizer (`TOKENIZER_*`); file errors are
 * `GGUF_*`.
 */
export async function loadGgufModel(input: ByteSourceInput | string | URL, opts: GgufLoadOptions = {}): Promise<GgufModel> {
  const source = sourceOf(input);
  const file = await readGguf(source, opts.readOptions);
  const { config, tokenizer, codec, info } = inspectModel(file, opts);
  const [from, to] = opts.blocks ?? [0, config.layers];
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > config.layers || from >= to) {
    throw new KpcError('INFER_BAD_INPUT', `blocks [${String(from)}, ${String(to)}) are not a non-empty part of [0, ${config.layers})`, { from, to });
  }
  const needed = neededTensors(file, config, from, to);
  const header = await source.read(0, file.headerByteLength);
  const modelId = toHex(sha256(header));
  const totalBytes = needed.reduce((n, t) => n + t.byteLength, 0);
  let loadedBytes = 0;
  const tensors = new Map<string, RawTensor>();
  for (const t of needed) {
    if (opts.signal?.aborted) throw new KpcError('INFER_ABORTED', 'model load was aborted', { reason: String(opts.signal.reason) });
    // Always a copy, never pinning the source's buffer.
    tensors.set(t.name, rawTensor(t, config, new Uint8Array(await file.readTensor(t))));
    loadedBytes += t.byteLength;
    opts.onProgress?.({ loadedBytes, totalBytes, tensor: t.name });
  }
  const weights = new GgufWeights(config, modelId, tensors);
  return {
    file, config, weights, tokenizer, codec, info,
    localModel: () => {
      if (!weights.holds(0, config.layers)) throw new KpcError('MODEL_MISSING_TENSOR', 'only part of the model was loaded (blocks option)', { from, to });
      return LocalModel.fromWeights(weights, codec, info, opts.runtime);
    },
  };
}
