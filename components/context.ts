/**
 * The context `<kpc-cluster>` provides to the elements inside it.
 *
 * Consumers subscribe (`@consume({ context: clusterContext, subscribe: true })`):
 * the cluster publishes a new object whenever one of its attributes changes, so
 * a consumer compares fields to see what changed. The registry stays the same
 * object for the cluster element's whole life.
 */
import { ContextRoot, createContext } from '@lit/context';
import type { ClusterRegistry } from '../src/cluster.js';

/** What a `<kpc-cluster>` shares with its descendants. */
export interface ClusterContext {
  /** Cluster name; nodes of different clusters never link. */
  readonly clusterId: string;
  /** Signaling URLs (`ws:`, `wss:`, `local:<name>`), already split and trimmed. */
  readonly signaling: string[];
  /** ICE servers for WebRTC (empty: loopback and LAN only). */
  readonly iceServers: RTCIceServer[];
  /** Proof-of-π admission difficulty in bits; 0 turns admission off; absent: the default (19). */
  readonly powDifficulty?: number;
  /** The page's nodes of this cluster; `<kpc-node>` registers, `<kpc-mesh-view>` draws. */
  readonly registry: ClusterRegistry;
  /** Runs inference for `<kpc-infer>` elements inside (e.g. pipelined over the mesh); absent: they run the model locally. */
  readonly inference?: import('./kpc-infer/backend.js').InferenceBackend;
}

/** The context key (`Symbol('kpc-cluster')`). */
export const clusterContext = createContext<ClusterContext>(Symbol('kpc-cluster'));

/**
 * Elements may be defined in any order (lazy loading, separate bundles). A
 * `<kpc-node>` upgraded before its `<kpc-cluster>` asks for the context before
 * anyone can answer; a ContextRoot on the document keeps such requests and
 * replays them when a provider appears. Installed once per page.
 */
const ROOT_FLAG = Symbol.for('kpc.context-root');
if (typeof document !== 'undefined' && !(globalThis as Record<symbol, unknown>)[ROOT_FLAG]) {
  (globalThis as Record<symbol, unknown>)[ROOT_FLAG] = true;
  new ContextRoot().attach(document.documentElement);
}
