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
import type { Mesh } from './mesh/mesh.js';
import type { PeerInfo, TopologySnapshot } from './mesh/types.js';
import { StateMachine, pathToOffline, type NodeState, type StateChange } from './state/machine.js';
import { systemRuntime, type Runtime, type TimerHandle } from './runtime.js';
import { MAX_MEMBERS, type Decision } from './consensus/index.js';
import { topK } from './rendezvous.js';
import type { ClusterGenerateOptions, ClusterInference, ClusterToken } from './infer/cluster/index.js';
import { WeightCache, type LocalModel } from './infer/index.js';
import { createNetwork, type Network } from './node-network.js';
import { NodeModels, type UseModelOptions } from './node-models.js';
import type { HostedModel } from './model/hosted/hosted-model.js';
import type { ModelRef } from './model/hosted/model-ref.js';
import { MATH_PROBE, recoveryActions, runRecoveryLadder, type RecoveryActions, type RecoveryEvent } from './recovery.js';
import { toHex } from './crypto/index.js';
import { parseSignalingList, type PiNodeOptions } from './node-options.js';

export { parseSignalingList, type PiNodeOptions } from './node-options.js';
import { AdmissionTicket } from './admission.js';
import { sha256 } from '@noble/hashes/sha2.js';
import type { JsonValue } from './protocol/index.js';
import { IndexedDbStorage, Replica, type Entry, type EntryKind } from './sync/index.js';

/** A π-node. Create, `start()`, listen to events, `stop()`. */
export class PiNode extends EventTarget {
  /** The options the node was created with. */
  readonly options: Readonly<PiNodeOptions>;
  private machine: StateMachine;
  private net: Network | null = null;
  private identityValue: Identity | null = null;
  private worker: RegenWorker | null = null;
  private slotClaim: SlotClaim | null = null;
  private discoveryTimer: TimerHandle | undefined;
  private connectTimer: TimerHandle | undefined;
  private syncTimer: TimerHandle | undefined;
  private replica: Replica | null = null;
  /** Regenerated tensors of the models this node serves; checked by the math self-test. */
  private readonly weights = new WeightCache();
  private recovering = false;
  /** Nodes evicted by committed decisions (kept across lifecycles of this node). */
  private readonly evicted = new Set<string>();
  private healthTimer: TimerHandle | undefined;
  private restartTimer: TimerHandle | undefined;
  private restartDelayMs = 1_000;
  private detachOnline: (() => void) | null = null;
  private ticket: AdmissionTicket | null = null;
  private readonly rt: Runtime;
  private starting: Promise<void> | null = null;
  private readonly changes: StateChange[] = [];
  /** Hosted models: budget, agreement, this node's share. */
  private readonly models: NodeModels;

  constructor(options: PiNodeOptions) {
    super();
    if (!options.clusterId) throw new KpcError('CONFIG_INVALID', 'clusterId is required');
    if (parseSignalingList(options.signaling).length === 0) throw new KpcError('CONFIG_INVALID', 'at least one signaling URL is required');
    this.options = Object.freeze({ ...options });
    this.rt = options.runtime ?? systemRuntime;
    this.machine = new StateMachine({ now: () => this.rt.now() });
    this.machine.addEventListener('statechange', this.forwardState);
    this.models = new NodeModels({
      nodeId: () => this.nodeId ?? '',
      replica: () => this.replica,
      inference: () => this.net?.inference ?? null,
      propose: (kind, payload) => this.propose(kind, payload),
      emit: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
    }, { budget: options.modelBudget, store: options.tensorStore, fetch: options.modelFetch });
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
    return this.net?.mesh.peers ?? [];
  }

  /** The cluster as this node sees it. */
  topology(): TopologySnapshot {
    return this.net?.mesh.topology() ?? { nodes: this.nodeId ? [{ nodeId: this.nodeId, state: this.state }] : [], links: [] };
  }

  /** Live data-channel settings of the link to `nodeId` (spec §4.2). */
  channelInfo(nodeId: string) {
    return this.net?.mesh.channelInfo(nodeId) ?? null;
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
    this.rt.clearTimeout(this.healthTimer);
    this.rt.clearTimeout(this.restartTimer);
    this.ticket?.close();
    this.ticket = null;
    this.detachOnline?.();
    this.detachOnline = null;
    await this.stopNetwork('node stopped');
    this.replica?.close();
    this.replica = null;
    this.worker?.terminate();
    this.worker = null;
    await this.slotClaim?.release();
    this.slotClaim = null;
    for (const to of pathToOffline(this.state)) this.machine.transition(to, 'stop() called');
  }

