/**
 * Where `<kpc-infer>` gets its tokens from: an {@link InferenceBackend}. The default
 * is {@link LocalInferenceBackend} (the whole model in this tab, `LocalModel`); a
 * `<kpc-cluster>` may offer one that pipelines the model's blocks over the mesh
 * (`ClusterContext.inference`), and the element's `backend` property takes any other.
 */
import { LocalModel, type LoadOptions, type ModelInfo } from '../../src/infer/generate.js';
import { MODEL_PRESETS, type ModelPresetName } from '../../src/infer/model-spec.js';
import { loadGgufModel, type ModelLoadProgress } from '../../src/model/load.js';
import { parseModelRef } from '../../src/model/repo-models.js';
import { KpcError } from '../../src/errors.js';
import type { HostedModel } from '../../src/model/hosted/hosted-model.js';
import type { PiNode } from '../../src/node.js';

/** True when `model` names a procedural preset (`kpc-tiny`, `kpc-small`): weights regenerated, untrained. */
export function isProceduralModel(model: string): model is ModelPresetName {
  return Object.hasOwn(MODEL_PRESETS, model);
}

/**
 * Where a model name points ({@link parseModelRef}): a procedural preset stays a name;
 * the repo model becomes its file under `base`; a GGUF URL or path is resolved against
 * the page.
 * @throws KpcError `INFER_BAD_SPEC` for a bare name that is none of these
 */
export function resolveModelRef(model: string, base: string | URL): { kind: 'procedural'; name: ModelPresetName } | { kind: 'gguf'; url: string } {
  const ref = parseModelRef(model);
  if (ref.kind === 'procedural') return ref;
  if (ref.kind === 'repo') return { kind: 'gguf', url: new URL(ref.path, base).href };
  return { kind: 'gguf', url: new URL(ref.location, typeof document !== 'undefined' ? document.baseURI : undefined).href };
}

/** A range of blocks and who ran it. */
export interface RouteSegment {
  /** Blocks `[from, to)`, as in `Transformer.runLayers(from, to)`: `[0, 2)` is blocks 0 and 1. */
  readonly segment: readonly [number, number];
  /** Who computed them: node ids (hex), or {@link THIS_TAB} for this page without a node. */
  readonly nodes: readonly string[];
}

/** One streamed token, as a backend yields it and `kpc-token` carries it. */
export interface InferenceToken {
  /** Token id (for procedural models a byte 0–255); a stop token (EOS) comes last when generation ends on it. */
  readonly token: number;
  /** Text completed by this token ('' while a UTF-8 character is incomplete). Joining every `text` gives the output. */
  readonly text: string;
  /** 0-based position in the output. */
  readonly index: number;
  /** Milliseconds spent producing it (index 0 includes the prompt and any weight regeneration). */
  readonly ms: number;
  /** Which blocks ran where for this token, when the backend knows. */
  readonly route?: readonly RouteSegment[];
}

/** What `<kpc-infer>` passes to {@link InferenceBackend.generate}. */
export interface InferenceOptions {
  /** A procedural preset (`kpc-tiny`, `kpc-small`), the repo model (`kjv-llama-3m[:type]`), or a GGUF URL. */
  readonly model: string;
  /** Most tokens to produce (EOS included). */
  readonly maxTokens: number;
  /** 0: argmax; > 0: sample from softmax(logits / temperature). */
  readonly temperature: number;
  /** uint32 seed of the sampler. */
  readonly seed: number;
  /** Aborted by `stop()`: end the stream (throwing KpcError `INFER_ABORTED` or ending quietly, either counts as a stop). */
  readonly signal: AbortSignal;
  /** Reports the download of a GGUF model's tensors, when this run loads one. */
  readonly onLoadProgress?: (progress: ModelLoadProgress) => void;
  /** A GGUF model's manifest URL (default: beside the file, by convention). */
  readonly manifest?: string;
  /** In a cluster: nodes holding each block of a GGUF model (default 1). */
  readonly replicas?: number;
  /** The prompt was formatted by the model's chat template ({@link InferenceBackend.chatFormat}). */
  readonly chat?: boolean;
  /** Told whether a hosted model's tensors are checked against a manifest, once that is known. */
  readonly onVerified?: (verified: boolean) => void;
}

