/**
 * ClusterInference: distributed, verified inference over the mesh — a layer above it,
 * like the CRDT's gossip layer. Every node serves (answers INFER requests for any
 * segment of any model it is asked for, within its limits); any node can request
 * (`generate`), and gets exactly the tokens `LocalModel.generate` would give.
 *
 * Events (all `CustomEvent`): `failover` ({@link FailoverDetail}), `disagreement`
 * ({@link DisagreementDetail}), `reject` ({@link RejectDetail}: a dropped invalid frame).
 */
import { KpcError, isKpcError } from '../../errors.js';
import { ENVELOPE_MIN_BYTES } from '../../protocol/envelope.js';
import { canonicalJsonBytes } from '../../protocol/canonical-json.js';
import { randomHex64, systemRuntime, type Runtime } from '../../runtime.js';
import { modelSpecId, normalizeModelSpec, resolveModelSpec } from '../model-spec.js';
import { BYTE_CODEC, LocalModel, checkGenerateOptions, encodePrompt, type TextCodec } from '../generate.js';
import type { Transformer } from '../forward.js';
import { mulberry32, sampleNext } from '../sampler.js';
import type { ModelDims } from '../transformer-weights.js';
import { WeightCache } from '../weights.js';
import { assignSegments, type SegmentAssignment } from './assignment.js';
import { assignByCapacity } from './capacity.js';
import { bytesToFloats, decodeFrame, encodeFrame, floatsToBytes, payloadChecksum, type InferFrame, type RequestFrame, type ResultFrame, type SampleParams } from './frames.js';
import { Reassembler, splitFrame } from './parts.js';
import { CHUNK_ROWS, InferenceJob, type JobRequest, type JobTransport, type Outcome } from './job.js';
import { SegmentServer } from './server.js';
import { DEFAULT_MODEL_BUDGET } from './types.js';
import type { ClusterGenerateOptions, ClusterInferenceOptions, ClusterToken, DisagreementDetail, DistributedModel, FailoverDetail, InferTrafficStats, InferenceMesh, SegmentProvider } from './types.js';

/** Default largest INFER body: a 256 KiB data-channel message minus the signed envelope around it. */
export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 - ENVELOPE_MIN_BYTES;

/** Requests given up on, remembered so their late answers are not taken for forgeries. */
const MAX_ABANDONED = 256;

interface Pending {
  node: string;
  req: RequestFrame;
  /** Payload bytes the answer must have. */
  expect: number;
  finish: (o: Outcome) => void;
}

/** True for a model the requester does not hold whole (a hosted GGUF). */
export function isDistributedModel(m: unknown): m is DistributedModel {
  return typeof m === 'object' && m !== null && 'footprint' in m && 'ensure' in m && 'codec' in m && 'transformer' in m;
}

/** Distributed inference of one node: serving for others, requesting for itself. */
export class ClusterInference extends EventTarget {
  /** This node's id. */
  readonly nodeId: string;
  readonly #mesh: InferenceMesh;
  readonly #rt: Runtime;
  readonly #timeoutMs: number;
  readonly #loadTimeoutMs: number;
  readonly #livenessMs: number;
  readonly #maxFrame: number;
  readonly #server: SegmentServer;
  readonly #parts: Reassembler;
  readonly #pending = new Map<number, Pending>();
  /** `node|model` pairs whose spec the node has acknowledged. */
  readonly #specSent = new Set<string>();
  /** Request id → node of requests given up on after a timeout (bounded). */
  readonly #abandoned = new Map<number, string>();
  readonly #stats: InferTrafficStats = { framesSent: 0, bytesSent: 0, framesReceived: 0, bytesReceived: 0 };
  readonly #unsubscribe: () => void;
  readonly #customRuntime: boolean;
  #nextId = 1;
  #closed = false;

