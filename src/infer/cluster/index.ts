/**
 * Distributed, verified inference: the model's blocks spread over the mesh's READY
 * members by rendezvous hashing, activations pipelined through them as binary INFER
 * frames, failed holders replaced mid-generation, and — with redundancy r — every
 * segment's output accepted only when ⌈2r/3⌉ nodes agree on its checksum, which the
 * bit-exact kernels make possible. See docs/distributed-inference.md.
 * @packageDocumentation
 */

export {
  /** Distributed inference of one node: serves others' segments, generates over the cluster. */
  ClusterInference,
  /** Largest INFER body by default: 256 KiB minus the 116-byte envelope. */
  DEFAULT_MAX_FRAME_BYTES,
} from './cluster-inference.js';

export {
  /** Cuts a model into segments and gives each to r members by rendezvous hashing. */
  assignSegments,
  /** Members in rendezvous order for one segment. */
  rankMembers,
  /** The rendezvous score of a member for a segment. */
  rendezvousScore,
  /** Even contiguous split of L blocks into S ranges. */
  splitLayers,
  /** Domain prefix of the rendezvous hash. */
  RENDEZVOUS_DOMAIN,
  /** One segment's range, holders and ranking. */
  type SegmentAssignment,
} from './assignment.js';

export {
  /** Bytes of an INFER frame. */
  encodeFrame,
  /** An INFER frame from bytes, structurally checked. */
  decodeFrame,
  /** Little-endian bytes of float32 activations. */
  floatsToBytes,
  /** Float32 activations of little-endian bytes. */
  bytesToFloats,
  /** Hex SHA-256 of an activation payload. */
  payloadChecksum,
  /** Frame version byte. */
  FRAME_VERSION,
  /** Frame kind bytes. */
  FrameKind,
  /** REQUEST flag bits. */
  RequestFlag,
  /** Any INFER frame. */
  type InferFrame,
  /** REQUEST frame. */
  type RequestFrame,
  /** RESULT frame. */
  type ResultFrame,
  /** ERROR frame. */
  type ErrorFrame,
  /** RELEASE frame. */
  type ReleaseFrame,
  /** PART frame. */
  type PartFrame,
} from './frames.js';

export {
  /** Splits a frame into PART frames that fit a data-channel message. */
  splitFrame,
  /** Puts PART frames back together, with bounded memory. */
  Reassembler,
} from './parts.js';

export {
  /** The serving side: weights, forward passes and KV caches for others' jobs. */
  SegmentServer,
  /** Options of SegmentServer. */
  type SegmentServerOptions,
} from './server.js';

export {
  /** Agreeing votes needed among r: ⌈2r/3⌉. */
  redundancyQuorum,
  /** The mesh interface the inference layer runs over. */
  type InferenceMesh,
  /** A peer as the inference layer sees it. */
  type InferencePeer,
  /** Constructor options. */
  type ClusterInferenceOptions,
  /** Options of generate. */
  type ClusterGenerateOptions,
  /** One streamed token with its route. */
  type ClusterToken,
  /** Who computed one segment of a token. */
  type RouteHop,
  /** Detail of a `failover` event. */
  type FailoverDetail,
  /** Detail of a `disagreement` event. */
  type DisagreementDetail,
  /** Detail of a `reject` event. */
  type RejectDetail,
  /** INFER traffic counters. */
  type InferTrafficStats,
} from './types.js';
