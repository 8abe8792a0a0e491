/**
 * The serving side: a node answers REQUEST frames by regenerating the weights of the
 * asked blocks (through the shared WeightCache), running them over the received
 * activations with a KV cache kept per (requester, job, segment), and returning the
 * output with its checksum.
 *
 * Nothing in a request is trusted: the model must be known or its spec attached (and
 * hash to the id), the range must lie within the model, the payload must be rows·dim
 * finite float32 and the positions within the context. A bad request changes no state
 * (no model registered, no cache created or advanced) and is answered with a typed
 * ERROR frame so an honest requester does not wait for its timeout.
 *
 * Memory is bounded: KV caches for others' jobs share a byte budget (least recently
 * used dropped first; its requester gets `INFER_KV_MISSING` and replays), and at most
 * {@link MAX_JOBS_PER_PEER} caches per requester, so one peer cannot evict everyone.
 */
import { checkModelSpec, modelSpecId, type CheckedModelSpec } from '../model-spec.js';
import { KpcError, isKpcError } from '../../errors.js';
import { utf8Decode } from '../../crypto/bytes.js';
import { KvCache, Transformer } from '../forward.js';
import { ModelWeights, WeightCache, parameterCount } from '../weights.js';
import type { ModelDims } from '../transformer-weights.js';
import { bytesToFloats, floatsToBytes, payloadChecksum, type ErrorFrame, type RequestFrame, type ResultFrame } from './frames.js';
import type { SegmentProvider } from './types.js';
import { sampleNext } from '../sampler.js';

/** KV caches one requester may hold on a node at once. */
export const MAX_JOBS_PER_PEER = 16;
/**
 * Rows one request may carry: requesters send 32 at most, and a request is computed in
 * one go on the main thread, so this bounds how long any peer can stall it per frame.
 */
export const MAX_ROWS_PER_REQUEST = 64;
/** Models a node keeps ready (spec, transformer); older ones are forgotten and re-sent. */
export const MAX_MODELS = 4;

interface KvEntry {
  requester: string;
  job: string;
  kv: KvCache;
  bytes: number;
}

/** Options of {@link SegmentServer}. */
export interface SegmentServerOptions {
  /** Regenerated tensors (shared with the requesting side). */
  cache: WeightCache;
  /** Byte budget of KV caches. Default 256 MiB. */
  maxKvBytes?: number;
  /** Largest model served, weights. Default 2^26. */
  maxModelParams?: number;
}

/** Weights, forward passes and KV caches of the segments this node serves. */
export class SegmentServer {
  readonly #cache: WeightCache;
  readonly #maxKvBytes: number;
  readonly #maxParams: number;
  readonly #models = new Map<string, Transformer>();
  /** Hosted models: blocks fetched on first request. */
  readonly #providers = new Map<string, SegmentProvider>();
  readonly #pending = new Map<string, Promise<SegmentProvider>>();
  // Insertion order is recency (re-inserted on use): the first entry is the LRU.
  readonly #kv = new Map<string, KvEntry>();
  #kvBytes = 0;

  /** @param opts - cache and limits */
  constructor(opts: SegmentServerOptions) {
    this.#cache = opts.cache;
    this.#maxKvBytes = opts.maxKvBytes ?? 256 * 1024 * 1024;
    this.#maxParams = opts.maxModelParams ?? 2 ** 26;
  }

