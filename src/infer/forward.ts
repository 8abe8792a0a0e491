/**
 * The deterministic forward pass, cut where the mesh will cut it:
 *
 *   embed(tokens) → runLayers(0, k) → runLayers(k, L) → … → logits(hidden)
 *
 * Between those steps activations are a plain Float32Array of n·dim (n consecutive
 * tokens), the residual stream, which is also rounded to float32 after every block and
 * sub-block. So running blocks [0, k) then [k, L) gives exactly the bits of [0, L), and
 * a range's input and output can be sent over a data channel and checksummed
 * ({@link activationChecksum}) for quorum checks. Each block's keys and values live in a
 * {@link KvCache} that covers only that node's blocks.
 *
 * Arithmetic is float64 with a fixed order (ops.ts), storage float32: the same spec and
 * tokens give the same bits in Node and every browser.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../crypto/bytes.js';
import { KpcError } from '../errors.js';
import { applyRope, dot, rmsNorm, ropeTables, softmax, swiglu } from './ops.js';
import type { ModelDims, TransformerWeights } from './transformer-weights.js';

function badInput(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('INFER_BAD_INPUT', message, detail);
}

/**
 * Keys and values of blocks [from, to): float32, `contextLength` positions each, with the
 * rotary rotation already applied to keys. It belongs to whoever runs those blocks.
 */
export class KvCache {
  /** Per block (index `layer − from`): keys at [position·kvDim + kvHead·headDim + i]. */
  readonly keys: Float32Array[] = [];
  /** Per block: values, laid out like {@link KvCache.keys}. */
  readonly values: Float32Array[] = [];
  #filled: Int32Array;

  /**
   * @param from - first block covered
   * @param to - one past the last block covered
   * @param kvDim - kvHeads·headDim of the model
   * @param contextLength - positions held
   */
  constructor(readonly from: number, readonly to: number, readonly kvDim: number, readonly contextLength: number) {
    for (let l = from; l < to; l++) {
      this.keys.push(new Float32Array(contextLength * kvDim));
      this.values.push(new Float32Array(contextLength * kvDim));
    }
    this.#filled = new Int32Array(to - from);
  }

  /** Positions of block `layer` filled so far (the next position it expects, at most). */
  length(layer: number): number {
    return this.#filled[layer - this.from];
  }

  /** True when the cache holds blocks [from, to). */
  covers(from: number, to: number): boolean {
    return from >= this.from && to <= this.to;
  }

  /** Forgets every position (keeps the memory). */
  reset(): void {
    this.#filled.fill(0);
  }

  /** @internal marks positions [0, length) of block `layer` as filled */
  setLength(layer: number, length: number): void {
    this.#filled[layer - this.from] = length;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Lowercase hex SHA-256 of an array's bytes in little-endian order (what a float32 or
 * float64 array looks like on every real platform), for checking that r nodes computed
 * the same activations or logits.
 */
export function activationChecksum(arr: Float32Array | Float64Array | Uint8Array): string {
  const view = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  if (LITTLE_ENDIAN || arr instanceof Uint8Array) return toHex(sha256(view));
  const bytes = new Uint8Array(arr.byteLength);
  const dv = new DataView(bytes.buffer);
  const width = arr.BYTES_PER_ELEMENT;
  for (let i = 0; i < arr.length; i++) {
    if (width === 4) dv.setFloat32(i * 4, arr[i], true);
    else dv.setFloat64(i * 8, arr[i], true);
  }
  return toHex(sha256(bytes));
}

/**
 * A model's forward pass over its weights (procedural, GGUF, …: any
 * {@link TransformerWeights}). Synchronous and single-threaded (scratch buffers are
 * reused); a caller wanting to stay responsive runs a range at a time and yields in
 * between, as LocalModel does per token.
 */
export class Transformer {
  /** Where tensors come from (and are cached). */
  readonly weights: TransformerWeights;
  readonly #roundKv: ((x: number) => number) | undefined;
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  // Scratch, float64, grown to the largest n seen: the order of operations fixes the
  // bits, not the buffers' lifetime.
  #rowsCap = 0;
  #xn = new Float64Array(0);
  #q = new Float64Array(0);
  #k = new Float64Array(0);
  #v = new Float64Array(0);
  #att = new Float64Array(0);
  #o = new Float64Array(0);
  #gate = new Float64Array(0);
  #up = new Float64Array(0);
  readonly #scores: Float64Array;

