/**
 * Hosted models on a PiNode: the node's memory budget announced in the cluster state,
 * the cluster's agreement on a model (a `model-ref` decision), and each node loading
 * its share of the agreed model — the blocks capacity assignment gives it — with
 * progress reported per node and summed for the cluster.
 *
 * Keys in the replicated state:
 * - `cluster/capacity/<nodeId>` → `{budget}`: bytes of weights the node may hold;
 * - `cluster/hosted-model` → the agreed {@link ModelRef} plus `replicas`;
 * - `cluster/load/<modelId>/<nodeId>` → `{loadedBytes, totalBytes, blocks}` (written at the
 *   start, at each quarter and at the end of a node's load: enough for a progress bar,
 *   few enough writes for the CRDT).
 */
import type { Decision } from './consensus/index.js';
import { KpcError } from './errors.js';
import type { ClusterInference } from './infer/cluster/index.js';
import { DEFAULT_MODEL_BUDGET } from './infer/cluster/types.js';
import { HostedModel, type HostedModelOptions, type HostedProgress } from './model/hosted/hosted-model.js';
import { checkModelRef, type ModelRef } from './model/hosted/model-ref.js';
import { sharedTensorStore } from './model/hosted/open-store.js';
import type { TensorStore } from './model/hosted/tensor-store.js';
import type { JsonValue } from './protocol/index.js';
import type { Replica } from './sync/index.js';

/** Key prefix of announced budgets. */
export const CAPACITY_PREFIX = 'cluster/capacity/';
/** Key of the agreed hosted model. */
export const HOSTED_MODEL_KEY = 'cluster/hosted-model';
/** Key prefix of per-node load progress. */
export const LOAD_PREFIX = 'cluster/load/';
/** Most replicas a model reference may ask for. */
export const MAX_REPLICAS = 16;

/** An agreed model: its reference and how many nodes hold each block. */
export interface HostedModelDecision extends ModelRef {
  readonly replicas: number;
}

/** Detail of a `model-progress` event of a PiNode. */
export interface ModelProgressDetail extends HostedProgress {
  /** This node. */
  readonly nodeId: string;
  /** Summed over the nodes that reported (this one included). */
  readonly cluster: { readonly loadedBytes: number; readonly totalBytes: number; readonly nodes: number };
}

/** Options of {@link NodeModels.use} (and `PiNode.useModel`). */
export interface UseModelOptions {
  /** The manifest's URL, or `false` for none (default: beside the GGUF, by convention). */
  manifest?: string | false;
  /** Nodes holding each block (default 1): more means failover without a download. */
  replicas?: number;
}

/**
 * A default budget from the device: a quarter of `navigator.deviceMemory` (which
 * browsers report rounded and capped at 8 GiB), at least 256 MiB; 1 GiB where unknown.
 */
export function defaultModelBudget(): number {
  const gib = (globalThis.navigator as { deviceMemory?: number } | undefined)?.deviceMemory;
  if (typeof gib !== 'number' || !(gib > 0)) return DEFAULT_MODEL_BUDGET;
  return Math.max(256 * 1024 * 1024, Math.floor((gib * 1024 * 1024 * 1024) / 4));
}

/** Checks a `model-ref` decision's payload. @throws KpcError `MODEL_BAD_MANIFEST`, `CONSENSUS_REJECTED` */
export function checkHostedModelDecision(payload: unknown): HostedModelDecision {
  const ref = checkModelRef(payload);
  const replicas = (payload as { replicas?: unknown }).replicas ?? 1;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
    throw new KpcError('CONSENSUS_REJECTED', `replicas must be an integer in [1, ${MAX_REPLICAS}]`);
  }
  return { ...ref, replicas };
}

/** What {@link NodeModels} needs of its PiNode (a network that may be replaced by a hard reset). */
export interface NodeModelsHost {
  nodeId(): string;
  replica(): Replica | null;
  inference(): ClusterInference | null;
  propose(kind: string, payload: JsonValue): Promise<Decision>;
  emit(type: string, detail: unknown): void;
}

