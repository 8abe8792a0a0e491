/**
 * Trained models from GGUF files (llama.cpp's format): the `llama` architecture, its
 * tensors kept quantized and multiplied as llama.cpp does, its tokenizer from the
 * file's metadata. See docs/models.md.
 * @packageDocumentation
 */
export {
  /** Loads a llama GGUF model (header checks first, then only the tensors needed). */
  loadGgufModel,
  /** A file's metadata as plain values (strings, numbers, typed arrays). */
  metadataLookup,
  /** Options of loadGgufModel. */
  type GgufLoadOptions,
  /** A loaded GGUF model. */
  type GgufModel,
  /** Progress of a load. */
  type ModelLoadProgress,
} from './load.js';
export {
  /** Dimensions of a llama model from GGUF metadata. */
  llamaConfig,
  /** Refuses any architecture but llama, naming it. */
  checkArchitecture,
  /** A llama model's dimensions and constants. */
  type LlamaConfig,
  /** Reads one metadata value. */
  type MetadataLookup,
} from './llama-config.js';
export {
  /** A llama model's tensors, quantized as stored. */
  GgufWeights,
  /** One tensor's bytes and layout. */
  type RawTensor,
} from './gguf-weights.js';
export {
  /** The repo model's name (`kjv-llama-3m`). */
  REPO_MODEL_NAME,
  /** Models shipped in `models/`. */
  REPO_MODELS,
  /** Package-relative path of `name` or `name:type`. */
  repoModelPath,
  /** What a model argument names: preset, repo model, or GGUF location. */
  parseModelRef,
  /** A parsed model argument. */
  type ModelRef,
  /** One repo model. */
  type RepoModel,
  /** A committed type. */
  type RepoModelType,
} from './repo-models.js';
