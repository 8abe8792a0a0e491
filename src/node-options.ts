/** Everything a `PiNode` can be configured with, and the parsing of its inputs. */
import type { TensorStore } from './model/hosted/tensor-store.js';
import type { AdmissionSettings } from './admission.js';
import type { Identity } from './crypto/index.js';
import type { LinkFactory } from './mesh/link.js';
import type { SignalingChannel } from './mesh/signaling.js';
import type { Runtime } from './runtime.js';
import type { SyncStorage } from './sync/index.js';

/** Options of `PiNode`. */
export interface PiNodeOptions {
  /** Cluster name; nodes of different clusters never link. */
  clusterId: string;
  /** Signaling URLs (`ws:`, `wss:`, `local:<name>`), as an array or comma-separated. */
  signaling: readonly string[] | string;
  /** A ready identity; otherwise one is loaded from (or created in) IndexedDB. */
  identity?: Identity;
  /**
   * IndexedDB slot of the identity. Default `'default'`. A slot is held while its node
   * runs; a node asking for a held slot (another tab, or a second node of this page)
   * gets `slot-2`, `slot-3`, … so node ids never repeat in a cluster.
   */
  identitySlot?: string;
  /** ICE servers for WebRTC. Default `[]` (loopback/LAN); add STUN/TURN for the internet. */
  iceServers?: RTCIceServer[];
  /** Links to keep, where the cluster has that many others. Default 3 (spec §4.1). */
  minPeers?: number;
  /** Links to accept at most. Default 8. */
  maxPeers?: number;
  /** Heartbeat interval, ms. Default 5000 (spec §4.1). */
  heartbeatMs?: number;
  /** How long a node listens for others before it concludes it is alone, ms. Default 1000. */
  discoveryWindowMs?: number;
  /** How long CONNECTING may last before the node settles for what it has, ms. Default 10000. */
  connectTimeoutMs?: number;
  /** Replaces WebRTC (the simulator passes an in-memory factory). */
  links?: LinkFactory;
  /** Replaces the signaling channel constructor (simulator, tests). */
  createSignaling?: (url: string) => SignalingChannel;
  /**
   * Where the replicated cluster state (spec §5) is persisted. Default: IndexedDB,
   * one database per node identity and cluster. The simulator passes memory storage.
   */
  syncStorage?: (nodeId: string) => SyncStorage;
  /** How long SYNCING may take before the node goes RECOVERING and keeps catching up, ms. Default 10000. */
  syncTimeoutMs?: number;
  /**
   * Proof-of-π admission (spec §8.1, Sybil and DoS): this node solves a proof bound to
   * its key, the cluster and the epoch (in a Worker) before it announces, and links
   * only to members whose proof verifies. **On by default**, at `DEFAULT_DIFFICULTY`
   * (19 bits) and hourly epochs. Every node of a cluster must use the same settings.
   * `false` turns it off: any signed member is then linked (docs/security.md).
   */
  admission?: AdmissionSettings | false;
  /** Per-peer inbound message rate limit (DoS): default 1000/s with bursts of 2000; a peer far over it is cut off. */
  linkRate?: { perSecond: number; burst: number };
  /** Interval of the health self-check (weight cache integrity), ms. Default 10000. */
  healthCheckMs?: number;
  /** Bound of each recovery rung (spec §7), ms. */
  recoveryTimeouts?: Partial<Record<'reconnectPeers' | 'resyncState' | 'resetMathEngine' | 'hardReset', number>>;
  /** How long a member must stay silent during `reconnectPeers` to be counted gone, ms. Default 1200. */
  probeMs?: number;
  /** How long a consensus slot waits for a quorum, ms. Default 10000. */
  consensusTimeoutMs?: number;
  /** Background anti-entropy interval, ms. Default 10000. */
  antiEntropyMs?: number;
  /** Clock, timers and randomness; the simulator passes a virtual one. Default: the system's. */
  runtime?: Runtime;
  /**
   * Bytes of hosted-model weights this node may hold, announced to the cluster (blocks
   * are assigned by it). Default: a quarter of `navigator.deviceMemory`, 1 GiB where unknown.
   */
  modelBudget?: number;
  /**
   * Where downloaded tensors are kept across reloads. Default: one Cache Storage store
   * shared by the page's nodes (memory where Cache Storage is unavailable).
   */
  tensorStore?: TensorStore;
  /** The fetch used for model files (default: the global one), e.g. to add credentials. */
  modelFetch?: typeof fetch;
  /** Diagnostic log sink. Default: nothing. */
  log?: (level: 'debug' | 'info' | 'warn', msg: string, ctx?: Record<string, unknown>) => void;
}

/** Splits a comma-separated signaling attribute into URLs. */
export function parseSignalingList(value: readonly string[] | string): string[] {
  const list = typeof value === 'string' ? value.split(',') : [...value];
  return list.map((s) => s.trim()).filter((s) => s.length > 0);
}