/** The hosted models of one node (see the module comment). */
export class NodeModels {
  /** Bytes of weights this node announces it may hold. */
  readonly budget: number;
  readonly #host: NodeModelsHost;
  readonly #fetch?: typeof fetch;
  /** The given store; else the page's, opened on first use (a node that never runs a hosted model opens no storage). */
  readonly #store: TensorStore | undefined;
  readonly #models = new Map<string, Promise<HostedModel>>();
  readonly #replicas = new Map<string, number>();
  readonly #reported = new Map<string, number>();
  readonly #wired = new WeakSet<HostedModel>();

  constructor(host: NodeModelsHost, opts: { budget?: number; store?: TensorStore; fetch?: typeof fetch }) {
    this.#host = host;
    this.budget = opts.budget ?? defaultModelBudget();
    this.#fetch = opts.fetch;
    this.#store = opts.store;
  }

  /** Writes this node's budget into the cluster state (when it changed). */
  async announceBudget(): Promise<void> {
    const replica = this.#host.replica();
    const key = CAPACITY_PREFIX + this.#host.nodeId();
    const known = replica?.get(key)?.value as { budget?: number } | undefined;
    if (replica && known?.budget !== this.budget) await replica.put(key, { budget: this.budget });
  }

  /**
   * Adopts the model the cluster agreed on before this node joined (or restarted): the
   * decision is in the replicated state it synced. Nothing when there is none, or it is
   * already open here.
   */
  adoptAgreed(): void {
    const value = this.#host.replica()?.get(HOSTED_MODEL_KEY)?.value;
    if (value === undefined) return;
    let d: HostedModelDecision;
    try {
      d = checkHostedModelDecision(value);
    } catch (error) {
      this.#host.emit('model-error', { modelId: undefined, error });
      return;
    }
    const opened = this.#models.get(d.modelId);
    // Already open: a hard reset may have replaced the inference layer, so serve it there again.
    if (opened) this.#host.inference()?.serve(opened, d.modelId);
    else this.adopt(d);
  }

  /** A peer's announced budget, if it announced one (checked: a bad value counts as none). */
  budgetOf(nodeId: string): number | undefined {
    const v = this.#host.replica()?.get(CAPACITY_PREFIX + nodeId)?.value as { budget?: unknown } | undefined;
    return typeof v?.budget === 'number' && Number.isSafeInteger(v.budget) && v.budget >= 0 ? v.budget : undefined;
  }

  /** Replicas agreed for a model (1 when none was). */
  replicasOf(modelId: string): number {
    return this.#replicas.get(modelId) ?? 1;
  }

  /** The model opened on this node under that id, if any. */
  opened(modelId: string): Promise<HostedModel> | undefined {
    return this.#models.get(modelId);
  }