  /** @param weights - the model's tensors (dimensions and id included) */
  constructor(weights: TransformerWeights) {
    this.weights = weights;
    this.#roundKv = weights.roundKv;
    const s = weights.spec;
    ({ cos: this.#cos, sin: this.#sin } = ropeTables(s.contextLength, s.headDim, s.ropeTheta));
    this.#scores = new Float64Array(s.contextLength);
  }

  /** The model's dimensions (for a procedural model, its validated spec). */
  get spec(): ModelDims {
    return this.weights.spec;
  }

  /** A KV cache for blocks [from, to) (default: all). */
  createKvCache(from = 0, to: number = this.spec.layers): KvCache {
    this.#checkRange(from, to);
    return new KvCache(from, to, this.spec.kvHeads * this.spec.headDim, this.spec.contextLength);
  }

  /**
   * The residual stream's start: row t is the embedding of tokens[t] (n·dim float32).
   * @throws KpcError `INFER_BAD_INPUT` for an empty list or a token outside [0, vocab)
   */
  embed(tokens: ArrayLike<number>): Float32Array<ArrayBuffer> {
    const { dim, vocab } = this.spec;
    if (tokens.length === 0) throw badInput('embed needs at least one token');
    const out = new Float32Array(tokens.length * dim);
    for (let t = 0; t < tokens.length; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw badInput(`token ${String(id)} is outside [0, ${vocab})`, { index: t, token: id });
      this.weights.embedRow(id, out, t * dim);
    }
    return out;
  }

  /**
   * Runs blocks [from, to) over n = hidden.length / dim consecutive tokens at positions
   * [pos, pos + n), appending their keys and values to `kv`. Returns a new array; `hidden`
   * is not modified. `pos` may be below a block's filled length (the positions from `pos`
   * on are overwritten, e.g. to retry after a failure) but not above it.
   * @throws KpcError `INFER_BAD_INPUT` (range, shape, cache, position), `INFER_CONTEXT_OVERFLOW`
   */
  runLayers(from: number, to: number, hidden: Float32Array, kv: KvCache, pos: number): Float32Array<ArrayBuffer> {
    const s = this.spec;
    this.#checkRange(from, to);
    const n = this.#rows(hidden);
    if (!(kv instanceof KvCache) || !kv.covers(from, to) || kv.kvDim !== s.kvHeads * s.headDim || kv.contextLength !== s.contextLength) {
      throw badInput(`the KV cache does not hold blocks [${from}, ${to}) of this model`, { from, to });
    }
    if (!Number.isInteger(pos) || pos < 0) throw badInput(`position must be a non-negative integer, got ${String(pos)}`);
    if (pos + n > s.contextLength) {
      throw new KpcError('INFER_CONTEXT_OVERFLOW', `positions [${pos}, ${pos + n}) exceed the context length ${s.contextLength}`, { pos, tokens: n, contextLength: s.contextLength });
    }
    for (let l = from; l < to; l++) {
      if (pos > kv.length(l)) throw badInput(`block ${l} has ${kv.length(l)} positions cached; cannot run position ${pos}`, { layer: l, pos });
    }
    const x = Float32Array.from(hidden);
    for (let l = from; l < to; l++) {
      this.#block(l, x, n, kv, pos);
      kv.setLength(l, pos + n);
    }
    return x;
  }

  /**
   * Logits of each row of `hidden` (n·vocab float32): final RMSNorm, then the output matrix.
   * @throws KpcError `INFER_BAD_INPUT` for a length that is not a positive multiple of dim
   */
  logits(hidden: Float32Array): Float32Array<ArrayBuffer> {
    const { dim, vocab, normEps } = this.spec;
    const n = this.#rows(hidden);
    this.#scratch(n);
    const g = this.weights.finalNorm();
    for (let t = 0; t < n; t++) rmsNorm(hidden, t * dim, dim, g, normEps, this.#xn, t * dim);
    const out = new Float64Array(n * vocab);
    this.weights.output().mul(this.#xn, n, out);
    return Float32Array.from(out);
  }

  /**
   * One block over n tokens: attention, then SwiGLU, each pre-normed and added to the
   * stream. Every phase runs over all n tokens before the next (so each weight matrix is
   * streamed once per block, not once per token); each token's arithmetic is exactly what
   * it would be alone, since token t's attention reads only positions ≤ pos + t.
   */
  #block(l: number, x: Float32Array, n: number, kv: KvCache, pos: number): void {
    const { dim, heads, kvHeads, headDim, ffnDim, normEps } = this.spec;
    const kvDim = kvHeads * headDim;
    const W = this.weights;
    const keys = kv.keys[l - kv.from];
    const values = kv.values[l - kv.from];
    this.#scratch(n);
    const xn = this.#xn;
    const q = this.#q;
    const k = this.#k;
    const v = this.#v;
    const att = this.#att;
    const o = this.#o;
    const scores = this.#scores;
    const group = heads / kvHeads;
    const scale = 1 / Math.sqrt(headDim);
    // Attention: q, k, v from the normed stream; rotate q and k; cache k and v as float32.
    const attnNorm = W.vector(l, 'attnNorm');
    for (let t = 0; t < n; t++) rmsNorm(x, t * dim, dim, attnNorm, normEps, xn, t * dim);
    W.matrix(l, 'wq').mul(xn, n, q);
    W.matrix(l, 'wk').mul(xn, n, k);
    W.matrix(l, 'wv').mul(xn, n, v);
    const roundKv = this.#roundKv;
    for (let t = 0; t < n; t++) {
      const p = pos + t;
      applyRope(q, t * dim, heads, headDim, p, this.#cos, this.#sin);
      applyRope(k, t * kvDim, kvHeads, headDim, p, this.#cos, this.#sin);
      if (roundKv) {
        // A half-precision cache (llama.cpp's default): queries meet keys at that precision too.
        for (let i = t * dim; i < (t + 1) * dim; i++) q[i] = roundKv(q[i]);
        for (let i = 0; i < kvDim; i++) {
          keys[p * kvDim + i] = roundKv(k[t * kvDim + i]);
          values[p * kvDim + i] = roundKv(v[t * kvDim + i]);
        }
      } else {
        keys.set(k.subarray(t * kvDim, (t + 1) * kvDim), p * kvDim);
        values.set(v.subarray(t * kvDim, (t + 1) * kvDim), p * kvDim);
      }
    }
    for (let t = 0; t < n; t++) {
      const p = pos + t;
      for (let h = 0; h < heads; h++) {
        const qo = t * dim + h * headDim;
        const kvo = Math.floor(h / group) * headDim;
        for (let j = 0; j <= p; j++) scores[j] = dot(q, qo, keys, j * kvDim + kvo, headDim) * scale;
        softmax(scores, p + 1);
        // Weighted sum of values, positions in order for every element.
        for (let i = 0; i < headDim; i++) att[qo + i] = 0;
        // With a half-precision cache the weights meet the values at that precision too (llama.cpp).
        if (roundKv) for (let j = 0; j <= p; j++) scores[j] = roundKv(scores[j]);
        for (let j = 0; j <= p; j++) {
          const w = scores[j];
          const vo = j * kvDim + kvo;
          for (let i = 0; i < headDim; i++) att[qo + i] += w * values[vo + i];
        }
      }
    }
    W.matrix(l, 'wo').mul(att, n, o);
    for (let i = 0; i < n * dim; i++) x[i] = x[i] + o[i];
    // Feed-forward: w2·(silu(w1·xn) ⊙ w3·xn).
    const ffnNorm = W.vector(l, 'ffnNorm');
    for (let t = 0; t < n; t++) rmsNorm(x, t * dim, dim, ffnNorm, normEps, xn, t * dim);
    W.matrix(l, 'w1').mul(xn, n, this.#gate);
    W.matrix(l, 'w3').mul(xn, n, this.#up);
    swiglu(this.#gate, this.#up, n * ffnDim);
    W.matrix(l, 'w2').mul(this.#gate, n, o);
    for (let i = 0; i < n * dim; i++) x[i] = x[i] + o[i];
  }

  /** Grows the scratch buffers to hold n tokens. */
  #scratch(n: number): void {
    if (n <= this.#rowsCap) return;
    const { dim, kvHeads, headDim, ffnDim } = this.spec;
    this.#rowsCap = n;
    this.#xn = new Float64Array(n * dim);
    this.#q = new Float64Array(n * dim);
    this.#k = new Float64Array(n * kvHeads * headDim);
    this.#v = new Float64Array(n * kvHeads * headDim);
    this.#att = new Float64Array(n * dim);
    this.#o = new Float64Array(n * dim);
    this.#gate = new Float64Array(n * ffnDim);
    this.#up = new Float64Array(n * ffnDim);
  }

  #checkRange(from: number, to: number): void {
    const L = this.spec.layers;
    if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > L || from >= to) {
      throw badInput(`block range [${String(from)}, ${String(to)}) is not a non-empty part of [0, ${L})`, { from, to });
    }
  }

  #rows(hidden: Float32Array): number {
    const dim = this.spec.dim;
    if (!(hidden instanceof Float32Array) || hidden.length === 0 || hidden.length % dim !== 0) {
      throw badInput(`activations must be a Float32Array of n·${dim} values`, { length: (hidden as { length?: unknown })?.length });
    }
    return hidden.length / dim;
  }
}
