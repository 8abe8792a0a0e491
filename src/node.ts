/**
 * PiNode: one π-node — identity, lifecycle (spec §3), mesh (spec §4) and the
 * regeneration worker (spec §6) wired together. No DOM: usable headless.
 *
 * Events (all `CustomEvent`): `statechange` ({@link StateChange}), `peers`
 * ({@link PeerInfo}[]), `topology`, `message` (`{from, body}`), `reject`
 * (`{error, source, from?}` — an untrusted input that was dropped),
 * `signaling` (`{url, connected}`).
 */
import type { LayerSpec } from './math/index.js';
import { RegenWorker } from './compute/index.js';
import type { Identity } from './crypto/index.js';
import { claimIdentitySlot, loadOrCreateIdentity, type SlotClaim } from './crypto/index.js';
import { KpcError } from './errors.js';
import type { LinkFactory } from './mesh/link.js';
import { Mesh } from './mesh/mesh.js';
import type { SignalingChannel } from './mesh/signaling.js';
import type { PeerInfo, TopologySnapshot } from './mesh/types.js';
import { WebRtcLinkFactory } from './mesh/webrtc-link.js';
import { StateMachine, type NodeState, type StateChange } from './state/machine.js';
import { systemRuntime, type Runtime, type TimerHandle } from './runtime.js';
import { SyncGossip } from './gossip/sync-gossip.js';
import { connectConsensus, flood } from './gossip/consensus-gossip.js';
import { ConsensusEngine, type Decision } from './consensus/index.js';
import { EVICTED_PREFIX, clusterExecutors } from './decisions.js';
import { MessageType } from './protocol/index.js';
import { ClusterInference, type ClusterGenerateOptions, type ClusterToken } from './infer/cluster/index.js';
import type { JsonValue } from './protocol/index.js';
import { IndexedDbStorage, Replica, type Entry, type EntryKind, type SyncStorage } from './sync/index.js';

/** Options of {@link PiNode}. */
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
  /** How long a consensus slot waits for a quorum, ms. Default 10000. */
  consensusTimeoutMs?: number;
  /** Background anti-entropy interval, ms. Default 10000. */
  antiEntropyMs?: number;
  /** Clock, timers and randomness; the simulator passes a virtual one. Default: the system's. */
  runtime?: Runtime;
  /** Diagnostic log sink. Default: nothing. */
  log?: (level: 'debug' | 'info' | 'warn', msg: string, ctx?: Record<string, unknown>) => void;
}

/** Splits a comma-separated signaling attribute into URLs. */
export function parseSignalingList(value: readonly string[] | string): string[] {
  const list = typeof value === 'string' ? value.split(',') : [...value];
  return list.map((s) => s.trim()).filter((s) => s.length > 0);
}

/** A π-node. Create, `start()`, listen to events, `stop()`. */
export class PiNode extends EventTarget {
  /** The options the node was created with. */
  readonly options: Readonly<PiNodeOptions>;
  private machine: StateMachine;
  private mesh: Mesh | null = null;
  private identityValue: Identity | null = null;
  private worker: RegenWorker | null = null;
  private slotClaim: SlotClaim | null = null;
  private discoveryTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private syncTimer: TimerHandle | undefined;
  private replica: Replica | null = null;
  private gossip: SyncGossip | null = null;
  private consensus: ConsensusEngine | null = null;
  private unwireConsensus: (() => void) | null = null;
  private inference: ClusterInference | null = null;
  private readonly rt: Runtime;
  private starting: Promise<void> | null = null;
  private readonly changes: StateChange[] = [];

  constructor(options: PiNodeOptions) {
    super();
    if (!options.clusterId) throw new KpcError('CONFIG_INVALID', 'clusterId is required');
    if (parseSignalingList(options.signaling).length === 0) throw new KpcError('CONFIG_INVALID', 'at least one signaling URL is required');
    this.options = Object.freeze({ ...options });
    this.rt = options.runtime ?? systemRuntime;
    this.machine = new StateMachine({ now: () => this.rt.now() });
    this.machine.addEventListener('statechange', this.forwardState);
  }

  /** Current lifecycle state (spec §3). */
  get state(): NodeState {
    return this.machine.state;
  }

  /** This node's id, once BOOTSTRAP has loaded the identity. */
  get nodeId(): string | undefined {
    return this.identityValue?.nodeId;
  }

  /** The identity slot this node holds while it runs (may be `slot-2`, … when the asked-for one was taken). */
  get identitySlot(): string | undefined {
    return this.slotClaim?.slot;
  }

  /** Every transition since construction, oldest first (across restarts). */
  get history(): readonly StateChange[] {
    return this.changes;
  }

  /** Open links. */
  get peers(): PeerInfo[] {
    return this.mesh?.peers ?? [];
  }

