/**
 * A llama GGUF model's tensors, held as the file stores them (quantized tensors stay
 * quantized) and multiplied the way llama.cpp's CPU backend does: activations are
 * rounded to float32 and quantized to the weight type's dot-product type, then integer
 * (or half) dot products per block, in a fixed order (src/quant). Keys and values are
 * kept at half precision, as llama.cpp's default KV cache does.
 */
import { KpcError } from '../errors.js';
import type { BlockMatrixName, BlockVectorName, TransformerWeights, WeightMatrix } from '../infer/transformer-weights.js';
import { dequantizeRow, quantMatMul, roundToF16 } from '../quant/index.js';
import type { LlamaConfig } from './llama-config.js';
import { blockTensorName, OUTPUT, OUTPUT_NORM, TOKEN_EMBD } from './tensor-names.js';

/** One tensor's bytes and layout: `rows` rows of `cols` weights of ggml type `type`. */
export interface RawTensor {
  readonly name: string;
  readonly type: number;
  readonly rows: number;
  readonly cols: number;
  readonly bytes: Uint8Array;
}

function missing(name: string): KpcError {
  return new KpcError('MODEL_MISSING_TENSOR', `tensor "${name}" is not loaded on this node`, { name });
}

/** The tensors of a llama model (all of it, or the blocks one node holds). */
export class GgufWeights implements TransformerWeights {
  /** Dimensions and constants from the file's metadata. */
  readonly spec: LlamaConfig;
  /** SHA-256 (hex) of the file's header and every tensor's bytes. */
  readonly modelId: string;
  /** Half-precision keys and values, as llama.cpp. */
  readonly roundKv = roundToF16;
  readonly #tensors: ReadonlyMap<string, RawTensor>;
  readonly #vectors = new Map<string, Float32Array>();
  readonly #matrices = new Map<string, WeightMatrix>();

  /**
   * @param config - the model's dimensions
   * @param modelId - its id
   * @param tensors - loaded tensors by GGUF name (a node may hold only some blocks)
   */
  constructor(config: LlamaConfig, modelId: string, tensors: ReadonlyMap<string, RawTensor>) {
    this.spec = config;
    this.modelId = modelId;
    this.#tensors = tensors;
  }

  /** True when every tensor of blocks [from, to) is held. */
  holds(from: number, to: number): boolean {
    for (let l = from; l < to; l++) if (!this.#tensors.has(blockTensorName(l, 'wq'))) return false;
    return true;
  }

  /** Matrix `name` of block `layer`. */
  matrix(layer: number, name: BlockMatrixName): WeightMatrix {
    return this.#matrix(blockTensorName(layer, name));
  }

  /** Norm gain `name` of block `layer`. */
  vector(layer: number, name: BlockVectorName): Float32Array {
    return this.#vector(blockTensorName(layer, name));
  }

  /** Dequantizes row `token` of the embedding into `out` at `offset` (llama.cpp's get_rows). */
  embedRow(token: number, out: Float32Array, offset: number): void {
    const t = this.#tensors.get(TOKEN_EMBD);
    if (!t) throw missing(TOKEN_EMBD);
    const rowBytes = t.bytes.byteLength / t.rows;
    dequantizeRow(t.type, t.bytes, token * rowBytes, t.cols, out, offset);
  }

  /** The final norm's gain. */
  finalNorm(): Float32Array {
    return this.#vector(OUTPUT_NORM);
  }

  /** `output.weight`, or the embedding when the file ties them. */
  output(): WeightMatrix {
    return this.#matrix(this.#tensors.has(OUTPUT) ? OUTPUT : TOKEN_EMBD);
  }

  #matrix(name: string): WeightMatrix {
    let m = this.#matrices.get(name);
    if (!m) {
      const t = this.#tensors.get(name);
      if (!t) throw missing(name);
      const w = { type: t.type, rows: t.rows, cols: t.cols, bytes: t.bytes };
      m = { rows: t.rows, cols: t.cols, mul: (x, n, out) => quantMatMul(w, x, n, out) };
      this.#matrices.set(name, m);
    }
    return m;
  }

  #vector(name: string): Float32Array {
    let v = this.#vectors.get(name);
    if (!v) {
      const t = this.#tensors.get(name);
      if (!t) throw missing(name);
      v = new Float32Array(t.rows * t.cols);
      dequantizeRow(t.type, t.bytes, 0, v.length, v, 0);
      this.#vectors.set(name, v);
    }
    return v;
  }
}
