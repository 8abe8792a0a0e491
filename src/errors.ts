/**
 * Typed errors shared by every concern of the core.
 *
 * Every failure a caller can act on is a {@link KpcError} with a stable `code`,
 * so applications branch on `err.code` instead of parsing messages.
 */

/** Stable, documented error codes. Add new ones here so they stay discoverable. */
export type KpcErrorCode =
  // math
  | 'MATH_INVALID_SHAPE'
  // protocol / codec
  | 'PROTO_OVERSIZE'
  | 'PROTO_MALFORMED'
  | 'PROTO_UNKNOWN_TYPE'
  | 'PROTO_BAD_VERSION'
  | 'PROTO_BAD_SIGNATURE'
  | 'PROTO_WRONG_SENDER'
  | 'PROTO_BAD_BODY'
  | 'PROTO_CLOCK_SKEW'
  | 'PROTO_BAD_MAC'
  // crypto / identity
  | 'CRYPTO_BAD_KEY'
  | 'CRYPTO_BAD_ENCODING'
  // state machine
  | 'STATE_INVALID_TRANSITION'
  // mesh / signaling
  | 'MESH_SIGNAL_UNKNOWN_PEER'
  | 'MESH_WRONG_TOPIC'
  | 'MESH_SIGNALING_UNAVAILABLE'
  | 'MESH_CLOSED'
  | 'MESH_NOT_ADMITTED'
  | 'MESH_RATE_LIMITED'
  | 'MESH_BAD_HANDSHAKE'
  | 'PROTO_REPLAY'
  // recovery
  | 'RECOVERY_TIMEOUT'
  // configuration
  | 'CONFIG_INVALID'
  // node lifecycle
  | 'NODE_STOPPED'
  | 'NODE_START_FAILED'
  // compute
  | 'COMPUTE_WORKER_FAILED'
  // consensus (src/consensus)
  | 'CONSENSUS_TIMEOUT'
  | 'CONSENSUS_REJECTED'
  | 'CONSENSUS_CONFLICT'
  | 'CONSENSUS_UNKNOWN_KIND'
  | 'CONSENSUS_NOT_MEMBER'
  | 'CONSENSUS_BAD_MESSAGE'
  | 'CONSENSUS_BAD_CERTIFICATE'
  | 'CONSENSUS_FORK'
  | 'CONSENSUS_CLOSED'
  // sync (CRDT core, src/sync)
  | 'SYNC_CLOCK_SKEW'
  | 'SYNC_BAD_DELTA'
  | 'SYNC_BAD_CHECKSUM'
  | 'SYNC_UNKNOWN_KIND'
  | 'SYNC_BAD_WRITE'
  | 'SYNC_BAD_VECTOR'
  | 'SYNC_BUFFER_FULL'
  | 'SYNC_EQUIVOCATION'
  | 'SYNC_STORAGE_FAILED'
  | 'SYNC_CLOSED'
  // inference (src/infer)
  | 'INFER_BAD_SPEC'
  | 'INFER_BAD_INPUT'
  | 'INFER_CONTEXT_OVERFLOW'
  | 'INFER_ABORTED'
  // distributed inference (src/infer/cluster)
  | 'INFER_BAD_FRAME'
  | 'INFER_UNKNOWN_MODEL'
  | 'INFER_KV_MISSING'
  | 'INFER_TIMEOUT'
  | 'INFER_NO_QUORUM'
  | 'INFER_DISAGREEMENT'
  | 'INFER_UNAVAILABLE'
  // proof-of-π admission (src/pow)
  | 'POW_BAD_PARAMS'
  | 'POW_MALFORMED'
  | 'POW_INVALID'
  | 'POW_WRONG_KEY'
  | 'POW_WRONG_CLUSTER'
  | 'POW_EXPIRED'
  | 'POW_EPOCH_FUTURE'
  | 'POW_TOO_EASY'
  | 'POW_ABORTED'
  // GGUF files (src/gguf)
  | 'GGUF_BAD_MAGIC'
  | 'GGUF_BAD_VERSION'
  | 'GGUF_TRUNCATED'
  | 'GGUF_LIMIT'
  | 'GGUF_BAD_VALUE'
  | 'GGUF_UNKNOWN_TENSOR_TYPE'
  | 'GGUF_BAD_TENSOR'
  | 'GGUF_SOURCE_FAILED'
  // quantized tensors (src/quant)
  | 'QUANT_BAD_SHAPE'
  | 'QUANT_UNSUPPORTED_TYPE'
  // tokenizers (src/tokenizer)
  | 'TOKENIZER_UNSUPPORTED'
  | 'TOKENIZER_BAD_VOCAB'
  | 'TOKENIZER_BAD_TEMPLATE'
  // trained models (src/model)
  | 'MODEL_UNSUPPORTED_ARCH'
  | 'MODEL_BAD_METADATA'
  | 'MODEL_MISSING_TENSOR'
  // hosted models in a cluster (src/model/hosted)
  | 'MODEL_BAD_MANIFEST'
  | 'MODEL_INTEGRITY'
  | 'MODEL_DOWNLOAD_FAILED'
  | 'MODEL_STORAGE_FULL'
  | 'MODEL_DOES_NOT_FIT';

/** Base class of every error the SDK throws on purpose. */
export class KpcError extends Error {
  /** Machine-readable reason; stable across releases. */
  readonly code: KpcErrorCode;
  /** Optional structured context (never secrets). */
  readonly detail?: Record<string, unknown>;

  constructor(code: KpcErrorCode, message: string, detail?: Record<string, unknown>) {
    super(message);
    this.name = 'KpcError';
    this.code = code;
    this.detail = detail;
  }
}

/** True when `err` is a {@link KpcError}, optionally with the given code. */
export function isKpcError(err: unknown, code?: KpcErrorCode): err is KpcError {
  return err instanceof KpcError && (code === undefined || err.code === code);
}
