/**
 * Shapes of distributed inference: the narrow mesh interface it runs over, its options,
 * the streamed tokens and the events it reports.
 */
import type { KpcError } from '../../errors.js';
import type { Runtime } from '../../runtime.js';
import type { Transformer } from '../forward.js';
import type { GenerateOptions, LocalModel, TextCodec } from '../generate.js';
import type { ModelFootprint } from './capacity.js';
import type { ModelPresetName, ModelSpec } from '../model-spec.js';
import type { WeightCache } from '../weights.js';

/** A peer as the inference layer needs to see it. */
export interface InferencePeer {
  /** The peer's node id. */
  readonly nodeId: string;
  /** Its announced lifecycle state; only `'READY'` peers are given work. */
  readonly state: string;
  /** Bytes of model weights it announced it can hold (hosted models); unknown → the default. */
  readonly budget?: number;
}

/**
 * A model whose tensors a node fetches when it is asked for blocks it does not hold yet
 * (a hosted GGUF: `HostedModel` in src/model/hosted). Served by id like a registered
 * model; the first request for a block waits for its download.
 */
export interface SegmentProvider {
  /** The model id requests name. */
  readonly modelId: string;
  /** The forward pass over the tensors held (growing as they arrive). */
  readonly transformer: Transformer;
  /** Resolves once blocks [from, to), and the embedding / head when asked, are held. */
  ensure(from: number, to: number, parts: { embed?: boolean; head?: boolean }): Promise<void>;
}

/**
 * A model the cluster runs without the requester holding its weights: the first
 * segment's holders embed the tokens, the last segment's return the logits, and blocks
 * go to nodes by what they can hold (its `footprint`).
 */
export interface DistributedModel extends SegmentProvider {
  /** Its tokenizer. */
  readonly codec: TextCodec;
  /** Bytes per block, of the embedding and of the head. */
  readonly footprint: ModelFootprint;
}

/**
 * What {@link ClusterInference} needs from the mesh — kept this small so it runs over an
 * in-memory fake in Node tests and over the real `Mesh` with a few lines of wiring:
 * `send` = `mesh.sendMessage(n, {type: MessageType.INFER, body})`, `onFrame` = the
 * mesh's `protocol` events of type `MessageType.INFER`.
 */
export interface InferenceMesh {
  /** Peers with an open link now (their announced state included). */
  peers(): readonly InferencePeer[];
  /** Sends one INFER body to a peer; false when there is no open link. */
  send(nodeId: string, body: Uint8Array): boolean;
  /**
   * Calls `cb` for every INFER body received; `from` must already be authenticated (the
   * mesh's signed envelopes). Returns the function that stops it.
   */
  onFrame(cb: (from: string, body: Uint8Array) => void): () => void;
  /** Counts invalid input against a peer (the mesh bans repeat offenders). */
  penalize(nodeId: string, error: KpcError): void;
}

/** Options of the {@link ClusterInference} constructor. */
export interface ClusterInferenceOptions {
  /** This node's id (it serves and may hold segments itself). */
  nodeId: string;
  /** The mesh to run over. */
  mesh: InferenceMesh;
  /** Clock and timers; default the system's. */
  runtime?: Runtime;
  /** Regenerated tensors, shared by serving and requesting (default: a new 256 MiB cache). */
  cache?: WeightCache;
  /** A reply slower than this counts as lost, ms (one retry, then the node is replaced). Default 5000. */
  timeoutMs?: number;
  /**
   * For a hosted model, how long a node's first answer in a job may take, ms: it may be
   * downloading its blocks (a closed link is still noticed at once). Default 120 000.
   */
  loadTimeoutMs?: number;
  /** How often a pending request checks that its node is still linked, ms. Default 50. */
  livenessMs?: number;
  /** Largest INFER body sent; bigger messages are split into parts. Default 256 KiB minus the 116-byte envelope. */
  maxFrameBytes?: number;
  /** Bytes of KV caches this node keeps for others' jobs (least recently used dropped). Default 256 MiB. */
  maxKvBytes?: number;
  /** Largest model (weights) this node agrees to serve. Default 2^26. */
  maxModelParams?: number;
}

