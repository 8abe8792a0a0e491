/**
 * Weights: every tensor of a model, regenerated from the spec by the π-kernel, and a
 * byte-bounded LRU cache of regenerated tensors. No weight is ever downloaded.
 *
 * ## Tensor numbering (the `tensor` field of the kernel's LayerSpec)
 *
 * Block `l` (0 ≤ l < layers) uses kernel layer `l`:
 *
 * | tensor | name | shape (rows × cols) | stored as |
 * | --- | --- | --- | --- |
 * | 0 | wq | heads·headDim × dim | kernel |
 * | 1 | wk | kvHeads·headDim × dim | kernel |
 * | 2 | wv | kvHeads·headDim × dim | kernel |
 * | 3 | wo | dim × dim | kernel / √(2·layers) |
 * | 4 | w1 (gate) | ffnDim × dim | kernel |
 * | 5 | w2 (down) | dim × ffnDim | kernel / √(2·layers) |
 * | 6 | w3 (up) | ffnDim × dim | kernel |
 * | 7 | attnNorm | 1 × dim | 1 + kernel |
 * | 8 | ffnNorm | 1 × dim | 1 + kernel |
 *
 * Whole-model tensors use kernel layer {@link GLOBAL_LAYER} (0xFFFFFFFF), so they do not
 * move when `layers` changes: 0 embedding (vocab × dim, kernel · √dim), 1 output
 * (vocab × dim, kernel), 2 finalNorm (1 × dim, 1 + kernel).
 *
 * ## Why these scales
 *
 * The kernel's rows have unit length, which is the usual 1/√fan_in initialization in
 * scale: a matrix maps an input of RMS 1 (RMSNorm's output) to outputs of RMS ≈ 1. The
 * embedding is multiplied by √dim so token vectors enter the residual stream at RMS ≈ 1,
 * like the block outputs, instead of being drowned by them. The two projections that
 * write into the residual stream (wo, w2) are divided by √(2·layers) (GPT-2's scheme),
 * so the sum of all 2·layers additions does not grow with depth: measured, the stream's
 * RMS ends near 2.2 (kpc-tiny), 3.0 (kpc-small) and 2 (64 or 256 blocks of width 32) —
 * a little above the √2 that random rows would give, because the kernel's rows are
 * smooth and correlated. Norm gains are 1 + a unit row (entries of order 1/√dim):
 * deterministic, close to the identity, and still real tensors for a later trained mode.
 * Pre-norm keeps every block's input at RMS 1 whatever the stream does, so activations
 * stay finite at any depth (test/infer checks 64 blocks). Scaling is one float64
 * multiply-add per weight, rounded to float32: deterministic like the kernel itself.
 */
import { KpcError } from '../errors.js';
import { generateLayer, type LayerSpec } from '../math/index.js';
import type { CheckedModelSpec } from './model-spec.js';
import { matMul } from './ops.js';
import type { BlockMatrixName, BlockVectorName, TransformerWeights, WeightMatrix } from './transformer-weights.js';

/** Kernel layer index of the whole-model tensors (embedding, output, final norm). */
export const GLOBAL_LAYER = 0xffffffff;

/** Tensor indices within a block (the kernel's `tensor` field). */
export const BLOCK_TENSORS = Object.freeze({ wq: 0, wk: 1, wv: 2, wo: 3, w1: 4, w2: 5, w3: 6, attnNorm: 7, ffnNorm: 8 });
/** Tensor indices of the whole-model tensors (kernel layer {@link GLOBAL_LAYER}). */
export const GLOBAL_TENSORS = Object.freeze({ embedding: 0, output: 1, finalNorm: 2 });

/** Name of a block tensor. */
export type BlockTensorName = keyof typeof BLOCK_TENSORS;
/** Name of a whole-model tensor. */
export type GlobalTensorName = keyof typeof GLOBAL_TENSORS;

/** Which tensor: a block tensor of block `layer`, or a whole-model tensor. */
export type TensorRef = { layer: number; name: BlockTensorName } | { layer: 'global'; name: GlobalTensorName };

