/**
 * Inference: a Llama-style decoder-only transformer whose weights are regenerated from a
 * ~0.2 KB model spec by the bit-exact π-kernel, and a deterministic forward pass (same
 * bits in Node and every browser) cut into layer ranges the mesh can pipeline.
 *
 * Procedural weights are **untrained**: the output is deterministic, not meaningful
 * language. What it is for: verifiable distributed compute (any node can recompute any
 * range and compare checksums), load and scale. See docs/inference.md.
 * @packageDocumentation
 */

export {
  /** `'kpc-model'`. */
  MODEL_FORMAT,
  /** The spec version this code reads (1). */
  MODEL_VERSION,
  /** Vocabulary of the byte-level tokenizer (259). */
  BYTE_VOCAB,
  /** The built-in specs `kpc-tiny` and `kpc-small`. */
  MODEL_PRESETS,
  /** Validates a spec (KpcError `INFER_BAD_SPEC` naming the field); fills in defaults. */
  checkModelSpec,
  /** The spec as the plain document that is hashed and sent (defaults filled in). */
  normalizeModelSpec,
  /** SHA-256 hex of the normalized spec's canonical JSON: the model's id. */
  modelSpecId,
  /** A preset by name, or the given spec, validated. */
  resolveModelSpec,
  /** The model spec document. */
  type ModelSpec,
  /** A validated spec with defaults and `headDim`. */
  type CheckedModelSpec,
  /** Name of a built-in spec. */
  type ModelPresetName,
} from './model-spec.js';

export {
  /** Kernel layer index of the whole-model tensors (0xFFFFFFFF). */
  GLOBAL_LAYER,
  /** Kernel tensor index of each block tensor. */
  BLOCK_TENSORS,
  /** Kernel tensor index of each whole-model tensor. */
  GLOBAL_TENSORS,
  /** Default byte budget of a WeightCache (256 MiB). */
  DEFAULT_WEIGHT_CACHE_BYTES,
  /** Byte-bounded LRU cache of regenerated tensors. */
  WeightCache,
  /** A model's tensors, regenerated on demand through a WeightCache. */
  ModelWeights,
  /** Rows and columns of a tensor. */
  tensorShape,
  /** Where a tensor comes from (kernel call, scale, offset). */
  tensorSource,
  /** Regenerates a tensor from its source. */
  materializeTensor,
  /** Applies a source's scale/offset to a raw kernel tensor (e.g. from the Worker). */
  finishTensor,
  /** Every tensor of a model. */
  allTensors,
  /** Number of weights of a model. */
  parameterCount,
  /** Cache key of a tensor. */
  tensorKey,
  /** Names a tensor. */
  type TensorRef,
  /** A tensor's source description. */
  type TensorSource,
  /** Name of a block tensor. */
  type BlockTensorName,
  /** Name of a whole-model tensor. */
  type GlobalTensorName,
} from './weights.js';

export {
  /** embed / runLayers / logits over regenerated weights, bit-exact. */
  Transformer,
  /** Keys and values of a range of blocks. */
  KvCache,
  /** SHA-256 hex of an array's little-endian bytes, for quorum checks. */
  activationChecksum,
} from './forward.js';

export {
  /** Byte-level tokens of a string (BOS first by default). */
  encode,
  /** Text of byte-level tokens (malformed UTF-8 → U+FFFD). */
  decode,
  /** Token-by-token UTF-8 decoding that holds back incomplete characters. */
  StreamDecoder,
  /** Beginning-of-sequence token (256). */
  BOS,
  /** End-of-sequence token (257). */
  EOS,
  /** Padding token (258). */
  PAD,
} from './tokenizer.js';

export {
  /** The seeded PRNG of sampling. */
  mulberry32,
  /** Deterministic temperature / argmax sampling. */
  sampleToken,
  /** Repetition penalty, top-k, top-p and temperature in llama.cpp's order, deterministic. */
  sampleNext,
  /** Options of sampleNext. */
  type SamplingOptions,
} from './sampler.js';

export {
  /** What the forward pass needs of a model source. */
  type TransformerWeights,
  /** A model's dimensions and constants. */
  type ModelDims,
  /** A matrix that multiplies activation rows. */
  type WeightMatrix,
  /** Names of a block's matrices. */
  type BlockMatrixName,
  /** Names of a block's norm gains. */
  type BlockVectorName,
} from './transformer-weights.js';

export {
  /** The whole model on one node: load, then stream tokens. */
  LocalModel,
  /** The byte-level tokenizer of procedural models as a TextCodec. */
  BYTE_CODEC,
  /** Tokenizer interface of LocalModel. */
  type TextCodec,
  /** Source and training status of a loaded model. */
  type ModelInfo,
  /** Options of LocalModel.load. */
  type LoadOptions,
  /** Options of LocalModel.generate. */
  type GenerateOptions,
  /** One streamed token. */
  type GeneratedToken,
} from './generate.js';
