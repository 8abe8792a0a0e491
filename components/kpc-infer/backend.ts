/**
 * Where `<kpc-infer>` gets its tokens from: an {@link InferenceBackend}. The default
 * is {@link LocalInferenceBackend} (the whole model in this tab, `LocalModel`); a
 * `<kpc-cluster>` may offer one that pipelines the model's blocks over the mesh
 * (`ClusterContext.inference`), and the element's `backend` property takes any other.
 */
import { LocalModel, type LoadOptions } from '../../src/infer/generate.js';
import type { ModelPresetName } from '../../src/infer/model-spec.js';

/** A range of blocks and who ran it. */
export interface RouteSegment {
  /** Blocks `[from, to)`, as in `Transformer.runLayers(from, to)`: `[0, 2)` is blocks 0 and 1. */
  readonly segment: readonly [number, number];
  /** Who computed them: node ids (hex), or {@link THIS_TAB} for this page without a node. */
  readonly nodes: readonly string[];
}

/** One streamed token, as a backend yields it and `kpc-token` carries it. */
export interface InferenceToken {
  /** Token id: a byte (0–255), or EOS (257) as the last item when generation stops on it. */
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
  /** Model preset name (`kpc-tiny`, `kpc-small`). */
  readonly model: string;
  /** Most tokens to produce (EOS included). */
  readonly maxTokens: number;
  /** 0: argmax; > 0: sample from softmax(logits / temperature). */
  readonly temperature: number;
  /** uint32 seed of the sampler. */
  readonly seed: number;
  /** Aborted by `stop()`: end the stream (throwing KpcError `INFER_ABORTED` or ending quietly, either counts as a stop). */
  readonly signal: AbortSignal;
}

/**
 * A source of tokens. `generate` streams the continuation of `prompt`; errors
 * (KpcError `INFER_*` for the local model) are thrown from the iteration.
 */
export interface InferenceBackend {
  generate(prompt: string, opts: InferenceOptions): AsyncIterable<InferenceToken>;
}

/** The node name the local backend puts in its routes: this page, no π-node involved. */
export const THIS_TAB = 'this tab';

/**
 * The whole model in this tab: `LocalModel.load(model)` once per model name (the
 * loaded model and its regenerated weights stay cached until {@link forget}), then
 * `LocalModel.generate`. Every token's route is `[{ segment: [0, layers], nodes: [THIS_TAB] }]`.
 */
export class LocalInferenceBackend implements InferenceBackend {
  readonly #models = new Map<string, Promise<LocalModel>>();
  readonly #loadOptions: LoadOptions;

  /** `loadOptions` go to every `LocalModel.load` (e.g. `cacheBytes`, `warm`). */
  constructor(loadOptions: LoadOptions = {}) {
    this.#loadOptions = loadOptions;
  }

  /** The loaded model of that preset name (loaded on first use; a failed load is not cached). */
  model(name: string): Promise<LocalModel> {
    let loading = this.#models.get(name);
    if (!loading) {
      loading = LocalModel.load(name as ModelPresetName, this.#loadOptions);
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
    const model = await this.model(opts.model);
    const route: readonly RouteSegment[] = Object.freeze([Object.freeze({ segment: Object.freeze([0, model.spec.layers] as const), nodes: Object.freeze([THIS_TAB]) })]);
    const { maxTokens, temperature, seed, signal } = opts;
    for await (const item of model.generate(prompt, { maxTokens, temperature, seed, signal })) yield { ...item, route };
  }
}

/** The backend `<kpc-infer>` uses when neither its `backend` property nor its cluster gives one: shared by every element of the page. */
export const localInferenceBackend: LocalInferenceBackend = new LocalInferenceBackend();

/**
 * The cluster's backend, offered by `<kpc-cluster>`: the model's blocks are spread
 * over the READY nodes of the cluster by one of this page's READY π-nodes
 * (`PiNode.generate`). With no READY node on the page it runs locally instead.
 */
export class RegistryInferenceBackend implements InferenceBackend {
  constructor(private readonly registry: import('../../src/cluster.js').ClusterRegistry) {}

  generate(prompt: string, opts: InferenceOptions): AsyncIterable<InferenceToken> {
    const ready = this.registry.nodes.filter((n) => n.state === 'READY');
    // The best-connected node reaches the most layer holders directly.
    const node = ready.sort((a, b) => b.peers.length - a.peers.length)[0];
    if (!node) return localInferenceBackend.generate(prompt, opts);
    return node.generate(prompt, { ...opts, model: opts.model as ModelPresetName });
  }
}