/** A model's chat template and the texts of its BOS/EOS. */
export type ChatFormat = NonNullable<ModelInfo['chat']>;

/**
 * A source of tokens. `generate` streams the continuation of `prompt`; errors
 * (KpcError `INFER_*` for the local model) are thrown from the iteration.
 */
export interface InferenceBackend {
  generate(prompt: string, opts: InferenceOptions): AsyncIterable<InferenceToken>;
  /**
   * The chat template of `model` (loading it if needed), or undefined when it has none;
   * `<kpc-infer chat>` formats its conversation with it. Optional: without it the
   * element runs plain completion.
   */
  chatFormat?(model: string, opts?: Pick<InferenceOptions, 'manifest' | 'replicas'>): Promise<ChatFormat | undefined>;
}

/** The node name the local backend puts in its routes: this page, no π-node involved. */
export const THIS_TAB = 'this tab';

/**
 * The whole model in this tab, loaded once per model name (kept until {@link forget}):
 * a procedural preset regenerated from its spec, or a GGUF model fetched by Range
 * requests (the repo model's files are found under {@link modelBase}). Every token's
 * route is `[{ segment: [0, layers], nodes: [THIS_TAB] }]`.
 */
export class LocalInferenceBackend implements InferenceBackend {
  /**
   * The package root the repo model's `models/…` files are fetched from. Default: two
   * folders above this module, which is the package root for the CDN bundle
   * (`dist/cdn/kpc.js`); set it when the files are hosted elsewhere.
   */
  modelBase: string | URL = new URL('../../', import.meta.url);
  readonly #models = new Map<string, Promise<LocalModel>>();
  readonly #loadOptions: LoadOptions;

  /** `loadOptions` go to every `LocalModel.load` of a procedural preset (e.g. `cacheBytes`, `warm`). */
  constructor(loadOptions: LoadOptions = {}) {
    this.#loadOptions = loadOptions;
  }

