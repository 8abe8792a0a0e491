/**
 * ClusterRegistry: the π-nodes one page runs for one cluster, and the cluster
 * graph they see together. `<kpc-cluster>` owns one and shares it through
 * context; headless apps can use it directly.
 *
 * Emits `change` (a node was added or removed, or any node's state, peers,
 * topology or hosted-model load changed) — coalesced to one event per microtask.
 */
import type { PiNode } from './node.js';
import type { TopologyLink, TopologyNode, TopologySnapshot } from './mesh/types.js';

const NODE_EVENTS = ['statechange', 'peers', 'topology', 'recovery', 'model-progress'] as const;
const HEALTH_RANK = { ok: 0, suspect: 1, dead: 2 } as const;

/** The page's nodes of one cluster. */
export class ClusterRegistry extends EventTarget {
  private readonly members = new Set<PiNode>();
  private queued = false;
  private readonly onNodeChange = () => this.changed();

  /** Nodes registered, in registration order. */
  get nodes(): readonly PiNode[] {
    return [...this.members];
  }

  /** Adds a node; its events now feed `change`. */
  add(node: PiNode): void {
    if (this.members.has(node)) return;
    this.members.add(node);
    NODE_EVENTS.forEach((t) => node.addEventListener(t, this.onNodeChange));
    this.changed();
  }

  /** Removes a node (it keeps running; stopping it is the owner's call). */
  remove(node: PiNode): void {
    if (!this.members.delete(node)) return;
    NODE_EVENTS.forEach((t) => node.removeEventListener(t, this.onNodeChange));
    this.changed();
  }

  /**
   * The union of every local node's view. A node's own state wins over what
   * others report of it, and a known state wins over `UNKNOWN`.
   */
  topology(): TopologySnapshot {
    return mergeTopologies(this.nodes.map((n) => n.topology()), new Set(this.nodes.map((n) => n.nodeId ?? '')));
  }

  private changed(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      this.dispatchEvent(new Event('change'));
    });
  }
}

/** Merges snapshots; the first node of each snapshot is the reporter, authoritative for itself. */
export function mergeTopologies(views: readonly TopologySnapshot[], local: ReadonlySet<string> = new Set()): TopologySnapshot {
  const nodes = new Map<string, TopologyNode & { self: boolean }>();
  const links = new Map<string, { link: TopologyLink; firsthand: boolean }>();
  for (const view of views) {
    const reporter = view.nodes[0]?.nodeId;
    view.nodes.forEach((n, i) => {
      const self = i === 0;
      const prev = nodes.get(n.nodeId);
      if (!prev || (self && !prev.self) || (!prev.self && prev.state === 'UNKNOWN')) {
        nodes.set(n.nodeId, { nodeId: n.nodeId, state: n.state, self: self || local.has(n.nodeId) });
      }
    });
    for (const l of view.links) {
      // An end of the link knows its health; a third node only relays that it exists.
      // Between two firsthand reports, the healthier wins.
      const key = `${l.a}|${l.b}`;
      const firsthand = l.a === reporter || l.b === reporter;
      const prev = links.get(key);
      const better = !prev || (firsthand && !prev.firsthand) ||
        (firsthand === prev.firsthand && HEALTH_RANK[l.health ?? 'ok'] < HEALTH_RANK[prev.link.health ?? 'ok']);
      if (better) links.set(key, { link: l, firsthand });
    }
  }
  return {
    nodes: [...nodes.values()].map(({ nodeId, state }) => ({ nodeId, state })).sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1)),
    links: [...links.values()].map((v) => v.link),
  };
}