/** Options of {@link ClusterInference.generate}: LocalModel's, plus the model and the redundancy. */
export interface ClusterGenerateOptions extends GenerateOptions {
  /**
   * The model: a spec or a preset name (any string is accepted so `<kpc-infer>`'s
   * backend options fit; an unknown name is KpcError `INFER_BAD_SPEC`), or a loaded
   * model (e.g. a GGUF model's `localModel()`): the nodes that serve its blocks must have
   * loaded the same model and {@link ClusterInference.register}ed it, since only
   * procedural specs travel with requests.
   */
  model: ModelSpec | ModelPresetName | LocalModel | DistributedModel | (string & {});
  /**
   * For a {@link DistributedModel}: nodes holding each block (default: the redundancy).
   * Holders beyond the redundancy are hot standbys: a failed node's segment moves to
   * one of them without a download.
   */
  replicas?: number;
  /** For a {@link DistributedModel}: this node's budget, bytes (peers announce theirs). Default {@link DEFAULT_MODEL_BUDGET}. */
  budget?: number;
  /**
   * Nodes computing each segment (default 1). With r > 1 an output counts only when
   * {@link redundancyQuorum}(r) of them agree on its checksum.
   */
  redundancy?: number;
  /** Layer ranges to cut the model into (default min(members, layers)). */
  segments?: number;
}

/** Who computed one segment of one token. */
export interface RouteHop {
  /** The segment's layer range [from, to). */
  segment: [number, number];
  /** The nodes whose agreeing output was used (ranked order). */
  nodes: string[];
}

/** One generated token, as LocalModel streams it, plus its route. */
export interface ClusterToken {
  /** Token id (a byte 0–255, or EOS 257 as the last item). */
  token: number;
  /** Text completed by this token (see LocalModel). */
  text: string;
  /** 0-based position in the output. */
  index: number;
  /** Milliseconds spent producing it (index 0 includes the prompt). */
  ms: number;
  /** Per segment, the nodes whose output produced this token. */
  route: RouteHop[];
}

/** Bytes of weights a node holds for hosted models when it announced no budget: 1 GiB. */
export const DEFAULT_MODEL_BUDGET = 1024 * 1024 * 1024;

/** Detail of a `failover` event: a segment holder was replaced mid-generation. */
export interface FailoverDetail {
  /** Job id (hex). */
  job: string;
  /** The segment's layer range. */
  segment: [number, number];
  /** Index of the token being produced. */
  index: number;
  /** The node that failed. */
  failed: string;
  /** Why: `'closed'` (no link), `'timeout'`, `'error'` (it answered with an error). */
  reason: 'closed' | 'timeout' | 'error';
  /** The node that took its place, if any was left. */
  replacement: string | undefined;
  /** From sending the request to noticing the failure, ms. */
  detectMs: number;
  /** From noticing the failure to the segment's output being accepted (regeneration and replay included), ms. */
  pauseMs: number;
}

/** Detail of a `disagreement` event: a node's output lost the vote. */
export interface DisagreementDetail {
  /** Job id (hex). */
  job: string;
  /** The node whose output differed. */
  nodeId: string;
  /** The segment's layer range. */
  segment: [number, number];
  /** Index of the token being produced. */
  index: number;
  /** Its checksum, and the accepted one (hex SHA-256). */
  checksum: string;
  accepted: string;
}

/** Detail of a `reject` event: an invalid frame was dropped. */
export interface RejectDetail {
  /** The sender. */
  from: string;
  /** Why, typed. */
  error: KpcError;
}

/**
 * Agreeing votes needed among r: ⌈2r/3⌉ — "67 %" is two thirds rounded. (⌈0.67·r⌉ taken
 * literally would demand unanimity at r = 3, and a single faulty node could then stop
 * every generation instead of being outvoted.) r = 1 → 1, 2 → 2, 3 → 2, 4 → 3, 5 → 4.
 */
export function redundancyQuorum(r: number): number {
  return Math.ceil((2 * r) / 3);
}

/** Counters of INFER traffic of one node (bodies only; the envelope adds 116 bytes per frame). */
export interface InferTrafficStats {
  framesSent: number;
  bytesSent: number;
  framesReceived: number;
  bytesReceived: number;
}