  /**
   * Opens a hosted model here (refusing what kpc cannot run before any tensor is
   * downloaded), then has the cluster agree on it; every node then loads its share.
   * Resolves with this node's HostedModel once the decision is committed.
   */
  async use(model: string | ModelRef, opts: UseModelOptions = {}): Promise<HostedModel> {
    const replicas = opts.replicas ?? 1;
    const hosted = await HostedModel.open(model, { ...(await this.#options()), ...(opts.manifest !== undefined ? { manifest: opts.manifest } : {}) });
    this.#models.set(hosted.modelId, Promise.resolve(hosted));
    const decision = await this.#host.propose('model-ref', { ...hosted.ref, replicas } as unknown as JsonValue);
    if (decision.status !== 'executed') {
      throw new KpcError('CONSENSUS_REJECTED', `the cluster did not agree on the model (${decision.status})`, { status: decision.status });
    }
    return hosted;
  }

  /**
   * A committed `model-ref` decision: open the model (or reuse it), serve it, and fetch
   * this node's share in the background. Failures are reported as `model-error`.
   */
  adopt(d: HostedModelDecision): void {
    this.#replicas.set(d.modelId, d.replicas);
    let opening = this.#models.get(d.modelId);
    if (!opening) {
      opening = this.#options().then((o) => HostedModel.open(d, o));
      this.#models.set(d.modelId, opening);
      opening.catch(() => this.#models.delete(d.modelId));
    }
    // Requests may arrive before the header is read: they wait for it rather than fail.
    this.#host.inference()?.serve(opening, d.modelId);
    void opening.then((m) => this.#load(m, d.replicas)).catch((error: unknown) => this.#host.emit('model-error', { modelId: d.modelId, error }));
  }

  async #options(): Promise<Pick<HostedModelOptions, 'fetch' | 'store'>> {
    return { fetch: this.#fetch, store: this.#store ?? (await sharedTensorStore()) };
  }

  async #load(model: HostedModel, replicas: number): Promise<void> {
    const inference = this.#host.inference();
    if (!inference) return;
    inference.serve(model);
    if (!this.#wired.has(model)) {
      this.#wired.add(model);
      model.addEventListener('progress', (ev) => this.#progress((ev as CustomEvent<HostedProgress>).detail));
      for (const type of ['loader', 'storage']) model.addEventListener(type, (ev) => this.#host.emit(`model-${type}`, (ev as CustomEvent).detail));
    }
    const me = this.#host.nodeId();
    const layers = model.config.layers;
    const share = inference.assignHosted(model, replicas, replicas, this.budget).filter((s) => s.holders.includes(me));
    await Promise.all(share.map((s) => model.ensure(s.from, s.to, { embed: s.from === 0, head: s.to === layers })));
    if (share.length === 0) this.#progress(model.progress);
  }

  #progress(p: HostedProgress): void {
    const me = this.#host.nodeId();
    const replica = this.#host.replica();
    const key = `${LOAD_PREFIX}${p.modelId}/${me}`;
    const quarter = p.totalBytes === 0 ? 4 : Math.floor((4 * p.loadedBytes) / p.totalBytes);
    if (replica && this.#reported.get(key) !== quarter) {
      this.#reported.set(key, quarter);
      const blocks = p.blocks.map(([f, t]) => [f, t]);
      void replica.put(key, { loadedBytes: p.loadedBytes, totalBytes: p.totalBytes, blocks }).catch(() => undefined);
    }
    this.#host.emit('model-progress', { ...p, nodeId: me, cluster: this.clusterProgress(p.modelId, p) } satisfies ModelProgressDetail);
  }

  /** The agreed hosted model's id, if the cluster agreed on one. */
  agreedModelId(): string | undefined {
    const v = this.#host.replica()?.get(HOSTED_MODEL_KEY)?.value as { modelId?: unknown } | undefined;
    return typeof v?.modelId === 'string' ? v.modelId : undefined;
  }

  /** Blocks each node reported holding of a model (from the cluster state; malformed reports skipped). */
  holdings(modelId: string): Map<string, Array<[number, number]>> {
    const out = new Map<string, Array<[number, number]>>();
    const prefix = `${LOAD_PREFIX}${modelId}/`;
    for (const e of this.#host.replica()?.entries(prefix) ?? []) {
      const blocks = (e.value as { blocks?: unknown })?.blocks;
      if (!Array.isArray(blocks)) continue;
      const ok = blocks.filter((b): b is [number, number] => Array.isArray(b) && b.length === 2 && Number.isInteger(b[0]) && Number.isInteger(b[1]) && b[0] < b[1]);
      out.set(e.key.slice(prefix.length), ok);
    }
    return out;
  }

  /** Bytes loaded and to load over the nodes that reported for a model (this node's live figures included). */
  clusterProgress(modelId: string, mine?: HostedProgress): ModelProgressDetail['cluster'] {
    const me = this.#host.nodeId();
    let loadedBytes = mine?.loadedBytes ?? 0;
    let totalBytes = mine?.totalBytes ?? 0;
    let nodes = mine ? 1 : 0;
    for (const e of this.#host.replica()?.entries(`${LOAD_PREFIX}${modelId}/`) ?? []) {
      if (mine && e.key.endsWith(`/${me}`)) continue;
      const v = e.value as { loadedBytes?: unknown; totalBytes?: unknown };
      if (typeof v?.loadedBytes !== 'number' || typeof v.totalBytes !== 'number') continue;
      loadedBytes += v.loadedBytes;
      totalBytes += v.totalBytes;
      nodes++;
    }
    return { loadedBytes, totalBytes, nodes };
  }
}