/**
 * Where a tensor's values come from. v1 has only `'procedural'`; a seed-compressed mode
 * adds a variant (block size, seeds, quantized coefficients, payload offset) and a case
 * in {@link materializeTensor}; nothing downstream changes.
 */
export type TensorSource = {
  kind: 'procedural';
  /** The kernel call that produces the raw, unit-row matrix. */
  kernel: Required<LayerSpec>;
  /** Stored value = kernel·scale + offset (float64 arithmetic, one float32 rounding). */
  scale: number;
  /** 1 for norm gains, else 0. */
  offset: number;
};

/** Rows and columns of a tensor. */
export function tensorShape(spec: CheckedModelSpec, ref: TensorRef): { rows: number; cols: number } {
  const { dim, headDim, heads, kvHeads, ffnDim, vocab } = spec;
  switch (ref.name) {
    case 'wq': return { rows: heads * headDim, cols: dim };
    case 'wk':
    case 'wv': return { rows: kvHeads * headDim, cols: dim };
    case 'wo': return { rows: dim, cols: heads * headDim };
    case 'w1':
    case 'w3': return { rows: ffnDim, cols: dim };
    case 'w2': return { rows: dim, cols: ffnDim };
    case 'embedding':
    case 'output': return { rows: vocab, cols: dim };
    default: return { rows: 1, cols: dim }; // the three norms
  }
}

function checkRef(spec: CheckedModelSpec, ref: TensorRef): void {
  const ok = ref.layer === 'global'
    ? Object.hasOwn(GLOBAL_TENSORS, ref.name)
    : Number.isInteger(ref.layer) && ref.layer >= 0 && ref.layer < spec.layers && Object.hasOwn(BLOCK_TENSORS, ref.name);
  if (!ok) throw new KpcError('INFER_BAD_INPUT', `no tensor ${String(ref.name)} in layer ${String(ref.layer)}`, { layer: ref.layer, name: ref.name });
}

/**
 * The source description of one tensor of the model (see the table at the top).
 * @throws KpcError `INFER_BAD_INPUT` for a tensor the model does not have
 */
export function tensorSource(spec: CheckedModelSpec, ref: TensorRef): TensorSource {
  checkRef(spec, ref);
  const { rows, cols } = tensorShape(spec, ref);
  const isGlobal = ref.layer === 'global';
  const layer = isGlobal ? GLOBAL_LAYER : (ref.layer as number);
  const tensor = isGlobal ? GLOBAL_TENSORS[ref.name as GlobalTensorName] : BLOCK_TENSORS[ref.name as BlockTensorName];
  const kernel = { seed: spec.seed, layer, tensor, rows, cols };
  let scale = 1;
  let offset = 0;
  if (ref.name === 'embedding') scale = Math.sqrt(spec.dim);
  else if (ref.name === 'wo' || ref.name === 'w2') scale = 1 / Math.sqrt(2 * spec.layers);
  else if (ref.name === 'attnNorm' || ref.name === 'ffnNorm' || ref.name === 'finalNorm') offset = 1;
  // Exhaustive on `mode`: the one place a seed-compressed spec will branch.
  switch (spec.mode) {
    case 'procedural': return { kind: 'procedural', kernel, scale, offset };
  }
}

/** Regenerates a tensor from its source: float32, row-major, rows × cols. */
export function materializeTensor(source: TensorSource): Float32Array {
  return finishTensor(generateLayer(source.kernel), source);
}

/**
 * Applies a procedural source's scale and offset, in place, to the kernel's raw output
 * (`generateLayer(source.kernel)`, computed here or by the regeneration Worker).
 * @throws KpcError `INFER_BAD_INPUT` if `raw` has the wrong length
 */