  // ------------------------------------------------------------------ internals

  private async boot(): Promise<void> {
    if (this.state !== 'BOOTSTRAP') this.resetMachine();
    // A restart after OFFLINE keeps the identity and the replica it already holds.
    let identity = this.options.identity ?? (this.slotClaim ? (this.identityValue ?? undefined) : undefined);
    if (!identity) {
      // Two tabs asking for one slot would be one node id twice: the second gets `slot-2`.
      this.slotClaim = await claimIdentitySlot(this.options.identitySlot ?? 'default');
      identity = await loadOrCreateIdentity({ slot: this.slotClaim.slot });
    }
    this.identityValue = identity;
    const id = identity;
    const admission = this.options.admission ?? {};
    // The proof is solved in a Worker while the replica opens from IndexedDB.
    const proofReady = admission && !this.ticket ? (this.ticket = new AdmissionTicket(id, this.options.clusterId, admission, this.rt)).solve() : undefined;
    const openReplica = async (): Promise<Replica> => {
      if (this.replica) return this.replica;
      const storage = this.options.syncStorage?.(id.nodeId) ?? new IndexedDbStorage({ name: `${this.options.clusterId}/${id.nodeId}` });
      const replica = await Replica.open({ identity: id, storage, now: () => this.rt.now() });
      this.replica = replica;
      replica.addEventListener('change', (ev) => this.dispatchEvent(new CustomEvent('change', { detail: (ev as CustomEvent).detail })));
      return replica;
    };
    const [replica] = await Promise.all([openReplica(), proofReady]);
    this.net = this.buildNetwork(identity, replica);
    this.machine.transition('DISCOVERING', admission ? 'identity, state and proof-of-π ready' : 'identity and state loaded');
    this.net.start();
    this.healthTimer = this.rt.setInterval(() => void this.checkHealth(), this.options.healthCheckMs ?? 10_000);
    this.detachOnline ??= this.watchBrowserOnline();
  }

  private buildNetwork(identity: Identity, replica: Replica): Network {
    return createNetwork({
      identity,
      replica,
      weights: this.weights,
      runtime: this.rt,
      clusterId: this.options.clusterId,
      signaling: parseSignalingList(this.options.signaling),
      links: this.options.links,
      iceServers: this.options.iceServers,
      minPeers: this.options.minPeers,
      maxPeers: this.options.maxPeers,
      heartbeatMs: this.options.heartbeatMs,
      connectTimeoutMs: this.options.connectTimeoutMs,
      consensusTimeoutMs: this.options.consensusTimeoutMs,
      antiEntropyMs: this.options.antiEntropyMs,
      createSignaling: this.options.createSignaling,
      log: this.options.log,
      getState: () => this.state,
      readyMembers: () => this.readyMembers(),
      isEvicted: (id) => this.isEvicted(id),
      admission: this.ticket ?? undefined,
      linkRate: this.options.linkRate,
      onEvicted: (id) => this.onEvicted(id),
      onModel: (d) => this.models.adopt(d),
      budgetOf: (id) => this.models.budgetOf(id),
      forward: (type, detail) => this.dispatchEvent(new CustomEvent(type, { detail })),
      changed: () => this.evaluate(),
      onSignalingUp: () => this.startDiscoveryWindow(),
      onCaughtUp: () => this.onCaughtUp(),
    });
  }

  private async stopNetwork(reason: string): Promise<void> {
    const net = this.net;
    this.net = null;
    await net?.stop(reason);
  }

  private resetMachine(): void {
    this.machine = new StateMachine({ now: () => this.rt.now() });
    this.machine.addEventListener('statechange', this.forwardState);
  }

  private readonly forwardState = (ev: Event): void => {
    const change = (ev as CustomEvent<StateChange>).detail;
    this.changes.push(change);
    this.net?.mesh.notifyStateChanged();
    // READY: the cluster can now count on this node's budget when it assigns blocks.
    // A model agreed on before this node joined or restarted: load its share now.
    if (change.to === 'READY') {
      void this.models.announceBudget().catch(() => undefined);
      this.models.adoptAgreed();
    }
    this.dispatchEvent(new CustomEvent<StateChange>('statechange', { detail: change }));
  };

  private startDiscoveryWindow(): void {
    if (this.state !== 'DISCOVERING' || this.discoveryTimer !== undefined) return;
    const windowMs = this.options.discoveryWindowMs ?? 1_000;
    this.discoveryTimer = this.rt.setTimeout(() => {
      if (this.state !== 'DISCOVERING' || !this.net) return;
      if (this.net.mesh.knownOthers === 0) {
        // Alone in the cluster: a cluster of one is a working cluster.
        this.machine.transition('CONNECTING', 'no other node found');
        this.machine.transition('SYNCING', 'nothing to connect to');
        this.machine.transition('READY', 'alone in the cluster');
      }
    }, windowMs);
  }

