/**
 * LocalModel: the whole model on one node — load, run, sample, stream text.
 *
 * Two kinds of model run here. A procedural spec's weights are **untrained**: the output
 * is deterministic (same spec, prompt, temperature and seed → same tokens, in Node and
 * every browser) but it is not meaningful language — a workload for verifiable
 * distributed compute, load and scale tests (docs/inference.md). A trained GGUF model
 * (src/model) comes with its own tokenizer and produces real text; it is made with
 * {@link LocalModel.fromWeights}.
 */
import { KpcError } from '../errors.js';
import type { LayerSpec } from '../math/index.js';
import { systemRuntime, type Runtime } from '../runtime.js';
import { Transformer } from './forward.js';
import { modelSpecId, resolveModelSpec, type ModelPresetName, type ModelSpec } from './model-spec.js';
import { mulberry32, sampleNext, type SamplingOptions } from './sampler.js';
import { BOS, EOS, PAD, StreamDecoder, encode } from './tokenizer.js';
import type { ModelDims, TransformerWeights } from './transformer-weights.js';
import { ModelWeights, WeightCache, allTensors, finishTensor, tensorKey, tensorSource } from './weights.js';

/** Turns text into a model's tokens and its tokens back into text. */
export interface TextCodec {
  /** The prompt's tokens exactly as fed to the model (BOS included when the model wants it). */
  encode(text: string): number[];
  /**
   * A prompt formatted by the model's chat template: the texts of special tokens
   * (`<|im_start|>`) become those tokens, and BOS is added only when the text does not
   * start with it. Absent for models without a chat template.
   */
  encodeChat?(text: string): number[];
  /** A decoder for one output stream that holds back incomplete UTF-8 characters. */
  createStreamDecoder(): { push(token: number): string; flush(): string };
  /** Tokens that end generation (EOS, end-of-turn). */
  readonly stopTokens: readonly number[];
  /** Tokens never sampled (e.g. BOS and PAD of the byte-level tokenizer). */
  readonly neverSample: readonly number[];
}

/** What a loaded model is, for labels and logs. */
export interface ModelInfo {
  /** Where the weights come from. */
  readonly source: 'procedural' | 'gguf';
  /** False for procedural weights: their output is not language. */
  readonly trained: boolean;
  /** A human-readable name (preset name, `general.name`, file name). */
  readonly name: string;
  /** The model's chat template (`tokenizer.chat_template`) and the texts of its BOS/EOS, when it has one. */
  readonly chat?: { readonly template: string; readonly bos?: string; readonly eos?: string };
}

/** The byte-level tokenizer of procedural models as a {@link TextCodec}. */
export const BYTE_CODEC: TextCodec = Object.freeze({
  encode: (text: string) => encode(text),
  createStreamDecoder: () => new StreamDecoder(),
  stopTokens: Object.freeze([EOS]),
  neverSample: Object.freeze([BOS, PAD]),
});

/** Options of {@link LocalModel.load}. */
export interface LoadOptions {
  /** A tensor cache to use (may be shared between models); default: a new one of `cacheBytes`. */
  cache?: WeightCache;
  /** Byte budget of the new cache (default 256 MiB). A budget below the model's size still works: evicted tensors are regenerated. */
  cacheBytes?: number;
  /** Regenerate every tensor during load instead of on first use (yields between tensors). */
  warm?: boolean;
  /**
   * Produces a raw kernel tensor for warming, e.g. `(s) => regenWorker.generateLayer(s)`
   * to keep the main thread free. Must return `generateLayer(s)`'s bits (any engine does).
   */
  regenerate?: (spec: Required<LayerSpec>) => Promise<Float32Array>;
  /** Clock and timers (the simulator passes a virtual one). Default: `performance.now` and a zero-delay macrotask. */
  runtime?: Runtime;
}

