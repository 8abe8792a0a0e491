/**
 * Tokenizers of GGUF models (llama.cpp's `tokenizer.ggml.*` metadata): SentencePiece
 * (`llama`) and byte-level BPE (`gpt2`), token for token as llama.cpp. See
 * docs/tokenizers.md.
 */
export { Tokenizer, tokenizerFromMetadata, type EncodeOptions } from './tokenizer.js';
export type { DecodeOptions } from './detokenize.js';
export type { TokenStreamDecoder } from './stream-decoder.js';
export type { MetadataGetter } from './vocab.js';
export { PRE_TOKENIZER_NAMES } from './pre-types.js';
export {
  ChatTemplate,
  ChatSession,
  CHAT_LIMITS,
  chatSpecials,
  chatEncodeOptions,
  type ChatMessage,
  type ChatSpecials,
  type ChatFormatOptions,
} from './chat.js';