export function finishTensor(raw: Float32Array, source: TensorSource): Float32Array {
  const { scale, offset, kernel } = source;
  if (!(raw instanceof Float32Array) || raw.length !== kernel.rows * kernel.cols) {
    throw new KpcError('INFER_BAD_INPUT', `a ${kernel.rows}×${kernel.cols} tensor was expected`, { length: (raw as { length?: unknown })?.length });
  }
  if (scale !== 1 || offset !== 0) {
    for (let i = 0; i < raw.length; i++) raw[i] = raw[i] * scale + offset;
  }
  return raw;
}

/** Every tensor of the model, blocks in order then the whole-model tensors. */
export function allTensors(spec: CheckedModelSpec): TensorRef[] {
  const refs: TensorRef[] = [];
  for (let layer = 0; layer < spec.layers; layer++) {
    for (const name of Object.keys(BLOCK_TENSORS) as BlockTensorName[]) refs.push({ layer, name });
  }
  for (const name of Object.keys(GLOBAL_TENSORS) as GlobalTensorName[]) refs.push({ layer: 'global', name });
  return refs;
}

/** Number of weights in the model (norm gains included). */
export function parameterCount(spec: CheckedModelSpec): number {
  let n = 0;
  for (const ref of allTensors(spec)) {
    const { rows, cols } = tensorShape(spec, ref);
    n += rows * cols;
  }
  return n;
}

/** Default byte budget of a {@link WeightCache}: 256 MiB, room for kpc-small (94 MB) twice over. */
export const DEFAULT_WEIGHT_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * A least-recently-used cache of regenerated tensors, bounded in bytes. A tensor bigger
 * than the whole budget is regenerated on every use and never cached. Regeneration is
 * deterministic, so eviction never changes a result, only its time.
 */
export class WeightCache {
  // A Map iterates in insertion order: re-inserting on use makes the first key the LRU.
  #entries = new Map<string, Float32Array>();
  /** Integrity digest of each entry, taken when it was stored (see {@link WeightCache.verify}). */
  #digests = new Map<string, number>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;

  /**
   * @param budgetBytes - the most bytes of tensor data kept (default {@link DEFAULT_WEIGHT_CACHE_BYTES})
   * @throws KpcError `INFER_BAD_INPUT` if the budget is not a non-negative number
   */
  constructor(readonly budgetBytes: number = DEFAULT_WEIGHT_CACHE_BYTES) {
    if (typeof budgetBytes !== 'number' || !(budgetBytes >= 0)) {
      throw new KpcError('INFER_BAD_INPUT', `cache budget must be a non-negative number of bytes, got ${String(budgetBytes)}`);
    }
  }

