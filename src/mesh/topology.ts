/** The cluster graph as one node sees it: its own links (with their health) and its peers'. */
import type { NodeState } from '../state/machine.js';
import type { PeerInfo, TopologyLink, TopologyNode, TopologySnapshot } from './types.js';

/** What a node knows for its topology. */
export interface TopologyInput {
  self: string;
  state: NodeState;
  /** Open links, with the peer's announced state and the link's health. */
  peers: readonly PeerInfo[];
  /** The peers each peer reported in its last heartbeat. */
  peersOf: (nodeId: string) => readonly string[];
  /** Links lost without a goodbye, still shown as dead. */
  dead: Iterable<string>;
  /** State of a node known only from signaling. */
  stateOf: (nodeId: string) => NodeState | 'UNKNOWN';
}

/** This node first (the merge treats the first node as the reporter), then everyone it knows of. */
export function buildTopology(t: TopologyInput): TopologySnapshot {
  const nodes = new Map<string, TopologyNode>();
  const links = new Map<string, TopologyLink>();
  const key = (x: string, y: string) => (x < y ? `${x}|${y}` : `${y}|${x}`);
  const addLink = (x: string, y: string, health?: 'suspect' | 'dead') => {
    const [a, b] = x < y ? [x, y] : [y, x];
    links.set(`${a}|${b}`, health ? { a, b, health } : { a, b });
  };
  nodes.set(t.self, { nodeId: t.self, state: t.state });
  for (const id of t.dead) {
    if (!nodes.has(id)) nodes.set(id, { nodeId: id, state: 'UNKNOWN' });
    addLink(t.self, id, 'dead');
  }
  for (const peer of t.peers) {
    nodes.set(peer.nodeId, { nodeId: peer.nodeId, state: peer.state });
    addLink(t.self, peer.nodeId, peer.health === 'suspect' ? 'suspect' : undefined);
    for (const far of t.peersOf(peer.nodeId)) {
      // Our own links are already in, with the health only we can see: never overwrite them.
      if (far === t.self) continue;
      if (!nodes.has(far)) nodes.set(far, { nodeId: far, state: t.stateOf(far) });
      if (!links.has(key(far, peer.nodeId))) addLink(peer.nodeId, far);
    }
  }
  return { nodes: [...nodes.values()], links: [...links.values()] };
}
