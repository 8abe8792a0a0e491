/**
 * The kpc elements. Importing this module defines (registers) every element:
 * `<kpc-cluster>`, `<kpc-node>`, `<kpc-mesh-view>`, `<kpc-infer>`.
 *
 * Only element-side names are exported here; the headless core is `kpc-sdk/core`
 * (`src/index.ts`), and the single-file build (`components/kpc.ts`) exports both.
 */
export * from './context.js';
export * from './shared/state-colors.js';
export { validIceServers } from './shared/config.js';
export { KpcCluster } from './kpc-cluster/kpc-cluster.js';
export { KpcNode, type KpcErrorDetail, type KpcReadyDetail, type KpcSignalingDetail } from './kpc-node/kpc-node.js';
export { KpcMeshView, circleLayout, summarizeTopology } from './kpc-mesh-view/kpc-mesh-view.js';
export { KpcInfer, LocalInferenceBackend, localInferenceBackend, isProceduralModel, resolveModelRef, modelNote, THIS_TAB, UNTRAINED_NOTE, formatLayers, type InferenceBackend, type InferenceOptions, type InferenceToken, type RouteSegment, type InferenceSource, type InferStatus, type KpcGenerateStartDetail, type KpcCompleteDetail } from './kpc-infer/kpc-infer.js';