  /** The cluster as this node sees it. */
  topology(): TopologySnapshot {
    return this.mesh?.topology() ?? { nodes: this.nodeId ? [{ nodeId: this.nodeId, state: this.state }] : [], links: [] };
  }

  /** Live data-channel settings of the link to `nodeId` (spec §4.2). */
  channelInfo(nodeId: string) {
    return this.mesh?.channelInfo(nodeId) ?? null;
  }

  /**
   * Boots the node: loads its identity, joins the signaling servers and forms links.
   * Resolves once DISCOVERING has begun; watch `statechange` (or {@link whenState}) for READY.
   * Calling it again after {@link stop} starts a new lifecycle from BOOTSTRAP.
   */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    this.starting = this.boot().catch((err) => {
      this.starting = null;
      void this.slotClaim?.release();
      this.slotClaim = null;
      throw err instanceof KpcError ? err : new KpcError('NODE_START_FAILED', String(err));
    });
    return this.starting;
  }

  /** Resolves when the node is in `state` (immediately if it already is). */
  whenState(state: NodeState): Promise<void> {
    if (this.state === state) return Promise.resolve();
    return new Promise((resolve) => {
      const on = () => {
        if (this.state !== state) return;
        this.removeEventListener('statechange', on);
        resolve();
      };
      this.addEventListener('statechange', on);
    });
  }

  /** Sends application bytes to one peer. */
  send(nodeId: string, bytes: Uint8Array): void {
    this.requireMesh().send(nodeId, bytes);
  }

  /** Sends application bytes to every peer; returns how many links took it. */
  broadcast(bytes: Uint8Array): number {
    return this.requireMesh().broadcast(bytes);
  }

  /** Regenerates a layer's weights (spec §6) in the node's Web Worker. */
  regenerateLayer(spec: LayerSpec): Promise<Float32Array> {
    this.worker ??= new RegenWorker();
    return this.worker.generateLayer(spec);
  }

  /** Leaves the mesh and ends in OFFLINE by the shortest path spec §3 allows. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => undefined);
    this.starting = null;
    this.rt.clearTimeout(this.discoveryTimer);
    this.rt.clearTimeout(this.connectTimer);
    this.rt.clearTimeout(this.syncTimer);
    this.inference?.close();
    this.inference = null;
    this.unwireConsensus?.();
    this.unwireConsensus = null;
    this.consensus?.close();
    this.consensus = null;
    this.gossip?.stop();
    this.gossip = null;
    const mesh = this.mesh;
    this.mesh = null;
    await mesh?.stop('node stopped');
    this.replica?.close();
    this.replica = null;
    this.worker?.terminate();
    this.worker = null;
    await this.slotClaim?.release();
    this.slotClaim = null;
    const path: Partial<Record<NodeState, NodeState[]>> = {
      BOOTSTRAP: ['DISCOVERING', 'OFFLINE'],
      DISCOVERING: ['OFFLINE'],
      CONNECTING: ['DEGRADED', 'OFFLINE'],
      SYNCING: ['RECOVERING', 'OFFLINE'],
      READY: ['OFFLINE'],
      DEGRADED: ['OFFLINE'],
      RECOVERING: ['OFFLINE'],
    };
    for (const to of path[this.state] ?? []) this.machine.transition(to, 'stop() called');
  }

  // ------------------------------------------------------------------ internals

  private async boot(): Promise<void> {
    if (this.state !== 'BOOTSTRAP') this.resetMachine();
    let identity = this.options.identity;
    if (!identity) {
      // Two tabs asking for one slot would be one node id twice: the second gets `slot-2`.
      this.slotClaim = await claimIdentitySlot(this.options.identitySlot ?? 'default');
      identity = await loadOrCreateIdentity({ slot: this.slotClaim.slot });
    }
    this.identityValue = identity;
    const storage = this.options.syncStorage?.(identity.nodeId) ?? new IndexedDbStorage({ name: `${this.options.clusterId}/${identity.nodeId}` });
    const replica = await Replica.open({ identity, storage, now: () => this.rt.now() });
    this.replica = replica;
    replica.addEventListener('change', (ev) => this.dispatchEvent(new CustomEvent('change', { detail: (ev as CustomEvent).detail })));
    const mesh = new Mesh({
      identity,
      clusterId: this.options.clusterId,
      signaling: parseSignalingList(this.options.signaling),
      links: this.options.links ?? new WebRtcLinkFactory({ iceServers: this.options.iceServers }),
      getState: () => this.state,
      minPeers: this.options.minPeers,
      maxPeers: this.options.maxPeers,
      heartbeatMs: this.options.heartbeatMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      log: this.options.log,
      createSignaling: this.options.createSignaling,
      runtime: this.rt,
      refuse: (id) => this.isEvicted(id),
    });
    this.mesh = mesh;
    for (const type of ['peers', 'topology', 'message', 'reject', 'signaling', 'peer-open', 'peer-close']) {
      mesh.addEventListener(type, (ev) => {
        this.dispatchEvent(new CustomEvent(type, { detail: (ev as CustomEvent).detail }));
        this.evaluate();
      });
    }
    mesh.addEventListener('signaling', (ev) => {
      if ((ev as CustomEvent<{ connected: boolean }>).detail.connected) this.startDiscoveryWindow();
    });
    const consensus = new ConsensusEngine({
      identity,
      runtime: this.rt,
      timeoutMs: this.options.consensusTimeoutMs,
      executors: clusterExecutors(replica, (id) => this.onEvicted(id)),
      members: () => this.readyMembers(),
      send: (bytes) => flood(mesh, MessageType.CONSENSUS, bytes),
    });
    this.consensus = consensus;
    this.unwireConsensus = connectConsensus(mesh, consensus);
    for (const type of ['commit', 'rollback', 'equivocation']) {
      consensus.addEventListener(type, (ev) => this.dispatchEvent(new CustomEvent(`consensus-${type}`, { detail: (ev as CustomEvent).detail })));
    }
    const gossip = new SyncGossip({ mesh, replica, runtime: this.rt, antiEntropyMs: this.options.antiEntropyMs });
    this.gossip = gossip;
    gossip.addEventListener('caught-up', () => this.onCaughtUp());
    this.inference = this.createInference(identity.nodeId, mesh);
    this.machine.transition('DISCOVERING', 'identity and state loaded');
    mesh.start();
    gossip.start();
  }

  private resetMachine(): void {
    this.machine = new StateMachine({ now: () => this.rt.now() });
    this.machine.addEventListener('statechange', this.forwardState);
  }

  private readonly forwardState = (ev: Event): void => {
    const change = (ev as CustomEvent<StateChange>).detail;
    this.changes.push(change);
    this.mesh?.notifyStateChanged();
    this.dispatchEvent(new CustomEvent<StateChange>('statechange', { detail: change }));
  };

  private startDiscoveryWindow(): void {
    if (this.state !== 'DISCOVERING' || this.discoveryTimer !== undefined) return;
    const windowMs = this.options.discoveryWindowMs ?? 1_000;
    this.discoveryTimer = this.rt.setTimeout(() => {
      if (this.state !== 'DISCOVERING' || !this.mesh) return;
      if (this.mesh.knownOthers === 0) {
        // Alone in the cluster: a cluster of one is a working cluster.
        this.machine.transition('CONNECTING', 'no other node found');
        this.machine.transition('SYNCING', 'nothing to connect to');
        this.machine.transition('READY', 'alone in the cluster');
      }
    }, windowMs);
  }

  /** Moves the lifecycle forward from what the mesh reports. */
  private evaluate(): void {
    const mesh = this.mesh;
    if (!mesh) return;
    const open = mesh.peers.length;
    const required = mesh.requiredPeers;
    switch (this.state) {
      case 'DISCOVERING':
        if (mesh.knownOthers > 0) {
          this.machine.transition('CONNECTING', 'found other nodes');
          this.connectTimer = this.rt.setTimeout(() => this.connectTimedOut(), this.options.connectTimeoutMs ?? 10_000);
          this.evaluate();
        }
        return;
      case 'CONNECTING':
        if (open > 0 && open >= required) this.enterSync(`${open} peer links open`);
        return;
      case 'READY':
        if (open < required) this.machine.transition('DEGRADED', `only ${open} of ${required} peer links`);
        return;
      case 'DEGRADED':
        if (open >= required && open > 0) {
          this.machine.transition('RECOVERING', 'peer links back');
          this.machine.transition('READY', `${open} peer links open`);
        }
        return;
      default:
        return;
    }
  }

  private connectTimedOut(): void {
    if (this.state !== 'CONNECTING' || !this.mesh) return;
    const open = this.mesh.peers.length;
    if (open > 0) this.enterSync(`connect window over with ${open} peer links`);
    else this.machine.transition('DEGRADED', 'no peer link opened');
  }

  private enterSync(cause: string): void {
    this.rt.clearTimeout(this.connectTimer);
    this.machine.transition('SYNCING', cause);
    if (this.gossip?.caughtUp) return this.onCaughtUp();
    // Spec §3 allows SYNCING → RECOVERING: a slow catch-up keeps going from there.
    this.syncTimer = this.rt.setTimeout(() => {
      if (this.state === 'SYNCING') this.machine.transition('RECOVERING', 'state sync timed out');
    }, this.options.syncTimeoutMs ?? 10_000);
  }

  private onCaughtUp(): void {
    if (this.state !== 'SYNCING' && this.state !== 'RECOVERING') return;
    this.rt.clearTimeout(this.syncTimer);
    this.machine.transition('READY', 'caught up with peers');
  }

  // ------------------------------------------------------------------ cluster state (spec §5)

  /**
   * Writes `value` under `key` in the replicated cluster state. Resolves once the write
   * is durably stored (the acknowledgement); it then spreads to every node by gossip.
   * `Uint8Array` values are binary (kind `bytes`, or `weights`) and carry a SHA-256 that
   * every receiver checks.
   */
  put(key: string, value: JsonValue | Uint8Array, opts?: { kind?: EntryKind }): Promise<Entry> {
    return this.requireReplica().put(key, value, opts);
  }

  /** The current entry under `key`, or undefined. */
  get(key: string): Entry | undefined {
    return this.requireReplica().get(key);
  }

  /** Deletes `key` (a tombstone that wins by the same rule as writes). */
  delete(key: string): Promise<void> {
    return this.requireReplica().delete(key);
  }

  /** Live entries whose key starts with `prefix`, in key order. */
  entries(prefix = ''): Entry[] {
    return this.requireReplica().entries(prefix);
  }

  /**
   * Calls `fn` for every change (local or remote) to a key starting with `prefix`.
   * Returns the function that stops it.
   */
  subscribe(prefix: string, fn: (key: string, entry: Entry | undefined) => void): () => void {
    const onChange = (ev: Event) => {
      const { key, entry } = (ev as CustomEvent<{ key: string; entry: Entry | undefined }>).detail;
      if (key.startsWith(prefix)) fn(key, entry);
    };
    this.addEventListener('change', onChange);
    return () => this.removeEventListener('change', onChange);
  }

  /** Version vector of the local replica: how many deltas of each author it holds. */
  versionVector(): Record<string, number> {
    return { ...this.requireReplica().versionVector() };
  }

  // ------------------------------------------------------------------ inference

  /**
   * Generates tokens with the layers spread over the READY nodes of the cluster
   * (this one included), each regenerating its layers' weights from the model spec.
   * Same spec, prompt and sampling options give the same tokens as a single node.
   * With `redundancy: r`, r nodes compute each segment and their activation checksums
   * must agree by two thirds. Procedural weights are untrained: the output is
   * deterministic, not meaningful language.
   */
  generate(prompt: string, opts: ClusterGenerateOptions): AsyncIterable<ClusterToken> {
    if (!this.inference) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.inference.generate(prompt, opts);
  }

  /** INFER traffic this node sent and received (frames, bytes), for figures. */
  get inferenceStats(): ClusterInference['stats'] | undefined {
    return this.inference?.stats;
  }

  private createInference(nodeId: string, mesh: Mesh): ClusterInference {
    const inference = new ClusterInference({
      nodeId,
      runtime: this.rt,
      mesh: {
        peers: () => mesh.peers,
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
    for (const t of ['failover', 'disagreement']) {
      inference.addEventListener(t, (ev) => this.dispatchEvent(new CustomEvent(t, { detail: (ev as CustomEvent).detail })));
    }
    return inference;
  }

  // ------------------------------------------------------------------ consensus (spec §5.2)

  /**
   * Proposes a cluster decision — `'model-spec'` (payload: a model spec) or `'evict'`
   * (payload: `{nodeId, reason?}`). Resolves with the decision once ≥ 67% of the READY
   * members voted for it and it was executed here (or rolled back: see its `status`).
   * @throws KpcError `CONSENSUS_TIMEOUT` when no quorum formed in time.
   */
  propose(kind: 'model-spec' | 'evict' | (string & {}), payload: JsonValue): Promise<Decision> {
    if (!this.consensus) return Promise.reject(new KpcError('NODE_STOPPED', 'the node is not running'));
    return this.consensus.propose(kind, payload);
  }

  /** Committed decisions, in slot order. */
  get decisions(): readonly Decision[] {
    return this.consensus?.decisions ?? [];
  }

  /** This node and its peers that announced READY: the membership a proposal is voted by. */
  private readyMembers(): string[] {
    const ids = this.nodeId ? [this.nodeId] : [];
    for (const p of this.peers) if (p.state === 'READY' && !this.isEvicted(p.nodeId)) ids.push(p.nodeId);
    return ids.sort();
  }

  private isEvicted(nodeId: string): boolean {
    return this.replica?.get(EVICTED_PREFIX + nodeId) !== undefined;
  }

  private onEvicted(nodeId: string): void {
    if (nodeId === this.nodeId) return;
    this.mesh?.penalize(nodeId, new KpcError('CONSENSUS_REJECTED', 'evicted by cluster decision'), 1_000);
  }

  private requireReplica(): Replica {
    if (!this.replica) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.replica;
  }

  private requireMesh(): Mesh {
    if (!this.mesh) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.mesh;
  }
}