  /** Bytes currently held. */
  get bytes(): number {
    return this.#bytes;
  }
  /** Tensors currently held. */
  get size(): number {
    return this.#entries.size;
  }
  /** Lookups answered from the cache / by regenerating, since creation or {@link WeightCache.clear}. */
  get stats(): { hits: number; misses: number } {
    return { hits: this.#hits, misses: this.#misses };
  }

  /** The tensor under `key`, made by `make()` (and cached if it fits) when absent. */
  get(key: string, make: () => Float32Array): Float32Array {
    const hit = this.#entries.get(key);
    if (hit) {
      this.#hits++;
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    this.#misses++;
    const value = make();
    this.#insert(key, value);
    return value;
  }

  /** Stores a tensor made elsewhere (e.g. by the regeneration Worker), evicting as needed. */
  put(key: string, value: Float32Array): void {
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#digests.delete(key);
      this.#bytes -= old.byteLength;
    }
    this.#insert(key, value);
  }

  /** Keys held, least recently used first. */
  keys(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Keys whose tensor no longer matches the digest taken when it was stored: memory
   * corruption, or a caller that wrote into a shared tensor. Costs one pass over the bytes.
   */
  verify(): string[] {
    const bad: string[] = [];
    for (const [key, value] of this.#entries) if (digest(value) !== this.#digests.get(key)) bad.push(key);
    return bad;
  }

  /**
   * Like {@link WeightCache.verify} over the next `count` tensors only, round-robin: a
   * periodic check then costs a slice of the cache per tick, not a pass over all of it.
   */
  verifySome(count: number): string[] {
    const keys = [...this.#entries.keys()];
    const bad: string[] = [];
    for (let i = 0; i < Math.min(count, keys.length); i++) {
      const key = keys[(this.#cursor + i) % keys.length];
      if (digest(this.#entries.get(key)!) !== this.#digests.get(key)) bad.push(key);
    }
    this.#cursor = keys.length === 0 ? 0 : (this.#cursor + count) % keys.length;
    return bad;
  }
  #cursor = 0;

  /** True when `key` is cached (does not count as a use). */
  has(key: string): boolean {
    return this.#entries.has(key);
  }

  /** Drops every tensor and resets the counters. */
  clear(): void {
    this.#entries.clear();
    this.#digests.clear();
    this.#bytes = 0;
    this.#hits = 0;
    this.#misses = 0;
  }

  #insert(key: string, value: Float32Array): void {
    if (value.byteLength > this.budgetBytes) return;
    for (const [k, v] of this.#entries) {
      if (this.#bytes + value.byteLength <= this.budgetBytes) break;
      this.#entries.delete(k);
      this.#digests.delete(k);
      this.#bytes -= v.byteLength;
    }
    this.#entries.set(key, value);
    this.#digests.set(key, digest(value));
    this.#bytes += value.byteLength;
  }
}

/** FNV-1a over the tensor's 32-bit words: cheap, and any flipped bit changes it. */
function digest(t: Float32Array): number {
  const words = new Uint32Array(t.buffer, t.byteOffset, t.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  return h >>> 0;
}

/** Cache key of a tensor: the model id makes one cache safe to share between models. */
export function tensorKey(modelId: string, ref: TensorRef): string {
  return `${modelId}/${ref.layer}/${ref.name}`;
}

/** The tensors of one model, regenerated on demand through a {@link WeightCache}. */
export class ModelWeights implements TransformerWeights {
  /**
   * @param spec - the validated spec
   * @param modelId - its id (model-spec.ts `modelSpecId`), for cache keys
   * @param cache - where regenerated tensors are kept (may be shared between models)
   */
  constructor(readonly spec: CheckedModelSpec, readonly modelId: string, readonly cache: WeightCache = new WeightCache()) {}

  /** The tensor `ref`, from the cache or regenerated. */
  get(ref: TensorRef): Float32Array {
    return this.cache.get(tensorKey(this.modelId, ref), () => materializeTensor(tensorSource(this.spec, ref)));
  }

  /** Block tensor `name` of block `layer`. */
  block(layer: number, name: BlockTensorName): Float32Array {
    return this.get({ layer, name });
  }

  /** Whole-model tensor `name`. */
  global(name: GlobalTensorName): Float32Array {
    return this.get({ layer: 'global', name });
  }

  /** Matrix `name` of block `layer`, multiplied in {@link matMul}'s order. */
  matrix(layer: number, name: BlockMatrixName): WeightMatrix {
    return this.#matrix({ layer, name });
  }

  /** Norm gain `name` of block `layer`. */
  vector(layer: number, name: BlockVectorName): Float32Array {
    return this.block(layer, name);
  }

  /** Copies row `token` of the embedding table into `out` at `offset`. */
  embedRow(token: number, out: Float32Array, offset: number): void {
    const dim = this.spec.dim;
    out.set(this.global('embedding').subarray(token * dim, (token + 1) * dim), offset);
  }

  /** The final norm's gain. */
  finalNorm(): Float32Array {
    return this.global('finalNorm');
  }

  /** The output matrix (vocab × dim). */
  output(): WeightMatrix {
    return this.#matrix({ layer: 'global', name: 'output' });
  }

  #matrix(ref: TensorRef): WeightMatrix {
    const { rows, cols } = tensorShape(this.spec, ref);
    // Fetched at multiply time, not here: the cache may evict it in between, and the
    // bits do not depend on whether it was regenerated.
    return { rows, cols, mul: (x, n, out) => matMul(this.get(ref), rows, cols, x, n, out) };
  }
}
