/**
 * kpc — the K'UHUL π Virtual Cluster SDK, headless core.
 *
 * Everything the elements do is available here without a DOM.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './state/index.js';
export * from './math/index.js';
export * from './crypto/index.js';
export * from './protocol/index.js';
export * from './compute/index.js';
export * from './mesh/index.js';
export * from './node.js';
export * from './cluster.js';
export * from './runtime.js';
export * from './sync/index.js';
export * from './infer/index.js';
export * from './pow/index.js';
export * from './consensus/index.js';
export * from './infer/cluster/index.js';
export * from './admission.js';
export * from './recovery.js';
export * from './gguf/index.js';
export * from './quant/index.js';
export {
  Tokenizer,
  tokenizerFromMetadata,
  PRE_TOKENIZER_NAMES,
  type EncodeOptions as TokenizerEncodeOptions,
  type DecodeOptions as TokenizerDecodeOptions,
  type TokenStreamDecoder,
  type MetadataGetter,
} from './tokenizer/index.js';
export * from './model/index.js';