/** Options of {@link LocalModel.generate}. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to produce (EOS included); 0 produces none. */
  maxTokens: number;
  /** 0 (default) picks the most likely token (lowest id on ties); > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** uint32 seed of the sampling PRNG (default 0); unused at temperature 0. */
  seed?: number;
  /** Aborting stops generation before the next token with KpcError `INFER_ABORTED`. */
  signal?: AbortSignal;
  /** Stop when EOS is sampled (default true). `false` never samples EOS: exactly `maxTokens` tokens, context permitting. */
  stopAtEos?: boolean;
  /**
   * The prompt was formatted by the model's chat template: encode it with the codec's
   * `encodeChat` (special tokens parsed, one BOS). KpcError `INFER_BAD_INPUT` for a
   * model without one.
   */
  chat?: boolean;
}

/** The prompt's tokens: chat-formatted or plain. */
export function encodePrompt(codec: TextCodec, prompt: string, chat: boolean | undefined): number[] {
  if (!chat) return codec.encode(prompt);
  if (!codec.encodeChat) throw new KpcError('INFER_BAD_INPUT', 'this model has no chat template', { field: 'chat' });
  return codec.encodeChat(prompt);
}

/** One generated token. */
export interface GeneratedToken {
  /** Token id (for procedural models a byte 0–255); a stop token (EOS) comes last when generation ends on it. */
  token: number;
  /**
   * Text completed by this token: '' while a multi-byte UTF-8 character is incomplete;
   * the last token also carries the flush of an unfinished sequence (U+FFFD). Joining all
   * `text`s gives the decoded output.
   */
  text: string;
  /** 0-based position in the output. */
  index: number;
  /** Milliseconds spent producing it; for index 0 that includes the prompt and any weight regeneration. */
  ms: number;
}

const defaultNow = (): number => performance.now();

/** Prompt tokens per forward call: enough to reuse each weight row from cache, small enough to keep steps short. */
const PREFILL_CHUNK = 32;

/**
 * Resolves on a later macrotask, so timers, input and `abort()` calls get to run between
 * tokens. `setTimeout(0)` is clamped to 4 ms once nested in browsers — more than a
 * kpc-tiny token — so a MessageChannel is used there, `setImmediate` in Node.
 */
function nextMacrotask(runtime: Runtime | undefined): Promise<void> {
  // The system runtime's setTimeout(0) is clamped to 4 ms in browsers: use the fast paths below for it.
  if (runtime && runtime !== systemRuntime) return new Promise((resolve) => runtime.setTimeout(resolve, 0));
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    if (!channel) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => waiting.shift()?.();
    }
    const port = channel.port2;
    return new Promise((resolve) => {
      waiting.push(resolve);
      port.postMessage(0);
    });
  }
  return new Promise((resolve) => globalThis.setTimeout(resolve, 0));
}
let channel: MessageChannel | null = null;
const waiting: (() => void)[] = [];

function badOption(message: string, detail: Record<string, unknown>): KpcError {
  return new KpcError('INFER_BAD_INPUT', message, detail);
}

/**
 * Validates generate options and fills in defaults.
 * @throws KpcError `INFER_BAD_INPUT` naming the field
 */
