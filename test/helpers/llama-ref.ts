/**
 * llama.cpp as the reference kpc must match token for token, through node-llama-cpp loaded
 * from the cache scripts/llama-ref/install.mjs installs (never from the project's
 * node_modules). docs/llama-ref.md says how it is installed and what numerics it runs.
 *
 * Every helper takes a GGUF path; each model is loaded once per process (and again when
 * the file changes on disk, as a checkpoint being trained does) and each generation runs in
 * a fresh context, so no state leaks between calls. Defaults are the reproducible ones:
 * CPU only, 1 thread, flash attention off, f16 K/V cache, the whole prompt in one batch,
 * pure argmax. Call {@link disposeLlamaRef} in an `after()` hook; a process that forgets
 * still exits (the cached objects hold no event-loop handle).
 *
 * On anything but x86-64 Linux (glibc ≥ 2.34) the first call throws a LlamaRefError that
 * says what to install: tests that need the reference fail there, they never skip.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureLlamaRef, NODE_LLAMA_CPP_VERSION } from '../../scripts/llama-ref/install.mjs';

export { LlamaRefError, NODE_LLAMA_CPP_VERSION } from '../../scripts/llama-ref/install.mjs';

/** Context settings; every default is the reproducible one. */
export interface LlamaRefContextOptions {
  /** Threads for evaluation. Default 1 (results do not depend on it; speed does, see docs/llama-ref.md). */
  threads?: number;
  /** Flash attention. Default false; llama.cpp's own default on CPU ("auto") turns it on. */
  flashAttention?: boolean;
  /** KV cells. Default the model's training context (llama.context_length); llama.cpp pads it up to a multiple of 256. */
  contextSize?: number;
  /** Tokens per decode call (llama.cpp's n_batch = n_ubatch). Default contextSize: the whole prompt in one batch. */
  batchSize?: number;
}

export interface LlamaGreedyOptions extends LlamaRefContextOptions {
  /** How many of the highest logits to return at each step. Default 2 (the pick and the runner-up). */
  topLogits?: number;
  /** Stop after an end-of-generation token (EOS, EOT…), which is included. Default true. */
  stopAtEos?: boolean;
}

/** One generated token with the logits it was picked from. */
export interface LlamaGreedyStep {
  /** The argmax (llama.cpp's greedy sampler: the first index of the largest logit). */
  token: number;
  /** The `topLogits` highest [token, logit] pairs, highest first. */
  top: Array<[token: number, logit: number]>;
  /** top[0] logit minus top[1] logit: how close this step came to picking another token. */
  margin: number;
}

export interface LlamaGreedyResult {
  prompt: number[];
  /** The generated tokens (the prompt excluded); ends with the EOS when {@link stoppedAtEos}. */
  tokens: number[];
  steps: LlamaGreedyStep[];
  /** Generation stopped early at an end-of-generation token. */
  stoppedAtEos: boolean;
  /** What the context actually ran with, read back from llama.cpp. */
  context: LlamaRefContextFacts;
}

export interface LlamaRefContextFacts {
  contextSize: number;
  batchSize: number;
  threads: number;
  flashAttention: boolean | 'auto';
  /** ggml type ids of the K and V cache: 1 is F16. */
  kvCacheKeyType: number;
  kvCacheValueType: number;
}

export interface LlamaModelInfo {
  bos: number | null;
  eos: number | null;
  /** tokenizer.ggml.add_bos_token: whether llama.cpp's tools prepend BOS. */
  addBos: boolean;
  /** tokenizer.ggml.add_eos_token. */
  addEos: boolean;
  vocabSize: number;
  trainContextSize: number;
}

export interface LlamaRefInfo {
  nodeLlamaCpp: string;
  /** llama.cpp release the binary was built from (node-llama-cpp's llama.cpp.info.json). */
  llamaCppRelease: string;
  /** Where node-llama-cpp was imported from. */
  entry: string;
  /** ggml's CPU feature line (SSE3 … AVX512 … LLAMAFILE, REPACK). */
  systemInfo: string;
  /** The CPU backend variant ggml picked for this processor (libggml-cpu-<variant>.so), when logged. */
  cpuVariant: string | undefined;
}

