/**
 * The networked parts of a π-node, built and torn down together: mesh (spec §4),
 * consensus (§5.2), state gossip (§5.1) and the inference server/requester. PiNode
 * owns one at a time; `hardReset` replaces it without touching identity or state.
 */
import { ConsensusEngine } from './consensus/index.js';
import type { Identity } from './crypto/index.js';
import { clusterExecutors } from './decisions.js';
import { connectConsensus, floodConsensus } from './gossip/consensus-gossip.js';
import { SyncGossip } from './gossip/sync-gossip.js';
import { ClusterInference } from './infer/cluster/index.js';
import type { WeightCache } from './infer/index.js';
import type { LinkFactory } from './mesh/link.js';
import { Mesh } from './mesh/mesh.js';
import type { SignalingChannel } from './mesh/signaling.js';
import type { Admission } from './mesh/discovery.js';
import { WebRtcLinkFactory } from './mesh/webrtc-link.js';
import { MessageType } from './protocol/index.js';
import type { Runtime } from './runtime.js';
import type { NodeState } from './state/machine.js';
import type { Replica } from './sync/index.js';
import type { HostedModelDecision } from './node-models.js';

/** What the network is built from. */
export interface NetworkConfig {
  identity: Identity;
  replica: Replica;
  weights: WeightCache;
  runtime: Runtime;
  clusterId: string;
  signaling: string[];
  links?: LinkFactory;
  iceServers?: RTCIceServer[];
  minPeers?: number;
  maxPeers?: number;
  heartbeatMs?: number;
  connectTimeoutMs?: number;
  consensusTimeoutMs?: number;
  antiEntropyMs?: number;
  createSignaling?: (url: string) => SignalingChannel;
  log?: (level: 'debug' | 'info' | 'warn', msg: string, ctx?: Record<string, unknown>) => void;
  admission?: Admission;
  linkRate?: { perSecond: number; burst: number };
  getState: () => NodeState;
  readyMembers: () => string[];
  isEvicted: (nodeId: string) => boolean;
  onEvicted: (nodeId: string) => void;
  /** A committed `model-ref` decision (the node loads its share). */
  onModel: (decision: HostedModelDecision) => void;
  /** A peer's announced budget for hosted models, bytes. */
  budgetOf: (nodeId: string) => number | undefined;
  /** Every event of the parts, re-emitted by the node under these names. */
  forward: (type: string, detail: unknown) => void;
  /** Called after a mesh event, so the node re-evaluates its lifecycle. */
  changed: () => void;
  onSignalingUp: () => void;
  onCaughtUp: () => void;
}

/** The live parts. */
export interface Network {
  readonly mesh: Mesh;
  readonly consensus: ConsensusEngine;
  readonly gossip: SyncGossip;
  readonly inference: ClusterInference;
  /** Starts discovery and gossip. */
  start(): void;
  /** Leaves cleanly (goodbyes, OFFLINE announce) and closes everything. */
  stop(reason: string): Promise<void>;
}

const MESH_EVENTS = ['peers', 'topology', 'message', 'reject', 'signaling', 'peer-open', 'peer-close'];

/** Builds the networked parts of a node; nothing runs until `start()`. */
export function createNetwork(c: NetworkConfig): Network {
  const mesh = new Mesh({
    identity: c.identity,
    clusterId: c.clusterId,
    signaling: c.signaling,
    links: c.links ?? new WebRtcLinkFactory({ iceServers: c.iceServers }),
    getState: c.getState,
    minPeers: c.minPeers,
    maxPeers: c.maxPeers,
    heartbeatMs: c.heartbeatMs,
    connectTimeoutMs: c.connectTimeoutMs,
    log: c.log,
    createSignaling: c.createSignaling,
    runtime: c.runtime,
    refuse: c.isEvicted,
    admission: c.admission,
    linkRate: c.linkRate,
  });
  for (const type of MESH_EVENTS) {
    mesh.addEventListener(type, (ev) => {
      c.forward(type, (ev as CustomEvent).detail);
      c.changed();
    });
  }
  mesh.addEventListener('signaling', (ev) => {
    if ((ev as CustomEvent<{ connected: boolean }>).detail.connected) c.onSignalingUp();
  });

  const consensus = new ConsensusEngine({
    identity: c.identity,
    runtime: c.runtime,
    timeoutMs: c.consensusTimeoutMs,
    executors: clusterExecutors(c.replica, c.onEvicted, c.onModel),
    members: c.readyMembers,
    send: (bytes) => floodConsensus(mesh, bytes),
  });
  const unwireConsensus = connectConsensus(mesh, consensus);
  for (const type of ['commit', 'rollback', 'equivocation']) {
    consensus.addEventListener(type, (ev) => c.forward(`consensus-${type}`, (ev as CustomEvent).detail));
  }

  const gossip = new SyncGossip({ mesh, replica: c.replica, runtime: c.runtime, antiEntropyMs: c.antiEntropyMs });
  gossip.addEventListener('caught-up', c.onCaughtUp);

  const inference = new ClusterInference({
    nodeId: c.identity.nodeId,
    runtime: c.runtime,
    cache: c.weights,
    mesh: {
      peers: () => mesh.peers.map((p) => ({ nodeId: p.nodeId, state: p.state, budget: c.budgetOf(p.nodeId) })),
      send: (to, body) => mesh.sendMessage(to, { type: MessageType.INFER, body }),
      onFrame: (cb) => {
        const on = (ev: Event) => {
          const d = (ev as CustomEvent<{ from: string; type: number; body: unknown }>).detail;
          if (d.type === MessageType.INFER) cb(d.from, d.body as Uint8Array);
        };
        mesh.addEventListener('protocol', on);
        return () => mesh.removeEventListener('protocol', on);
      },
      penalize: (id, err) => mesh.penalize(id, err),
    },
  });
  // Its rejections already reach `reject` through mesh.penalize; failovers and disagreements are news.
  for (const t of ['failover', 'disagreement']) inference.addEventListener(t, (ev) => c.forward(t, (ev as CustomEvent).detail));

  return {
    mesh,
    consensus,
    gossip,
    inference,
    start() {
      mesh.start();
      gossip.start();
    },
    async stop(reason) {
      inference.close();
      unwireConsensus();
      consensus.close();
      gossip.stop();
      await mesh.stop(reason);
    },
  };
}