  /** @param opts - this node's id, the mesh, and limits (see {@link ClusterInferenceOptions}) */
  constructor(opts: ClusterInferenceOptions) {
    super();
    this.nodeId = opts.nodeId;
    this.#mesh = opts.mesh;
    this.#rt = opts.runtime ?? systemRuntime;
    // The system runtime is not "custom": its setTimeout(0) is clamped to 4 ms in browsers, a MessageChannel is not.
    this.#customRuntime = opts.runtime !== undefined && opts.runtime !== systemRuntime;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
    this.#loadTimeoutMs = Math.max(this.#timeoutMs, opts.loadTimeoutMs ?? 120_000);
    this.#livenessMs = opts.livenessMs ?? 50;
    this.#maxFrame = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.#server = new SegmentServer({ cache: opts.cache ?? new WeightCache(), maxKvBytes: opts.maxKvBytes, maxModelParams: opts.maxModelParams });
    this.#parts = new Reassembler(() => this.#rt.now(), Math.max(30_000, this.#timeoutMs * 4));
    this.#unsubscribe = this.#mesh.onFrame((from, body) => this.#onFrame(from, body));
  }

  /** INFER traffic of this node so far (bodies; each frame also costs a 116-byte envelope). */
  get stats(): Readonly<InferTrafficStats> {
    return { ...this.#stats };
  }

  /** What this node holds for serving: models, KV caches and their bytes. */
  get serving(): { models: number; kvCaches: number; kvBytes: number } {
    return this.#server.stats;
  }

  /**
   * Serves a model this node loaded itself (a GGUF model's `localModel()`): requests from
   * other nodes naming its id are answered for the blocks it holds.
   */
  register(model: LocalModel): void {
    this.#server.register(model.transformer);
  }

  /**
   * Serves a hosted model (e.g. `HostedModel`): requests naming its id are answered for
   * any blocks, fetching those this node does not hold yet. Given a promise (a model
   * still opening) and its id, requests for it wait until it is open.
   */
  serve(provider: SegmentProvider | Promise<SegmentProvider>, modelId?: string): void {
    if (provider instanceof Promise) {
      if (modelId === undefined) throw new KpcError('INFER_BAD_INPUT', 'a provider still opening needs its model id');
      this.#server.registerPending(modelId, provider);
    } else this.#server.registerProvider(provider);
  }

  /** Stops listening; pending requests fail as if their links closed, and KV caches kept for others are dropped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const p of [...this.#pending.values()]) p.finish(this.#failed('closed', 'inference layer closed', 0));
  }

  /**
   * Streams the continuation of `prompt`, computed by the cluster: the READY members
   * (this node included) hold contiguous block ranges by rendezvous hashing, this node
   * embeds, pipelines activations through them and samples. Same spec, prompt and
   * options → exactly the tokens of `LocalModel.generate`, whoever computes.
   *
   * A holder that leaves or stops answering is replaced by the next node in rendezvous
   * order, which rebuilds its KV cache from the history (a `failover` event). With
   * `redundancy` r, each segment is computed by r nodes and an output counts when
   * ⌈2r/3⌉ agree on its checksum; others are reported (`disagreement`) and penalized.
   * @throws KpcError `INFER_BAD_SPEC`, `INFER_BAD_INPUT`, `INFER_CONTEXT_OVERFLOW`,
   *   `INFER_ABORTED`, `INFER_NO_QUORUM` (outputs disagree and no more nodes can decide,
   *   or fewer members than r), `INFER_UNAVAILABLE` (no node left for a segment)
   */
  generate(prompt: string, opts: ClusterGenerateOptions): AsyncIterable<ClusterToken> {
    return this.#run(prompt, opts);
  }

  async *#run(prompt: string, opts: ClusterGenerateOptions): AsyncGenerator<ClusterToken, void, undefined> {
    const { maxTokens, temperature, seed, stopAtEos, redundancy, replicas, topK, topP, repeatPenalty, repeatLastN } = checkOptions(opts);
    const { signal } = opts;
    const sampling = { temperature, topK, topP, repeatPenalty, repeatLastN };
    let spec: ModelDims;
    let modelId: string;
    let specBytes: Uint8Array | undefined;
    let codec: TextCodec;
    let tr: Transformer;
    let distributed: DistributedModel | undefined;
    if (isDistributedModel(opts.model)) {
      // A hosted model: the first segment embeds and the last computes logits; this node needs only the tokenizer.
      distributed = opts.model;
      ({ modelId, codec, transformer: tr } = distributed);
      spec = tr.spec;
      this.#server.registerProvider(distributed);
    } else if (opts.model instanceof LocalModel) {
      // A loaded model: only its id travels; serving nodes registered the same model.
      ({ spec, id: modelId, codec, transformer: tr } = opts.model);
      this.#server.register(tr);
    } else {
      const checked = resolveModelSpec(opts.model);
      spec = checked;
      modelId = modelSpecId(checked);
      specBytes = canonicalJsonBytes(normalizeModelSpec(checked));
      codec = BYTE_CODEC;
      tr = this.#server.transformer(checked, modelId);
    }
    const tokens = encodePrompt(codec, prompt, opts.chat);
    if (tokens.length > spec.contextLength) {
      throw new KpcError('INFER_CONTEXT_OVERFLOW', `the prompt is ${tokens.length} tokens (BOS included); the context holds ${spec.contextLength}`, {
        tokens: tokens.length, contextLength: spec.contextLength,
      });
    }
    aborted(signal);
    if (this.#closed) throw new KpcError('INFER_UNAVAILABLE', 'the inference layer is closed');
    if (maxTokens === 0) return;
    const ready = this.#mesh.peers().filter((p) => p.state === 'READY');
    const assignment = distributed
      ? this.assignHosted(distributed, redundancy, replicas ?? redundancy, opts.budget)
      : assignSegments(modelId, spec.layers, [this.nodeId, ...ready.map((p) => p.nodeId)], redundancy, opts.segments);
    const job = new InferenceJob({
      id: randomHex64(this.#rt) + randomHex64(this.#rt), modelId, specBytes,
      transformer: tr, assignment, redundancy, transport: this.#transport(signal), remote: distributed !== undefined,
    });
    const stops = new Set(codec.stopTokens);
    const banned = new Set(stopAtEos ? codec.neverSample : [...codec.neverSample, ...codec.stopTokens]);
    const rng = mulberry32(seed);
    const decoder = codec.createStreamDecoder();
    const history = tokens.slice();
    const dim = spec.dim;
    try {
      let t0 = this.#rt.now();
      // The prompt in chunks (any split gives the same bits), as LocalModel does.
      // A remote model's last segment samples: it gets this token's draw from our generator,
      // the recent tokens and the banned ids, and returns the token (LocalModel's token).
      const sampleParams = (): SampleParams | undefined => distributed && {
        ...sampling, u: temperature > 0 ? rng() : 0, banned: [...banned],
        history: repeatPenalty !== 1 && repeatLastN > 0 ? history.slice(-repeatLastN) : [],
      };
      let step!: { hidden: Float32Array; token?: number; route: ClusterToken['route'] };
      for (let start = 0; start < tokens.length; start += CHUNK_ROWS) {
        const chunk = tokens.slice(start, start + CHUNK_ROWS);
        step = await job.forward(chunk, start, start + CHUNK_ROWS >= tokens.length ? sampleParams() : undefined);
        aborted(signal);
      }
      let hidden = step.hidden.subarray(step.hidden.length - dim);
      let pos = tokens.length;
      for (let index = 0; ; index++) {
        const token = step.token ?? sampleNext(tr.logits(hidden), history, sampling, rng, banned);
        history.push(token);
        const route = step.route;
        if (stops.has(token)) {
          yield { token, text: decoder.flush(), index, ms: this.#rt.now() - t0, route };
          return;
        }
        const last = index + 1 === maxTokens || pos >= spec.contextLength;
        const text = decoder.push(token) + (last ? decoder.flush() : '');
        yield { token, text, index, ms: this.#rt.now() - t0, route };
        if (last) return;
        t0 = this.#rt.now();
        await nextMacrotask(this.#customRuntime ? this.#rt : undefined);
        aborted(signal);
        job.index = index + 1;
        step = await job.forward([token], pos, sampleParams());
        hidden = step.hidden;
        pos++;
      }
    } finally {
      this.#release(job);
    }
  }

  /**
   * Who holds what of a hosted model: blocks by capacity over the READY members (this
   * node included) and their announced budgets, `replicas` holders per segment, of
   * which the first `redundancy` compute and the rest stand by for failover.
   * @throws KpcError `MODEL_DOES_NOT_FIT` (saying how many bytes are missing), `INFER_NO_QUORUM`
   */
  assignHosted(model: DistributedModel, redundancy: number, replicas: number, budget = DEFAULT_MODEL_BUDGET): SegmentAssignment[] {
    if (replicas < redundancy) throw new KpcError('INFER_BAD_INPUT', `replicas (${replicas}) must be at least the redundancy (${redundancy})`, { field: 'replicas' });
    const nodes = [{ id: this.nodeId, budget }, ...this.#mesh.peers().filter((p) => p.state === 'READY').map((p) => ({ id: p.nodeId, budget: p.budget ?? DEFAULT_MODEL_BUDGET }))];
    return assignByCapacity(model.modelId, model.footprint, nodes, replicas).map((seg) => ({
      from: seg.from, to: seg.to, holders: seg.holders.slice(0, redundancy), ranking: seg.ranking,
    }));
  }

  /** Tells every node that worked on the job to drop its KV caches. */
  #release(job: InferenceJob): void {
    for (const node of job.used) {
      if (node === this.nodeId) this.#server.release(this.nodeId, job.id);
      else this.#send(node, encodeFrame({ kind: 'release', job: job.id }));
    }
  }

  #transport(signal: AbortSignal | undefined): JobTransport {
    return {
      self: this.nodeId,
      now: () => this.#rt.now(),
      available: (n) => n === this.nodeId || this.#mesh.peers().some((p) => p.nodeId === n && p.state === 'READY'),
      request: (n, job, req) => this.#request(n, job, req, signal),
      penalize: (n, err) => this.#mesh.penalize(n, err),
      failover: (d) => this.#emit<FailoverDetail>('failover', d),
      disagreement: (d) => this.#emit<DisagreementDetail>('disagreement', d),
    };
  }

  /**
   * One request to one node, with the spec attached when the node may not know the
   * model, one retry after a timeout (a lost frame is not a dead node), and a second
   * try with the spec when the node had forgotten it.
   */
  async #request(node: string, job: InferenceJob, r: JobRequest, signal: AbortSignal | undefined): Promise<Outcome> {
    const t0 = this.#rt.now();
    const key = `${node}|${job.modelId}`;
    const canSend = job.specBytes !== undefined;
    let withSpec = canSend && node !== this.nodeId && !this.#specSent.has(key);
    let retried = false;
    let unknownTries = 0;
    for (;;) {
      aborted(signal);
      const req: RequestFrame = {
        kind: 'request', job: job.id, requestId: this.#nextId++ >>> 0, modelId: job.modelId, from: r.from, to: r.to, pos: r.pos,
        rows: r.rows, lastRow: r.lastRow, spec: withSpec ? job.specBytes : undefined,
        ...(r.tokens ? { tokens: true } : {}), ...(r.sample ? { sample: r.sample } : {}),
        payload: r.tokens ? tokenBytes(r.payload) : floatsToBytes(r.payload),
      };
      const { dim } = job.spec;
      const expect = ((r.lastRow ? 1 : r.rows) * dim + (r.sample ? 1 : 0)) * 4;
      // A hosted model's holder may be downloading its blocks before its first answer: a dead
      // node is still caught at once (its link closes), a slow download is not a failure.
      const timeout = job.remote && !job.answered.has(node) ? this.#loadTimeoutMs : this.#timeoutMs;
      const o = node === this.nodeId ? await this.#local(req) : await this.#remote(node, req, expect, t0, signal, timeout);
      if (o.ok) job.answered.add(node);
      aborted(signal);
      if (o.ok) {
        if (withSpec) this.#specSent.add(key);
        return o;
      }
      if (o.error.code === 'INFER_UNKNOWN_MODEL' && canSend && !withSpec) {
        withSpec = true;
        continue;
      }
      if (o.error.code === 'INFER_UNKNOWN_MODEL' && job.remote && unknownTries++ < 20) {
        // The cluster's decision on a hosted model may reach that node a moment after our request.
        await new Promise<void>((resolve) => this.#rt.setTimeout(() => resolve(), 100));
        continue;
      }
      if (o.reason === 'timeout' && !retried) {
        retried = true;
        continue;
      }
      return o;
    }
  }

  /** This node's own segments: no frames, same server code. */
  async #local(req: RequestFrame): Promise<Outcome> {
    const { reply } = await this.#server.handle(this.nodeId, req);
    if (reply.kind === 'error') return { ok: false, reason: 'error', error: new KpcError(reply.code, reply.message, { have: reply.have }), have: reply.have, detectMs: 0 };
    return { ok: true, hidden: bytesToFloats(reply.payload), checksum: reply.checksum };
  }

  #remote(node: string, req: RequestFrame, expect: number, t0: number, signal: AbortSignal | undefined, timeoutMs: number): Promise<Outcome> {
    const elapsed = () => this.#rt.now() - t0;
    if (this.#closed || !this.#send(node, encodeFrame(req))) return Promise.resolve(this.#failed('closed', `no open link to ${node}`, elapsed()));
    return new Promise<Outcome>((resolve) => {
      const timer = this.#rt.setTimeout(() => p.finish(this.#failed('timeout', `no reply from ${node} in ${timeoutMs} ms`, elapsed())), timeoutMs);
      const poll = this.#rt.setInterval(() => {
        if (!this.#mesh.peers().some((x) => x.nodeId === node)) p.finish(this.#failed('closed', `the link to ${node} closed`, elapsed()));
      }, this.#livenessMs);
      const onAbort = () => p.finish(this.#failed('closed', 'aborted', elapsed()));
      const p: Pending = {
        node, req, expect,
        finish: (o) => {
          this.#rt.clearTimeout(timer);
          this.#rt.clearTimeout(poll);
          signal?.removeEventListener('abort', onAbort);
          this.#pending.delete(req.requestId);
          // Given up on (timeout, abort, lost link): an answer may still come, and is not a forgery.
          if (!o.ok) this.#late(req.requestId, node);
          resolve(o);
        },
      };
      this.#pending.set(req.requestId, p);
      signal?.addEventListener('abort', onAbort);
    });
  }

  /** Remembers a request given up on, so its late answer is dropped quietly rather than penalized. */
  #late(requestId: number, node: string): void {
    this.#abandoned.set(requestId, node);
    if (this.#abandoned.size > MAX_ABANDONED) this.#abandoned.delete(this.#abandoned.keys().next().value!);
  }

  #failed(reason: 'closed' | 'timeout', message: string, detectMs: number): Outcome {
    return { ok: false, reason, error: new KpcError(reason === 'timeout' ? 'INFER_TIMEOUT' : 'INFER_UNAVAILABLE', message), have: 0, detectMs };
  }

  /** Sends one message, split into parts when it exceeds a data-channel message. */
  #send(node: string, frame: Uint8Array): boolean {
    for (const body of splitFrame(frame, this.#maxFrame, this.#nextId++ >>> 0)) {
      if (!this.#mesh.send(node, body)) return false;
      this.#stats.framesSent++;
      this.#stats.bytesSent += body.length;
    }
    return true;
  }

  #onFrame(from: string, body: Uint8Array): void {
    if (this.#closed) return;
    this.#stats.framesReceived++;
    this.#stats.bytesReceived += body.length;
    try {
      let frame: InferFrame = decodeFrame(body);
      if (frame.kind === 'part') {
        const whole = this.#parts.push(from, frame);
        if (!whole) return;
        frame = decodeFrame(whole);
        if (frame.kind === 'part') throw new KpcError('INFER_BAD_FRAME', 'a part inside a part');
      }
      this.#dispatch(from, frame);
    } catch (err) {
      this.#reject(from, isKpcError(err) ? err : new KpcError('INFER_BAD_FRAME', String(err)));
    }
  }

  #dispatch(from: string, frame: Exclude<InferFrame, { kind: 'part' }>): void {
    switch (frame.kind) {
      case 'request': {
        void this.#server.handle(from, frame).then(({ reply, penalize }) => {
          if (this.#closed) return;
          this.#send(from, encodeFrame(reply));
          if (penalize && reply.kind === 'error') this.#reject(from, new KpcError(reply.code, reply.message));
        });
        return;
      }
      case 'release':
        this.#server.release(from, frame.job);
        return;
      case 'result':
        return this.#onResult(from, frame);
      case 'error': {
        const p = this.#pending.get(frame.requestId);
        if (this.#abandoned.get(frame.requestId) === from) return;
        if (!p || p.node !== from || p.req.job !== frame.job) throw new KpcError('INFER_BAD_FRAME', 'an error answering no request of ours', { requestId: frame.requestId });
        p.finish({ ok: false, reason: 'error', error: new KpcError(frame.code, frame.message, { have: frame.have }), have: frame.have, detectMs: 0 });
      }
    }
  }

  /** A result counts only for the request it answers, with the asked shape and a matching checksum; anything else is dropped. */
  #onResult(from: string, f: ResultFrame): void {
    const p = this.#pending.get(f.requestId);
    const bad = (why: string) => new KpcError('INFER_BAD_FRAME', why, { requestId: f.requestId, from: f.from, to: f.to, pos: f.pos });
    if (!p && this.#abandoned.get(f.requestId) === from) return; // slow, not wrong: no penalty
    if (!p || p.node !== from || p.req.job !== f.job) throw bad('a result for a request this node was not sent');
    const q = p.req;
    if (f.from !== q.from || f.to !== q.to || f.pos !== q.pos || f.lastRow !== q.lastRow || !!f.sampled !== !!q.sample) throw bad(`a result for blocks [${f.from}, ${f.to}) at ${f.pos}, not the segment asked`);
    const rows = q.lastRow ? 1 : q.rows;
    if (f.rows !== rows || f.payload.length !== p.expect) throw bad(`a result of ${f.payload.length} bytes; ${p.expect} were asked`);
    if (payloadChecksum(f.payload) !== f.checksum) throw bad('a result whose checksum does not match its activations');
    p.finish({ ok: true, hidden: bytesToFloats(f.payload), checksum: f.checksum });
  }

  #reject(from: string, error: KpcError): void {
    this.#mesh.penalize(from, error);
    this.#emit('reject', { from, error });
  }

  #emit<T>(type: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(type, { detail }));
  }
}

/**
 * Resolves on a later macrotask so input, timers and `abort()` run between tokens. As in
 * LocalModel: `setTimeout(0)` is clamped to 4 ms in browsers (more than a kpc-tiny
 * token), so `setImmediate` (Node) or a MessageChannel is used; an injected runtime's timer otherwise.
 */
function nextMacrotask(runtime: Runtime | undefined): Promise<void> {
  if (runtime) return new Promise((resolve) => runtime.setTimeout(resolve, 0));
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown };
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof MessageChannel === 'function') {
    const ch = new MessageChannel();
    return new Promise((resolve) => {
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(0);
    });
  }
  return new Promise((resolve) => globalThis.setTimeout(resolve, 0));
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new KpcError('INFER_ABORTED', 'generation was aborted', { reason: String(signal.reason) });
}