export function checkGenerateOptions(opts: GenerateOptions): Required<Omit<GenerateOptions, 'signal' | 'chat'>> {
  if (typeof opts !== 'object' || opts === null) throw badOption('generate options must be an object', {});
  const { maxTokens, temperature = 0, seed = 0, stopAtEos = true, topK = 0, topP = 1, repeatPenalty = 1, repeatLastN = 64 } = opts;
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) throw badOption(`maxTokens must be a non-negative integer, got ${String(maxTokens)}`, { field: 'maxTokens' });
  if (typeof temperature !== 'number' || !(temperature >= 0 && temperature < Infinity)) {
    throw badOption(`temperature must be a finite number ≥ 0, got ${String(temperature)}`, { field: 'temperature' });
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw badOption(`seed must be a uint32, got ${String(seed)}`, { field: 'seed' });
  if (!Number.isSafeInteger(topK) || topK < 0) throw badOption(`topK must be a non-negative integer, got ${String(topK)}`, { field: 'topK' });
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw badOption(`topP must be in (0, 1], got ${String(topP)}`, { field: 'topP' });
  if (typeof repeatPenalty !== 'number' || !(repeatPenalty > 0 && repeatPenalty < Infinity)) {
    throw badOption(`repeatPenalty must be a positive number, got ${String(repeatPenalty)}`, { field: 'repeatPenalty' });
  }
  if (!Number.isSafeInteger(repeatLastN) || repeatLastN < 0) throw badOption(`repeatLastN must be a non-negative integer, got ${String(repeatLastN)}`, { field: 'repeatLastN' });
  return { maxTokens, temperature, seed, stopAtEos: stopAtEos !== false, topK, topP, repeatPenalty, repeatLastN };
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KpcError('INFER_ABORTED', 'generation was aborted', { reason: String(signal.reason) });
}

/**
 * A whole model on this node. Load once, generate many times; tensors are regenerated
 * on first use (or at load with `warm`) and kept in a byte-bounded LRU cache.
 */
export class LocalModel {
  /** The model's dimensions (for a procedural model, its validated spec). */
  readonly spec: ModelDims;
  /** The model's id: SHA-256 of a procedural spec's canonical JSON, or of a GGUF file's header and tensors. */
  readonly id: string;
  /** The model's tensors. */
  readonly weights: TransformerWeights;
  /** The forward pass (embed / runLayers / logits), for callers that split it. */
  readonly transformer: Transformer;
  /** Tokenizer. */
  readonly codec: TextCodec;
  /** Where the weights come from and whether they are trained. */
  readonly info: ModelInfo;
  readonly #runtime: Runtime | undefined;
  readonly #now: () => number;

  private constructor(weights: TransformerWeights, codec: TextCodec, info: ModelInfo, runtime: Runtime | undefined) {
    this.spec = weights.spec;
    this.id = weights.modelId;
    this.weights = weights;
    this.transformer = new Transformer(weights);
    this.codec = codec;
    this.info = Object.freeze({ ...info });
    this.#runtime = runtime;
    this.#now = runtime ? () => runtime.now() : defaultNow;
  }

  /**
   * A model over weights loaded elsewhere (a GGUF file: src/model's `loadGgufModel`).
   * @param runtime - clock and timers (default: `performance.now` and a zero-delay macrotask)
   */
  static fromWeights(weights: TransformerWeights, codec: TextCodec, info: ModelInfo, runtime?: Runtime): LocalModel {
    return new LocalModel(weights, codec, info, runtime);
  }

  /**
   * Validates the spec (or looks up a preset by name) and prepares the model. Nothing is
   * downloaded: every weight is regenerated from the spec.
   * @throws KpcError `INFER_BAD_SPEC`, `INFER_BAD_INPUT` (bad cache budget)
   */
  static async load(spec: ModelSpec | ModelPresetName, opts: LoadOptions = {}): Promise<LocalModel> {
    const checked = resolveModelSpec(spec);
    const cache = opts.cache ?? new WeightCache(opts.cacheBytes);
    const weights = new ModelWeights(checked, modelSpecId(checked), cache);
    const name = typeof spec === 'string' ? spec : `procedural ${weights.modelId.slice(0, 8)}`;
    const model = new LocalModel(weights, BYTE_CODEC, { source: 'procedural', trained: false, name }, opts.runtime);
    if (opts.warm) {
      for (const ref of allTensors(checked)) {
        const key = tensorKey(model.id, ref);
        if (cache.has(key)) continue;
        const source = tensorSource(checked, ref);
        if (opts.regenerate) cache.put(key, finishTensor(await opts.regenerate(source.kernel), source));
        else weights.get(ref);
        await nextMacrotask(opts.runtime);
      }
    }
    return model;
  }