  /** Moves the lifecycle forward from what the mesh reports. */
  private evaluate(): void {
    const mesh = this.net?.mesh;
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
        // A member just discovered is being linked (pending): not a degradation.
        if (open + mesh.pendingLinks < required) {
          this.machine.transition('DEGRADED', `only ${open} of ${required} peer links`);
          void this.recover('links below the minimum');
        }
        return;
      case 'DEGRADED':
        void this.recover('degraded');
        return;
      default:
        return;
    }
  }

  private connectTimedOut(): void {
    if (this.state !== 'CONNECTING' || !this.net) return;
    const open = this.net.mesh.peers.length;
    if (open > 0) this.enterSync(`connect window over with ${open} peer links`);
    else this.machine.transition('DEGRADED', 'no peer link opened');
  }

  private enterSync(cause: string): void {
    this.rt.clearTimeout(this.connectTimer);
    this.machine.transition('SYNCING', cause);
    if (this.net?.gossip.caughtUp) return this.onCaughtUp();
    // Spec §3 allows SYNCING → RECOVERING: a slow catch-up keeps going from there.
    this.syncTimer = this.rt.setTimeout(() => {
      if (this.state === 'SYNCING') this.machine.transition('RECOVERING', 'state sync timed out');
    }, this.options.syncTimeoutMs ?? 10_000);
  }

  private onCaughtUp(): void {
    // RECOVERING here is the slow-sync path (SYNCING → RECOVERING); the ladder decides its own exit.
    if (this.recovering || (this.state !== 'SYNCING' && this.state !== 'RECOVERING')) return;
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
   * deterministic, not meaningful language. `opts.model` may also be a loaded GGUF
   * model (`(await loadGgufModel(url)).localModel()`): the nodes serving its blocks
   * must have loaded the same file and {@link PiNode.serveModel}d it.
   */
  generate(prompt: string, opts: ClusterGenerateOptions): AsyncIterable<ClusterToken> {
    if (!this.net) throw new KpcError('NODE_STOPPED', 'the node is not running');
    const hosted = typeof opts.model === 'object' && opts.model !== null && 'footprint' in opts.model ? opts.model.modelId : undefined;
    // A hosted model: the replicas the cluster agreed on, and this node's announced budget.
    const extra = hosted ? { replicas: opts.replicas ?? Math.max(this.models.replicasOf(hosted), opts.redundancy ?? 1), budget: opts.budget ?? this.models.budget } : {};
    return this.net.inference.generate(prompt, { ...opts, ...extra });
  }

  /**
   * Runs a hosted GGUF model on the cluster: opens it here (its header, and its
   * manifest beside it unless `manifest: false` — refusing an unsupported file, a host
   * without Range or CORS, before any tensor is downloaded), has the cluster agree on
   * it by consensus (`model-ref`), and resolves with this node's {@link HostedModel}.
   * Every node then fetches only the blocks assigned to it by its announced budget
   * (`model-progress` events); pass the result as `generate`'s `model`.
   * @throws KpcError `GGUF_*`, `MODEL_*`, `TOKENIZER_*`, `CONSENSUS_*`, `NODE_STOPPED`
   */
  async useModel(model: string | ModelRef, opts: UseModelOptions = {}): Promise<HostedModel> {
    if (!this.net) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.models.use(model, opts);
  }

  /**
   * This node's copy of an agreed hosted model (opened when the decision committed).
   * @throws KpcError `INFER_UNKNOWN_MODEL` when the cluster agreed on no such model
   */
  hostedModel(modelId: string): Promise<HostedModel> {
    return this.models.opened(modelId) ?? Promise.reject(new KpcError('INFER_UNKNOWN_MODEL', `no hosted model ${modelId} on this node`, { modelId }));
  }

  /**
   * Blocks each node reported holding of the cluster's agreed hosted model (or of
   * `modelId`), by node id; empty when there is none.
   */
  modelHoldings(modelId: string | undefined = this.models.agreedModelId()): Map<string, Array<[number, number]>> {
    return modelId ? this.models.holdings(modelId) : new Map();
  }

  /** Bytes of hosted-model weights this node announced it may hold. */
  get modelBudget(): number {
    return this.models.budget;
  }

  /** Progress of a hosted model's load over the nodes that reported it. */
  modelProgress(modelId: string): { loadedBytes: number; totalBytes: number; nodes: number } {
    return this.models.clusterProgress(modelId);
  }

  /**
   * Answers the cluster's inference requests for a model this node loaded itself (a
   * GGUF model's `localModel()`), by its id. Only procedural specs travel with requests.
   * @throws KpcError `NODE_STOPPED` when the node is not running
   */
  serveModel(model: LocalModel): void {
    if (!this.net) throw new KpcError('NODE_STOPPED', 'the node is not running');
    this.net.inference.register(model);
  }

  /** INFER traffic this node sent and received (frames, bytes), for figures. */
  get inferenceStats(): ClusterInference['stats'] | undefined {
    return this.net?.inference.stats;
  }

  // ------------------------------------------------------------------ consensus (spec §5.2)

  /**
   * Proposes a cluster decision — `'model-spec'` (payload: a model spec) or `'evict'`
   * (payload: `{nodeId, reason?}`). Resolves with the decision once ≥ 67% of the READY
   * members voted for it and it was executed here (or rolled back: see its `status`).
   * @throws KpcError `CONSENSUS_TIMEOUT` when no quorum formed in time.
   */
  propose(kind: 'model-spec' | 'evict' | (string & {}), payload: JsonValue): Promise<Decision> {
    if (!this.net) return Promise.reject(new KpcError('NODE_STOPPED', 'the node is not running'));
    return this.net.consensus.propose(kind, payload);
  }

  /** Committed decisions, in slot order. */
  get decisions(): readonly Decision[] {
    return this.net?.consensus.decisions ?? [];
  }

  /**
   * The membership a proposal is voted by: this node and every other whose latest word
   * is READY (through its link or its announces, so all nodes of a partial mesh see the
   * same list), not evicted. Past the largest list a certificate carries (`MAX_MEMBERS`,
   * 96), the committee is the 96 that weigh most with the cluster id: the same for all.
   */
  private readyMembers(): string[] {
    const ids = this.nodeId ? [this.nodeId] : [];
    for (const id of this.net?.mesh.readyMembers() ?? []) if (!this.isEvicted(id)) ids.push(id);
    return topK(this.options.clusterId, ids, MAX_MEMBERS);
  }

  /**
   * Only a committed consensus decision evicts: the replicated `cluster/evicted/…` keys
   * are a record any member could write, so they are never read as authority.
   */
  private isEvicted(nodeId: string): boolean {
    return this.evicted.has(nodeId);
  }

  private onEvicted(nodeId: string): void {
    if (nodeId === this.nodeId) return;
    this.evicted.add(nodeId);
    this.net?.mesh.penalize(nodeId, new KpcError('CONSENSUS_REJECTED', 'evicted by cluster decision'), 1_000);
  }

  // ------------------------------------------------------------------ recovery (spec §7)

  /**
   * Fault injection for tests and demos: cut a link, hang this node's links, or
   * corrupt its weight cache. Each is what a real fault looks like to the other nodes.
   */
  readonly faults = {
    /** Closes the link to `nodeId` as if its data channel had died. */
    cutLink: (nodeId: string): void => this.net?.mesh.cutLink(nodeId),
    /** While on, this node neither sends nor reads on its links, which stay open. */
    silence: (on = true): void => this.net?.mesh.setSilenced(on),
    /**
     * Kills the node as a closed tab would: links and signaling drop at once with no
     * goodbye, timers stop, and the node does nothing more (its state stays as it was).
     */
    crash: (): void => {
      for (const t of [this.healthTimer, this.syncTimer, this.connectTimer, this.discoveryTimer, this.restartTimer]) this.rt.clearTimeout(t);
      this.ticket?.close();
      this.detachOnline?.();
      this.detachOnline = null;
      const net = this.net;
      this.net = null;
      net?.mesh.crash();
    },
    /** Flips a bit in one cached tensor; returns its key, or null when the cache is empty. */
    corruptWeightCache: (): string | null => {
      const key = this.weights.keys()[0];
      if (key === undefined) return null;
      const t = this.weights.get(key, () => new Float32Array(0));
      const words = new Uint32Array(t.buffer, t.byteOffset, t.length);
      words[0] ^= 1;
      return key;
    },
  };

  /** Whether links, state and math are all healthy. */
  private async isHealthy(): Promise<boolean> {
    const net = this.net;
    if (!net) return false;
    const open = net.mesh.peers.length;
    if (open < net.mesh.requiredPeers) return false;
    if (open > 0 && !net.gossip.caughtUp) return false;
    return this.weights.verify().length === 0;
  }

  /** Periodic self-check: a corrupted weight cache sends a READY node into recovery. */
  private async checkHealth(): Promise<void> {
    if (this.state !== 'READY' || this.recovering) return;
    // A few tensors per tick: a full pass over a large model's cache every tick would be a steady cost.
    const bad = this.weights.verifySome(4);
    if (bad.length > 0) void this.recover(`weight cache corrupted (${bad.length} tensors)`);
  }

  /** Climbs spec §7's ladder from DEGRADED or READY; READY when a rung restores health, OFFLINE when none does. */
  private async recover(cause: string): Promise<void> {
    if (this.recovering || (this.state !== 'DEGRADED' && this.state !== 'READY')) return;
    this.recovering = true;
    try {
      this.machine.transition('RECOVERING', cause);
      const emit = (e: RecoveryEvent) => this.dispatchEvent(new CustomEvent<RecoveryEvent>('recovery', { detail: e }));
      const lifecycle = this.machine;
      const fixedBy = await runRecoveryLadder({
        runtime: this.rt,
        actions: this.recoveryActions(),
        healthy: () => this.isHealthy(),
        timeouts: this.options.recoveryTimeouts,
        emit,
        aborted: () => this.machine !== lifecycle || this.state !== 'RECOVERING',
      });
      if (this.machine !== lifecycle || (this.state as NodeState) !== 'RECOVERING') return;
      if (fixedBy) {
        this.restartDelayMs = 1_000;
        this.machine.transition('READY', `recovered by ${fixedBy}`);
      } else {
        this.machine.transition('OFFLINE', 'every recovery strategy failed');
        await this.stopNetwork('recovery failed');
        this.scheduleRestart();
      }
    } finally {
      this.recovering = false;
    }
  }

  private recoveryActions(): RecoveryActions {
    return recoveryActions({
      runtime: this.rt,
      network: () => this.net,
      probeMs: this.options.probeMs ?? 1_200,
      resetMath: async () => {
        this.weights.clear();
        this.worker?.terminate();
        this.worker = null;
        const probe = await this.regenerateLayer(MATH_PROBE.spec);
        return toHex(sha256(new Uint8Array(probe.buffer, probe.byteOffset, probe.byteLength)));
      },
      rebuildNetwork: async () => {
        const identity = this.identityValue;
        const replica = this.replica;
        if (!identity || !replica) return false;
        // Connections and volatile state go; identity and acknowledged data stay.
        await this.stopNetwork('hard reset');
        this.net = this.buildNetwork(identity, replica);
        this.net.start();
        return true;
      },
    });
  }

  /** After a failed ladder: a new lifecycle after a back-off (1 s, doubling to 60 s). */
  private scheduleRestart(): void {
    this.rt.clearTimeout(this.restartTimer);
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, 60_000);
    this.restartTimer = this.rt.setTimeout(() => {
      if (this.state !== 'OFFLINE') return;
      this.starting = null;
      void this.start().catch(() => this.scheduleRestart());
    }, delay);
  }

  /** OFFLINE when the browser goes offline; a new lifecycle when it comes back. */
  private watchBrowserOnline(): () => void {
    const target = globalThis as unknown as Partial<EventTarget>;
    if (typeof target.addEventListener !== 'function') return () => undefined;
    const offline = () => void this.goOffline('browser offline');
    const online = () => {
      if (this.state !== 'OFFLINE' || this.net) return;
      this.rt.clearTimeout(this.restartTimer);
      this.restartDelayMs = 1_000;
      this.starting = null;
      void this.start().catch(() => this.scheduleRestart());
    };
    target.addEventListener('offline', offline);
    target.addEventListener('online', online);
    return () => {
      target.removeEventListener!('offline', offline);
      target.removeEventListener!('online', online);
    };
  }

  private async goOffline(cause: string): Promise<void> {
    // BOOTSTRAP is still loading: it will find the browser offline when it gets there.
    if (this.state === 'BOOTSTRAP' || this.state === 'OFFLINE') return;
    for (const to of pathToOffline(this.state)) this.machine.transition(to, cause);
    this.rt.clearTimeout(this.syncTimer);
    this.rt.clearTimeout(this.connectTimer);
    this.rt.clearTimeout(this.discoveryTimer);
    await this.stopNetwork(cause);
  }

  private requireReplica(): Replica {
    if (!this.replica) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.replica;
  }

  private requireMesh(): Mesh {
    if (!this.net) throw new KpcError('NODE_STOPPED', 'the node is not running');
    return this.net.mesh;
  }
}