function checkOptions(opts: ClusterGenerateOptions): ReturnType<typeof checkGenerateOptions> & { redundancy: number; replicas: number | undefined } {
  const checked = checkGenerateOptions(opts);
  const { redundancy = 1, replicas } = opts;
  if (!Number.isInteger(redundancy) || redundancy < 1 || redundancy > 64) {
    throw new KpcError('INFER_BAD_INPUT', 'redundancy must be an integer in [1, 64]', { field: 'redundancy' });
  }
  if (replicas !== undefined && (!Number.isInteger(replicas) || replicas < redundancy || replicas > 64)) {
    throw new KpcError('INFER_BAD_INPUT', `replicas must be an integer in [redundancy, 64], got ${String(replicas)}`, { field: 'replicas' });
  }
  if (opts.budget !== undefined && (!Number.isSafeInteger(opts.budget) || opts.budget < 0)) {
    throw new KpcError('INFER_BAD_INPUT', 'budget must be a non-negative integer of bytes', { field: 'budget' });
  }
  return { ...checked, redundancy, replicas };
}

/** Token ids as u32 little-endian bytes (the history keeps them as exact floats). */
function tokenBytes(ids: Float32Array): Uint8Array {
  const out = new Uint8Array(ids.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < ids.length; i++) dv.setUint32(i * 4, ids[i], true);
  return out;
}