// ——— The few node-llama-cpp shapes used here (it is loaded by URL, so its own types are not visible). ———

type Token = number;
interface NlcModule {
  getLlama(options: Record<string, unknown>): Promise<NlcLlama>;
  LlamaLogLevel: Record<'error' | 'warn' | 'info' | 'log' | 'debug', string>;
}
interface NlcLlama {
  loadModel(options: Record<string, unknown>): Promise<NlcModel>;
  readonly systemInfo: string;
  readonly llamaCppRelease: { repo: string; release: string };
  dispose(): Promise<void>;
}
interface NlcModel {
  tokenize(text: string, specialTokens?: boolean): Token[];
  detokenize(tokens: readonly Token[], specialTokens?: boolean): string;
  isEogToken(token: Token | undefined): boolean;
  createContext(options: Record<string, unknown>): Promise<NlcContext>;
  readonly tokens: { bos: Token | null; eos: Token | null; shouldPrependBosToken: boolean; shouldAppendEosToken: boolean };
  readonly trainContextSize: number;
  readonly fileInfo: { metadata: { tokenizer?: { ggml?: { tokens?: readonly string[] } } } };
  dispose(): Promise<void>;
}
interface NlcContext {
  getSequence(): NlcSequence;
  readonly contextSize: number;
  readonly batchSize: number;
  readonly currentThreads: number;
  readonly flashAttention: boolean | 'auto';
  readonly kvCacheKeyType: number;
  readonly kvCacheValueType: number;
  dispose(): Promise<void>;
}
type NlcInput = Token | [Token, { generateNext?: Record<string, unknown> }];
interface NlcSequence {
  controlledEvaluate(input: NlcInput[]): Promise<Array<undefined | { next: { token?: Token | null; logits?: Map<Token, number> } }>>;
}

// ——— Process-wide cache. ———

let llamaPromise: Promise<{ nlc: NlcModule; llama: NlcLlama; entry: string; variant: { name?: string } }> | undefined;
const models = new Map<string, { stamp: string; model: Promise<NlcModel> }>();

function getLlamaRef() {
  if (llamaPromise) return llamaPromise;
  const p = (async () => {
    const entry = await ensureLlamaRef();
    const nlc = (await import(pathToFileURL(entry).href)) as NlcModule;
    const variant: { name?: string } = {};
    const llama = await nlc.getLlama({
      gpu: false, // CPU backend only: no CUDA/Vulkan/Metal probing
      build: 'never', // never compile llama.cpp; the prebuilt binary or an error
      usePrebuiltBinaries: true,
      skipDownload: true, // never download llama.cpp's sources
      progressLogs: false,
      maxThreads: 0, // no thread cap: a context's `threads` is exactly what it runs with
      logLevel: nlc.LlamaLogLevel.log, // 'log' carries ggml's "loaded CPU backend from …" line
      logger(level: string, message: string) {
        const m = /libggml-cpu-([\w-]+)\.so/.exec(message);
        if (m) variant.name = m[1];
        if (level === 'error' || level === 'fatal' || level === 'warn') process.stderr.write(`[llama.cpp ${level}] ${message.trimEnd()}\n`);
      },
    });
    return { nlc, llama, entry, variant };
  })();
  llamaPromise = p;
  // A failed load is not cached: the next call retries (and throws the same clear message).
  p.catch(() => { if (llamaPromise === p) llamaPromise = undefined; });
  return p;
}

/** The loaded model for `modelPath`, reloaded when the file's size or mtime changed. */
async function getModel(modelPath: string): Promise<NlcModel> {
  const path = resolve(modelPath);
  const st = statSync(path); // throws ENOENT with the path when the file is missing
  const stamp = `${st.size}:${st.mtimeMs}`;
  const cached = models.get(path);
  if (cached && cached.stamp === stamp) return cached.model;
  if (cached) {
    models.delete(path);
    void cached.model.then((m) => m.dispose(), () => {});
  }
  const { llama } = await getLlamaRef();
  const model = llama.loadModel({ modelPath: path, gpuLayers: 0, defaultContextFlashAttention: false });
  models.set(path, { stamp, model });
  model.catch(() => { if (models.get(path)?.model === model) models.delete(path); });
  return model;
}