  /**
   * The loaded model of that name (loaded on first use; a failed load is not cached).
   * @param onProgress - told of a GGUF model's download, when this call starts it
   */
  model(name: string, onProgress?: (progress: ModelLoadProgress) => void): Promise<LocalModel> {
    let loading = this.#models.get(name);
    if (!loading) {
      let ref: ReturnType<typeof resolveModelRef>;
      try {
        ref = resolveModelRef(name, this.modelBase);
      } catch (err) {
        return Promise.reject(err);
      }
      loading = ref.kind === 'procedural'
        ? LocalModel.load(ref.name, this.#loadOptions)
        : loadGgufModel(ref.url, { onProgress, name }).then((m) => m.localModel());
      this.#models.set(name, loading);
      loading.catch(() => {
        if (this.#models.get(name) === loading) this.#models.delete(name);
      });
    }
    return loading;
  }

  /** Drops the cached model of `name`, or every cached model: their weights can be garbage-collected. */
  forget(name?: string): void {
    if (name === undefined) this.#models.clear();
    else this.#models.delete(name);
  }

  async *generate(prompt: string, opts: InferenceOptions): AsyncGenerator<InferenceToken, void, undefined> {
    const model = await this.model(opts.model, opts.onLoadProgress);
    const route: readonly RouteSegment[] = Object.freeze([Object.freeze({ segment: Object.freeze([0, model.spec.layers] as const), nodes: Object.freeze([THIS_TAB]) })]);
    const { maxTokens, temperature, seed, signal, chat } = opts;
    for await (const item of model.generate(prompt, { maxTokens, temperature, seed, signal, chat })) yield { ...item, route };
  }

  /** The model's chat template (procedural models and GGUF files without one: undefined). */
  async chatFormat(model: string): Promise<ChatFormat | undefined> {
    if (isProceduralModel(model)) return undefined;
    return (await this.model(model)).info.chat;
  }
}

/** The backend `<kpc-infer>` uses when neither its `backend` property nor its cluster gives one: shared by every element of the page. */
export const localInferenceBackend: LocalInferenceBackend = new LocalInferenceBackend();

/**
 * The cluster's backend, offered by `<kpc-cluster>`, run by this page's best-connected
 * READY π-node: a procedural model's blocks are spread over the READY nodes
 * (`PiNode.generate`); a GGUF model is agreed on by the cluster (`PiNode.useModel`,
 * once per model and page) and each node downloads only its blocks — the progress
 * reported is every node's share, summed. With no READY node on the page it runs in
 * this tab instead.
 */
export class RegistryInferenceBackend implements InferenceBackend {
  readonly #hosted = new Map<string, Promise<HostedModel>>();

  constructor(private readonly registry: import('../../src/cluster.js').ClusterRegistry) {}

  generate(prompt: string, opts: InferenceOptions): AsyncIterable<InferenceToken> {
    const node = this.#node();
    if (!node) return localInferenceBackend.generate(prompt, opts);
    if (isProceduralModel(opts.model)) return node.generate(prompt, { ...opts, model: opts.model as ModelPresetName });
    return this.#runHosted(node, prompt, opts);
  }

  /** The chat template of a model (a GGUF model is agreed on by the cluster first, as for a run). */
  async chatFormat(model: string, opts: Pick<InferenceOptions, 'manifest' | 'replicas'> = {}): Promise<ChatFormat | undefined> {
    const node = this.#node();
    if (!node) return localInferenceBackend.chatFormat(model);
    if (isProceduralModel(model)) return undefined;
    return (await this.#open(node, model, opts)).info.chat;
  }

  #node(): PiNode | undefined {
    // The best-connected node reaches the most layer holders directly.
    return this.registry.nodes.filter((n) => n.state === 'READY').sort((a, b) => b.peers.length - a.peers.length)[0];
  }

  /** The cluster's copy of a GGUF model, agreed once per URL, manifest and replicas. */
  #open(node: PiNode, model: string, opts: Pick<InferenceOptions, 'manifest' | 'replicas'>): Promise<HostedModel> {
    const ref = resolveModelRef(model, localInferenceBackend.modelBase);
    if (ref.kind !== 'gguf') return Promise.reject(new KpcError('INFER_BAD_SPEC', `${model} is not a GGUF model`));
    const key = `${ref.url}|${opts.manifest ?? ''}|${opts.replicas ?? 1}`;
    let opening = this.#hosted.get(key);
    if (!opening) {
      opening = node.useModel(ref.url, { ...(opts.manifest ? { manifest: opts.manifest } : {}), replicas: opts.replicas ?? 1 });
      this.#hosted.set(key, opening);
      opening.catch(() => this.#hosted.delete(key));
    }
    return opening;
  }

  async *#runHosted(node: PiNode, prompt: string, opts: InferenceOptions): AsyncGenerator<InferenceToken, void, undefined> {
    const model = await this.#open(node, opts.model, opts);
    opts.onVerified?.(model.verified);
    const report = (): void => {
      const p = node.modelProgress(model.modelId);
      opts.onLoadProgress?.({ loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, tensor: '' });
    };
    node.addEventListener('model-progress', report);
    report();
    try {
      const { maxTokens, temperature, seed, signal, chat } = opts;
      for await (const t of node.generate(prompt, { model, maxTokens, temperature, seed, signal, chat })) {
        node.removeEventListener('model-progress', report);
        yield t;
      }
    } finally {
      node.removeEventListener('model-progress', report);
    }
  }
}
