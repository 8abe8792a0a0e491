/** Public shapes the mesh reports to the node, the elements and applications. */
import type { NodeState } from '../state/machine.js';

/** What a node knows about one directly connected peer. */
export interface PeerInfo {
  /** The peer's node id (derived from its public key). */
  readonly nodeId: string;
  /** The peer's lifecycle state as it last announced it. */
  readonly state: NodeState | 'UNKNOWN';
  /** Last measured heartbeat round trip, in ms. */
  readonly rttMs?: number;
  /** `Date.now()` when the data channel opened. */
  readonly connectedAt: number;
  /** `suspect` once the peer has been silent for more than one and a half heartbeats. */
  readonly health: 'ok' | 'suspect';
}

/** A node of the cluster as one node sees it (itself, its peers, their peers). */
export interface TopologyNode {
  readonly nodeId: string;
  readonly state: NodeState | 'UNKNOWN';
}

/** An undirected data-channel link; `a < b` lexicographically. */
export interface TopologyLink {
  readonly a: string;
  readonly b: string;
  /**
   * As this node sees its own links: `suspect` (silent for over 1.5 heartbeats) or
   * `dead` (lost without a goodbye, shown for a while). Links reported by peers carry none.
   */
  readonly health?: 'suspect' | 'dead';
}

/** The cluster graph as known locally: own links plus links peers report in heartbeats. */
export interface TopologySnapshot {
  readonly nodes: readonly TopologyNode[];
  readonly links: readonly TopologyLink[];
}