/** Which node-llama-cpp and llama.cpp run, from where, on which CPU backend. */
export async function llamaRefInfo(): Promise<LlamaRefInfo> {
  const { llama, entry, variant } = await getLlamaRef();
  return {
    nodeLlamaCpp: NODE_LLAMA_CPP_VERSION,
    llamaCppRelease: llama.llamaCppRelease.release,
    entry,
    systemInfo: llama.systemInfo,
    cpuVariant: variant.name,
  };
}

/** BOS/EOS ids and flags, vocabulary size and training context of a GGUF, as llama.cpp reads them. */
export async function llamaModelInfo(modelPath: string): Promise<LlamaModelInfo> {
  const model = await getModel(modelPath);
  return {
    bos: model.tokens.bos,
    eos: model.tokens.eos,
    addBos: model.tokens.shouldPrependBosToken,
    addEos: model.tokens.shouldAppendEosToken,
    vocabSize: model.fileInfo.metadata.tokenizer?.ggml?.tokens?.length ?? 0,
    trainContextSize: model.trainContextSize,
  };
}

/**
 * Tokenizes each text exactly as llama.cpp's llama_tokenize(add_special = false,
 * parse_special = false) does: text that spells a special token ("<s>") is plain text, and
 * an SPM vocabulary's space prefix (tokenizer.ggml.add_space_prefix) is applied.
 * `addBos: true` prepends the vocabulary's BOS id (throws if it has none) — what
 * llama_tokenize(add_special = true) does for a vocabulary with add_bos_token set and
 * add_eos_token unset (the repo model). Default false. An empty text gives [] (or [BOS]).
 */
export async function llamaTokenize(modelPath: string, texts: string[], options: { addBos?: boolean } = {}): Promise<number[][]> {
  const model = await getModel(modelPath);
  const bos = model.tokens.bos;
  if (options.addBos && bos == null) throw new Error(`llamaTokenize: ${modelPath} has no BOS token`);
  return texts.map((text) => {
    const ids = Array.from(model.tokenize(text, false));
    return options.addBos ? [bos as number, ...ids] : ids;
  });
}

/**
 * Text of `tokens` as llama.cpp's llama_detokenize(remove_special = false, unparse_special =
 * `specialTokens`) gives it: control tokens (BOS, EOS) render as nothing unless
 * `specialTokens`, and an SPM vocabulary's leading space is removed from the first token.
 */
export async function llamaDetokenize(modelPath: string, tokens: number[], options: { specialTokens?: boolean } = {}): Promise<string> {
  const model = await getModel(modelPath);
  return model.detokenize(tokens, options.specialTokens ?? false);
}

/** Runs `fn` with a fresh context and sequence of `model`, disposing the context afterwards. */
async function withSequence<T>(model: NlcModel, opts: LlamaRefContextOptions, fn: (seq: NlcSequence, facts: LlamaRefContextFacts) => Promise<T>): Promise<T> {
  const contextSize = opts.contextSize ?? model.trainContextSize;
  const ctx = await model.createContext({
    contextSize,
    batchSize: opts.batchSize ?? contextSize,
    sequences: 1,
    threads: opts.threads ?? 1,
    flashAttention: opts.flashAttention ?? false,
    failedCreationRemedy: false,
  });
  try {
    const facts: LlamaRefContextFacts = {
      contextSize: ctx.contextSize,
      batchSize: ctx.batchSize,
      threads: ctx.currentThreads,
      flashAttention: ctx.flashAttention,
      kvCacheKeyType: ctx.kvCacheKeyType,
      kvCacheValueType: ctx.kvCacheValueType,
    };
    return await fn(ctx.getSequence(), facts);
  } finally {
    await ctx.dispose();
  }
}

function checkTokens(name: string, tokens: number[], room: number, contextSize: number) {
  if (tokens.length === 0) throw new Error(`${name}: the prompt is empty (give at least BOS)`);
  if (tokens.some((t) => !Number.isInteger(t) || t < 0)) throw new Error(`${name}: prompt tokens must be non-negative integers`);
  // Past the context node-llama-cpp would shift it (drop the oldest tokens), which no reference should do silently.
  if (tokens.length + room > contextSize) {
    throw new Error(`${name}: ${tokens.length} prompt tokens + ${room} more do not fit the ${contextSize}-token context (pass a larger contextSize)`);
  }
}