  /** Drops every cached tensor of a procedural model's cache; they are regenerated on next use. */
  clearCache(): void {
    if (this.weights instanceof ModelWeights) this.weights.cache.clear();
  }

  /**
   * Streams the continuation of `prompt`. The prompt is encoded as BOS + its UTF-8
   * bytes and run in chunks of 32 tokens, one block at a time; then each step samples a
   * token (BOS and PAD never; EOS ends the stream unless `stopAtEos` is false) and yields
   * to the event loop. The stream ends cleanly after `maxTokens` tokens, on EOS, or when
   * the context is full. Procedural weights are untrained: the tokens are deterministic,
   * not meaningful text.
   * Aborting `signal` makes the pending or next `next()` reject with `INFER_ABORTED`
   * within one token's compute (for the prompt: one block of one chunk).
   * @throws KpcError `INFER_CONTEXT_OVERFLOW` (prompt + BOS longer than `contextLength`),
   *   `INFER_BAD_INPUT` (options), `INFER_ABORTED` — all on the first `next()`
   */
  generate(prompt: string, opts: GenerateOptions): AsyncIterable<GeneratedToken> {
    return this.#run(prompt, opts);
  }

  async *#run(prompt: string, opts: GenerateOptions): AsyncGenerator<GeneratedToken, void, undefined> {
    const { maxTokens, temperature, seed, stopAtEos, topK, topP, repeatPenalty, repeatLastN } = checkGenerateOptions(opts);
    const sampling: SamplingOptions = { temperature, topK, topP, repeatPenalty, repeatLastN };
    const signal = opts.signal;
    const codec = this.codec;
    const tokens = encodePrompt(codec, prompt, opts.chat);
    const { contextLength, layers } = this.spec;
    if (tokens.length > contextLength) {
      throw new KpcError('INFER_CONTEXT_OVERFLOW', `the prompt is ${tokens.length} tokens (BOS included); the context holds ${contextLength}`, {
        tokens: tokens.length, contextLength,
      });
    }
    aborted(signal);
    if (maxTokens === 0) return;
    const stops = new Set(codec.stopTokens);
    const banned = new Set(stopAtEos ? codec.neverSample : [...codec.neverSample, ...codec.stopTokens]);
    const rng = mulberry32(seed);
    const decoder = codec.createStreamDecoder();
    const history = tokens.slice();
    const model = this.transformer;
    const kv = model.createKvCache();
    let t0 = this.#now();
    // The prompt goes through in chunks, one block at a time, yielding in between: a
    // chunk streams each weight matrix once for all its tokens, and an abort is seen
    // within one block's work. Splitting changes no bit (forward.ts).
    let hidden!: Float32Array;
    for (let start = 0; start < tokens.length; start += PREFILL_CHUNK) {
      const chunk = tokens.slice(start, start + PREFILL_CHUNK);
      let h = model.embed(chunk);
      for (let l = 0; l < layers; l++) {
        if (start > 0 || l > 0) await nextMacrotask(this.#runtime);
        aborted(signal);
        h = model.runLayers(l, l + 1, h, kv, start);
      }
      hidden = h.subarray((chunk.length - 1) * this.spec.dim);
    }
    let pos = tokens.length;
    for (let index = 0; ; index++) {
      const token = sampleNext(model.logits(hidden), history, sampling, rng, banned);
      history.push(token);
      if (stops.has(token)) {
        yield { token, text: decoder.flush(), index, ms: this.#now() - t0 };
        return;
      }
      // The last token when no more fit, or the next one would need a position past the context.
      const last = index + 1 === maxTokens || pos >= contextLength;
      const text = decoder.push(token) + (last ? decoder.flush() : '');
      yield { token, text, index, ms: this.#now() - t0 };
      if (last) return;
      t0 = this.#now();
      await nextMacrotask(this.#runtime);
      aborted(signal);
      hidden = model.runLayers(0, layers, model.embed([token]), kv, pos);
      pos++;
    }
  }
}