  /** Models known, KV caches held and their bytes. */
  get stats(): { models: number; kvCaches: number; kvBytes: number } {
    return { models: this.#models.size, kvCaches: this.#kv.size, kvBytes: this.#kvBytes };
  }

  /**
   * The forward pass of a validated spec, registered so requests may name it by id.
   * @throws KpcError `INFER_UNAVAILABLE` (more weights than this node serves)
   */
  transformer(spec: CheckedModelSpec, id: string = modelSpecId(spec)): Transformer {
    const known = this.#models.get(id);
    if (known) {
      this.#models.delete(id);
      this.#models.set(id, known);
      return known;
    }
    this.#checkSize(spec);
    const tr = new Transformer(new ModelWeights(spec, id, this.#cache));
    this.#models.set(id, tr);
    if (this.#models.size > MAX_MODELS) this.#models.delete(this.#models.keys().next().value!);
    return tr;
  }

  /**
   * Serves a model this node loaded itself (a GGUF file, …) under its `modelId`, so
   * requests naming that id are answered; only procedural models travel as a spec.
   */
  register(transformer: Transformer): void {
    this.#models.delete(transformer.weights.modelId);
    this.#models.set(transformer.weights.modelId, transformer);
    if (this.#models.size > MAX_MODELS) this.#models.delete(this.#models.keys().next().value!);
  }

  /**
   * Serves a hosted model by id: a request for blocks this node does not hold yet waits
   * while it fetches them (failover onto a node without a replica).
   */
  registerProvider(provider: SegmentProvider): void {
    this.#providers.set(provider.modelId, provider);
    this.#pending.delete(provider.modelId);
  }

  /**
   * A hosted model this node agreed to serve but is still opening (reading its header):
   * requests naming it wait for it instead of being refused as unknown.
   */
  registerPending(modelId: string, provider: Promise<SegmentProvider>): void {
    if (this.#providers.has(modelId)) return;
    this.#pending.set(modelId, provider);
    provider.then((p) => this.registerProvider(p), () => this.#pending.delete(modelId));
  }

  #checkSize(spec: CheckedModelSpec): void {
    if (parameterCount(spec) > this.#maxParams) {
      throw new KpcError('INFER_UNAVAILABLE', `the model has more than the ${this.#maxParams} weights this node serves`);
    }
  }

  /**
   * Answers one request: a RESULT, or an ERROR whose code says why. `penalize` is true
   * when the request itself was invalid (not merely about state this node lost).
   */
  async handle(requester: string, req: RequestFrame): Promise<{ reply: ResultFrame | ErrorFrame; penalize: boolean }> {
    try {
      const opening = this.#pending.get(req.modelId);
      if (opening) await opening.catch(() => undefined);
      const provider = this.#providers.get(req.modelId);
      if (provider) {
        this.#check(req, provider.transformer.spec);
        try {
          await provider.ensure(req.from, req.to, { embed: req.tokens === true, head: req.sample !== undefined });
        } catch (err) {
          // The node could not fetch the blocks (host down, wrong bytes): not the requester's fault.
          throw new KpcError('INFER_UNAVAILABLE', `this node cannot fetch blocks [${req.from}, ${req.to}): ${isKpcError(err) ? err.message : String(err)}`);
        }
      }
      return { reply: this.#run(requester, req, provider?.transformer), penalize: false };
    } catch (err) {
      const e = isKpcError(err) ? err : new KpcError('INFER_BAD_INPUT', String(err));
      const benign = e.code === 'INFER_UNKNOWN_MODEL' || e.code === 'INFER_KV_MISSING' || e.code === 'INFER_UNAVAILABLE' || e.code === 'MODEL_MISSING_TENSOR';
      const code = e.code === 'INFER_BAD_SPEC' || e.code === 'INFER_BAD_FRAME' || e.code === 'INFER_UNKNOWN_MODEL' || e.code === 'INFER_KV_MISSING'
        || e.code === 'INFER_CONTEXT_OVERFLOW' || e.code === 'INFER_UNAVAILABLE' ? e.code : e.code === 'MODEL_MISSING_TENSOR' ? 'INFER_UNAVAILABLE' : 'INFER_BAD_INPUT';
      const have = typeof e.detail?.have === 'number' ? e.detail.have : 0;
      return { reply: { kind: 'error', job: req.job, requestId: req.requestId, code, have, message: e.message }, penalize: !benign };
    }
  }

  /** Drops every KV cache of one job of one requester. */
  release(requester: string, job: string): void {
    for (const [key, e] of this.#kv) {
      if (e.requester === requester && e.job === job) this.#drop(key);
    }
  }

  /** Drops every KV cache of a requester (it left). */
  forget(requester: string): void {
    for (const [key, e] of this.#kv) if (e.requester === requester) this.#drop(key);
  }

  /** What can be checked of a request against the model's dimensions alone. */
  #check(req: RequestFrame, s: ModelDims): void {
    if (req.rows > MAX_ROWS_PER_REQUEST) throw bad(`more than ${MAX_ROWS_PER_REQUEST} rows in one request`, { rows: req.rows });
    if (req.to > s.layers) throw bad(`blocks [${req.from}, ${req.to}) are not within the model's ${s.layers}`, { from: req.from, to: req.to });
    if (req.tokens && req.from !== 0) throw bad('token ids are only sent to the first segment', { from: req.from });
    if (req.sample && req.to !== s.layers) throw bad('only the last segment samples', { to: req.to });
    if (req.sample && req.lastRow) throw bad('a replay does not sample');
    if (req.sample && [...req.sample.history, ...req.sample.banned].some((t) => t >= s.vocab)) throw bad(`a sampling id is not in the vocabulary of ${s.vocab}`);
    const width = req.tokens ? 1 : s.dim;
    if (req.payload.length !== req.rows * width * 4) throw bad(`payload is not ${req.rows}·${width} ${req.tokens ? 'token ids' : 'float32'}`, { bytes: req.payload.length });
    if (req.pos + req.rows > s.contextLength) {
      throw new KpcError('INFER_CONTEXT_OVERFLOW', `positions [${req.pos}, ${req.pos + req.rows}) exceed the context ${s.contextLength}`);
    }
  }

  /** The input rows: token ids embedded here, or received activations (which must be finite). */
  #input(req: RequestFrame, tr: () => Transformer, s: ModelDims): Float32Array {
    if (req.tokens) {
      const ids = new DataView(req.payload.buffer, req.payload.byteOffset, req.payload.byteLength);
      const tokens: number[] = [];
      for (let i = 0; i < req.rows; i++) {
        const t = ids.getUint32(i * 4, true);
        if (t >= s.vocab) throw bad(`token ${t} is not in the vocabulary of ${s.vocab}`, { index: i });
        tokens.push(t);
      }
      return tr().embed(tokens);
    }
    const hidden = bytesToFloats(req.payload);
    for (let i = 0; i < hidden.length; i++) {
      // An honest stream is always finite: RMSNorm keeps every block's input bounded.
      if (!Number.isFinite(hidden[i])) throw bad('activations must be finite', { index: i });
    }
    return hidden;
  }

  #run(requester: string, req: RequestFrame, hosted: Transformer | undefined): ResultFrame {
    // Everything is checked before anything is stored: a bad request changes no state.
    const { spec: s, transformer } = hosted ? { spec: hosted.spec, transformer: () => hosted } : this.#resolve(req);
    this.#check(req, s);
    const hidden = this.#input(req, transformer, s);
    const key = `${requester}|${req.job}|${req.from}-${req.to}`;
    let entry = this.#kv.get(key);
    const have = entry ? entry.kv.length(req.from) : 0;
    if (req.pos > have) {
      throw new KpcError('INFER_KV_MISSING', `this node holds ${have} positions of that segment; position ${req.pos} was asked`, { have });
    }
    const tr = transformer();
    if (!entry) entry = this.#create(key, requester, req.job, tr, req.from, req.to);
    else {
      this.#kv.delete(key);
      this.#kv.set(key, entry);
    }
    let out: Float32Array = tr.runLayers(req.from, req.to, hidden, entry.kv, req.pos);
    if (req.lastRow) out = out.subarray((req.rows - 1) * s.dim);
    let payload = floatsToBytes(out);
    if (req.sample) {
      // The requester's draw stands in for its generator: the same token LocalModel would sample.
      const { u, history, banned, ...opts } = req.sample;
      const token = sampleNext(tr.logits(out.subarray(out.length - s.dim)), history, opts, () => u, new Set(banned));
      const both = new Uint8Array(payload.length + 4);
      both.set(payload);
      new DataView(both.buffer).setUint32(payload.length, token, true);
      payload = both;
    }
    return {
      kind: 'result', job: req.job, requestId: req.requestId, from: req.from, to: req.to, pos: req.pos,
      rows: req.lastRow ? 1 : req.rows, lastRow: req.lastRow, ...(req.sample ? { sampled: true } : {}), checksum: payloadChecksum(payload), payload,
    };
  }

  /** The request's model: known already, or from the attached spec (registered only when `transformer()` is called). */
  #resolve(req: RequestFrame): { spec: ModelDims; transformer: () => Transformer } {
    const known = this.#models.get(req.modelId);
    if (known) {
      return {
        spec: known.spec,
        transformer: () => {
          this.#models.delete(req.modelId);
          this.#models.set(req.modelId, known);
          return known;
        },
      };
    }
    if (!req.spec) throw new KpcError('INFER_UNKNOWN_MODEL', 'unknown model: attach its spec', { modelId: req.modelId });
    let spec: CheckedModelSpec;
    try {
      spec = checkModelSpec(JSON.parse(utf8Decode(req.spec)));
    } catch (err) {
      throw isKpcError(err, 'INFER_BAD_SPEC') ? err : bad('the attached spec is not JSON');
    }
    if (modelSpecId(spec) !== req.modelId) throw bad('the attached spec does not hash to the model id');
    this.#checkSize(spec);
    return { spec, transformer: () => this.transformer(spec, req.modelId) };
  }

  #create(key: string, requester: string, job: string, tr: Transformer, from: number, to: number): KvEntry {
    const s = tr.spec;
    const bytes = 2 * (to - from) * s.contextLength * s.kvHeads * s.headDim * 4;
    if (bytes > this.#maxKvBytes) throw new KpcError('INFER_UNAVAILABLE', 'the KV cache of that segment exceeds this node\'s budget');
    let mine = 0;
    for (const e of this.#kv.values()) if (e.requester === requester) mine++;
    for (const [k, e] of this.#kv) {
      if (mine < MAX_JOBS_PER_PEER) break;
      if (e.requester === requester) {
        this.#drop(k);
        mine--;
      }
    }
    for (const k of this.#kv.keys()) {
      if (this.#kvBytes + bytes <= this.#maxKvBytes) break;
      this.#drop(k);
    }
    const entry: KvEntry = { requester, job, kv: tr.createKvCache(from, to), bytes };
    this.#kv.set(key, entry);
    this.#kvBytes += bytes;
    return entry;
  }

  #drop(key: string): void {
    const e = this.#kv.get(key);
    if (!e) return;
    this.#kv.delete(key);
    this.#kvBytes -= e.bytes;
  }
}

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('INFER_BAD_FRAME', message, detail);
}