/**
 * Greedy decoding as llama.cpp does it with temperature 0: the prompt is evaluated in one
 * batch, then one token per decode, each the argmax of the raw logits (no repetition
 * penalty, top-k, top-p or temperature). Returns the generated tokens with the
 * top `topLogits` logits at every step (to explain a divergence) and whether an EOS stopped it.
 */
export async function llamaGreedyDetailed(modelPath: string, promptTokens: number[], nTokens: number, options: LlamaGreedyOptions = {}): Promise<LlamaGreedyResult> {
  if (!Number.isInteger(nTokens) || nTokens < 0) throw new Error(`llamaGreedy: nTokens must be a non-negative integer, got ${nTokens}`);
  const model = await getModel(modelPath);
  const topLogits = Math.max(2, options.topLogits ?? 2);
  const stopAtEos = options.stopAtEos ?? true;
  return withSequence(model, options, async (seq, context) => {
    checkTokens('llamaGreedy', promptTokens, Math.max(0, nTokens - 1), context.contextSize);
    const steps: LlamaGreedyStep[] = [];
    const tokens: number[] = [];
    let stoppedAtEos = false;
    let input: number[] = promptTokens;
    const generateNext = { token: true, options: { temperature: 0 }, logits: { filter: { tokens: [], includeTop: topLogits } } };
    for (let i = 0; i < nTokens; i++) {
      const items: NlcInput[] = input.map((t, j) => (j === input.length - 1 ? [t, { generateNext }] : t));
      const out = (await seq.controlledEvaluate(items))[items.length - 1]?.next;
      if (out?.token == null || !out.logits) throw new Error(`llamaGreedy: llama.cpp returned no token at step ${i}`);
      const top = [...out.logits.entries()].sort((a, b) => b[1] - a[1]).slice(0, topLogits);
      steps.push({ token: out.token, top, margin: top.length > 1 ? top[0][1] - top[1][1] : Infinity });
      tokens.push(out.token);
      if (stopAtEos && model.isEogToken(out.token)) {
        stoppedAtEos = true;
        break;
      }
      input = [out.token];
    }
    return { prompt: [...promptTokens], tokens, steps, stoppedAtEos, context };
  });
}

/** The generated tokens of {@link llamaGreedyDetailed} (an EOS, if one stopped it, is the last). */
export async function llamaGreedy(modelPath: string, promptTokens: number[], nTokens: number, options: LlamaGreedyOptions = {}): Promise<number[]> {
  return (await llamaGreedyDetailed(modelPath, promptTokens, nTokens, options)).tokens;
}

/**
 * The raw logits llama.cpp computes for the token after `tokens` (all evaluated in one
 * batch, fresh context): index i is token i's logit. For comparing kpc's forward pass
 * number by number rather than by argmax.
 */
export async function llamaNextLogits(modelPath: string, tokens: number[], options: LlamaRefContextOptions = {}): Promise<Float32Array> {
  const model = await getModel(modelPath);
  const info = await llamaModelInfo(modelPath);
  return withSequence(model, options, async (seq, context) => {
    checkTokens('llamaNextLogits', tokens, 0, context.contextSize);
    const items: NlcInput[] = tokens.map((t, j) => (j === tokens.length - 1 ? [t, { generateNext: { logits: true } }] : t));
    const logits = (await seq.controlledEvaluate(items))[items.length - 1]?.next.logits;
    if (!logits) throw new Error('llamaNextLogits: llama.cpp returned no logits');
    const out = new Float32Array(info.vocabSize || logits.size);
    for (const [t, v] of logits) out[t] = v;
    return out;
  });
}

/** Disposes every cached model and the llama.cpp binding (call it from an `after()` hook). */
export async function disposeLlamaRef(): Promise<void> {
  const pending = [...models.values()];
  models.clear();
  for (const { model } of pending) await model.then((m) => m.dispose(), () => {});
  const p = llamaPromise;
  llamaPromise = undefined;
  if (p) await p.then(({ llama }) => llama.dispose(), () => {});
}
