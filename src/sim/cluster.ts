/**
 * A simulated cluster: N real {@link PiNode}s over the simulated network, in virtual
 * time, with a fault schedule and a byzantine fraction, all drawn from one seed.
 *
 * Streams: identities, roles, clock offsets, faults, the network and every node
 * life get their own {@link Prng} fork, so changing one knob (say, adding a fault
 * family) leaves the others' draws untouched.
 */
import { identityFromSecretKey, type Identity } from '../crypto/identity.js';
import { isKpcError } from '../errors.js';
import { PiNode, type PiNodeOptions } from '../node.js';
import type { NodeState, StateChange } from '../state/machine.js';
import { Adversary, ATTACKS, type AttackKind } from './byzantine.js';
import { planFaults, type FaultEvent, type FaultPlanOptions } from './faults.js';
import { SimNetwork, type Endpoint, type NetworkConfig } from './network.js';
import { latency as lat, Prng, type LatencyModel } from './prng.js';
import { SIM_EPOCH_MS, Scheduler, SimRuntime, type AfterSettle } from './scheduler.js';
import { SimSignalingServer, type SimSignalingChannel } from './signaling.js';
import { SimDisk } from './storage.js';
import type { SyncStorage } from '../sync/index.js';
import { resolveWorkload, Workload, type ResolvedWorkload, type WorkloadConfig } from './workload.js';

/** What {@link SimConfig.nodeOptions} and {@link SimConfig.onNode} get for each node life. */
export interface NodeContext {
  readonly index: number;
  readonly nodeId: string;
  /** 1 for the first start, +1 per restart. */
  readonly life: number;
  readonly byzantine: boolean;
  /** The cluster's disks: `disk.storage(nodeId)` is this life's sync storage (unless {@link SimConfig.storageFor} replaced it). */
  readonly disk: SimDisk;
  readonly runtime: SimRuntime;
}

/** Lifecycle timing knobs passed to every PiNode. */
export interface SimNodeTiming {
  discoveryWindowMs?: number;
  connectTimeoutMs?: number;
  heartbeatMs?: number;
  minPeers?: number;
  maxPeers?: number;
}

/** Fault families to draw from the seed (see {@link planFaults}). */
type FaultFamilies = Pick<FaultPlanOptions, 'partition' | 'partitionSignaling' | 'crash' | 'crashFraction' | 'clockStep' | 'signalingOutage'>;

/** Everything a run depends on. Same config ⇒ same run. */
export interface SimConfig extends FaultFamilies {
  seed: number | string;
  nodes: number;
  /** Virtual duration, ms. Default 60 000. */
  durationMs?: number;
  /** Nodes start at uniform times in [0, joinWindowMs). Default 2 000. */
  joinWindowMs?: number;
  /** Fraction of nodes that are byzantine. Default 0. */
  byzantine?: number;
  /** Mean time between attacks of one byzantine node, ms. Default 1 000. */
  byzantineIntervalMs?: number;
  /** Attacks stop at this virtual time so the end of the run shows recovery. Default ¾ of the duration. */
  byzantineUntilMs?: number;
  /** Attack kinds to use. Default all of {@link ATTACKS}. */
  attacks?: readonly AttackKind[];
  /** Mean one-way link latency, ms (shifted exponential with a floor of half the mean). Default 50. */
  latencyMs?: number;
  /** Mean one-way latency to the signaling server, ms. Default 40. */
  signalingLatencyMs?: number;
  /** Network overrides (latency models, drop, duplicate, reorder, …). */
  network?: Partial<NetworkConfig>;
  /** Signaling servers every node joins. Default 1. */
  signalingServers?: number;
  /** Max |clock offset| per node, ms (uniform). Default 0. */
  skewMs?: number;
  /** Extra, explicit faults (merged with the drawn ones). */
  faults?: readonly FaultEvent[];
  node?: SimNodeTiming;
  /**
   * The application workload (writes and proposals, see `workload.ts`): `true` for the
   * defaults, an object to tune it. Default off (the CLI turns it on).
   */
  workload?: WorkloadConfig | boolean;
  /**
   * Sync storage for a new life of a node (PiNode's `syncStorage`). Default: the
   * cluster's {@link SimDisk}, which keeps what was durable across crashes.
   */
  storageFor?: (nodeId: string) => SyncStorage;
  /** Extra PiNode options per life (override anything the cluster sets). */
  nodeOptions?: (ctx: NodeContext) => Partial<PiNodeOptions>;
  /** Called after each PiNode is created, before `start()`. */
  onNode?: (pi: PiNode, ctx: NodeContext) => void;
  log?: PiNodeOptions['log'];
}

/** One node slot of the cluster (persists across crashes and restarts). */
export interface SimNode {
  readonly index: number;
  readonly identity: Identity;
  readonly nodeId: string;
  readonly byzantine: boolean;
  readonly ep: Endpoint;
  /** Current PiNode (null while crashed or before its start). */
  pi: PiNode | null;
  runtime: SimRuntime | null;
  up: boolean;
  life: number;
  clockOffsetMs: number;
  /** Transitions of each life. */
  readonly lives: StateChange[][];
  /** Virtual time each life started, and when it first reached READY. */
  readonly startedAt: number[];
  readonly readyAt: (number | null)[];
  readonly rejects: Map<string, number>;
  rejectTotal: number;
  linksCreated: number;
  channels: SimSignalingChannel[];
}

/** A byzantine input that changed an honest node. */
export interface ByzantineViolation {
  time: number;
  node: string;
  via: string;
  what: string;
}

/** {@link SimConfig} with every default filled in. */
export type ResolvedConfig = Required<Omit<SimConfig, 'storageFor' | 'nodeOptions' | 'onNode' | 'log' | 'network' | 'node' | 'workload'>> &
  Pick<SimConfig, 'nodeOptions' | 'onNode' | 'log' | 'storageFor'> & { network: NetworkConfig; node: Required<SimNodeTiming>; seed: string; workload: ResolvedWorkload };

/** Fills in defaults. */
export function resolveConfig(c: SimConfig): ResolvedConfig {
  const latencyMs = c.latencyMs ?? 50;
  const sigMs = c.signalingLatencyMs ?? 40;
  const model = (mean: number): LatencyModel => lat.shiftedExp(mean / 2, mean);
  return {
    seed: String(c.seed), nodes: c.nodes, durationMs: c.durationMs ?? 60_000, joinWindowMs: c.joinWindowMs ?? 2_000,
    byzantine: c.byzantine ?? 0, byzantineIntervalMs: c.byzantineIntervalMs ?? 1_000, byzantineUntilMs: c.byzantineUntilMs ?? 0.75 * (c.durationMs ?? 60_000), attacks: c.attacks ?? ATTACKS,
    latencyMs, signalingLatencyMs: sigMs, signalingServers: c.signalingServers ?? 1, skewMs: c.skewMs ?? 0,
    partition: c.partition ?? false, partitionSignaling: c.partitionSignaling ?? false, crash: c.crash ?? false,
    crashFraction: c.crashFraction ?? 0.1, clockStep: c.clockStep ?? false, signalingOutage: c.signalingOutage ?? false,
    faults: c.faults ?? [], storageFor: c.storageFor, nodeOptions: c.nodeOptions, onNode: c.onNode, log: c.log,
    network: {
      latency: model(latencyMs), signalingLatency: model(sigMs), drop: 0, duplicate: 0, reorder: 0, reorderMeanMs: latencyMs,
      handshakeRtts: 3, linkFailMs: 30_000, candidates: 1, ...c.network,
    },
    node: { discoveryWindowMs: 1_000, connectTimeoutMs: 10_000, heartbeatMs: 5_000, minPeers: 3, maxPeers: 8, ...c.node },
    workload: resolveWorkload(c.workload, c.durationMs ?? 60_000, c.joinWindowMs ?? 2_000),
  };
}

const CLUSTER_ID = 'sim';

/**
 * Takes the next envelope seq of a byzantine node's own mesh (a private counter of `Mesh`,
 * reached here only): a byzantine node controls its counter, so its forged envelopes and its
 * real traffic share one increasing sequence, as a deliberate attacker's would.
 */
function takeMeshSeq(pi: PiNode | null): number | undefined {
  const mesh = (pi as unknown as { net?: { mesh?: { seq?: unknown } } } | null)?.net?.mesh;
  if (!mesh || typeof mesh.seq !== 'number') return undefined;
  mesh.seq = (mesh.seq + 1) >>> 0;
  return mesh.seq as number;
}

/** The send key of `pi`'s link to `peerId`, from its mesh's internals (the adversary's own node). */
function meshLinkKey(pi: PiNode | null, peerId: string): Uint8Array | undefined {
  const mesh = (pi as unknown as { net?: { mesh?: { peersById?: Map<string, { auth?: { keys?: { send: Uint8Array } } }> } } } | null)?.net?.mesh;
  return mesh?.peersById?.get(peerId)?.auth?.keys?.send;
}

/** The simulated cluster. Build, {@link SimCluster.run}, then inspect or `summarize()` it. */
export class SimCluster {
  readonly cfg: ResolvedConfig;
  readonly rng: Prng;
  readonly sched = new Scheduler();
  readonly net: SimNetwork;
  readonly servers: SimSignalingServer[];
  readonly nodes: SimNode[] = [];
  readonly faults: FaultEvent[];
  readonly adversary: Adversary | null;
  readonly violations: ByzantineViolation[] = [];
  /**
   * What became of each byzantine delivery to an honest node: `accepted` (by attack kind) made it
   * start a link or change state; `triggered` counts rejected inputs whose `reject` event let the
   * node act on a state change that was already due.
   */
  readonly byzantineOutcomes = { rejected: 0, ignored: 0, accepted: 0, triggered: 0, acceptedBy: {} as Record<string, number> };
  /** First and most recent virtual time every honest running node was READY; null if never. */
  firstAllReadyAt: number | null = null;
  lastAllReadyAt: number | null = null;
  private allReady = false;
  private ran = false;
  private started = 0;
  private readonly byzIds = new Set<string>();
  /** Every node's persisted state across crashes. */
  readonly disk = new SimDisk(() => this.sched.now);
  /** The application workload and what it observed (empty when off). */
  readonly workload: Workload;

  constructor(config: SimConfig) {
    const cfg = (this.cfg = resolveConfig(config));
    if (!Number.isInteger(cfg.nodes) || cfg.nodes < 1) throw new RangeError('nodes must be a positive integer');
    this.rng = Prng.from(cfg.seed);
    this.net = new SimNetwork(this.sched, this.rng.fork('net'), cfg.network);
    this.servers = Array.from({ length: cfg.signalingServers }, (_, k) => new SimSignalingServer(this.net, `ws://sim-signal-${k}`));
    const roles = this.rng.fork('roles').shuffle([...Array(cfg.nodes).keys()]);
    const byz = new Set(roles.slice(0, Math.round(cfg.nodes * cfg.byzantine)));
    const clocks = this.rng.fork('clocks');
    for (let i = 0; i < cfg.nodes; i++) {
      const identity = identityFromSecretKey(this.rng.fork(`identity:${i}`).bytes(32));
      const nodeId = identity.nodeId;
      if (byz.has(i)) this.byzIds.add(nodeId);
      this.nodes.push({
        index: i, identity, nodeId, byzantine: byz.has(i), ep: this.net.endpoint(nodeId, i),
        pi: null, runtime: null, up: false, life: 0, clockOffsetMs: cfg.skewMs > 0 ? Math.round(clocks.range(-cfg.skewMs, cfg.skewMs)) : 0,
        lives: [], startedAt: [], readyAt: [], rejects: new Map(), rejectTotal: 0, linksCreated: 0, channels: [],
      });
    }
    const honest = this.nodes.filter((n) => !n.byzantine);
    this.workload = new Workload(this, this.rng.fork('workload'), cfg.workload);
    this.faults = [...planFaults(this.rng.fork('faults'), { ...cfg, honest: honest.map((n) => n.index), servers: cfg.signalingServers }), ...cfg.faults].sort((a, b) => a.at - b.at);
    this.adversary = byz.size === 0 ? null : new Adversary(this.rng.fork('adversary'), CLUSTER_ID, this.servers, honest.map((n) => ({ nodeId: n.nodeId, publicKey: n.identity.publicKey })), cfg.attacks);
    if (this.adversary) {
      const adv = this.adversary;
      adv.now = () => Math.floor(SIM_EPOCH_MS + this.sched.now);
      this.net.observer.relayed = (topic, data, attack) => {
        if (attack === null) adv.overhear(topic, data);
      };
      this.net.observer.byzantineDelivery = (target, via) => this.guard(target, via);
    }
  }

  /** Honest nodes currently running. */
  honestUp(): SimNode[] {
    return this.nodes.filter((n) => !n.byzantine && n.up);
  }

  /**
   * Schedules every start, fault and attack, and runs to the end of the configured duration
   * in slices of `sliceMs` virtual ms (default 1 000; the trace does not depend on it),
   * calling `progress` after each.
   */
  async run(opts: { progress?: (virtualMs: number) => void; sliceMs?: number } = {}): Promise<void> {
    if (this.ran) throw new Error('a SimCluster runs once: build a new one to run again');
    this.ran = true;
    const join = this.rng.fork('join');
    for (const n of this.nodes) this.sched.at(join.range(0, this.cfg.joinWindowMs), () => this.start(n.index), n.index, 'start');
    for (const f of this.faults) this.sched.at(f.at, () => this.apply(f), -1, `fault:${f.kind}`);
    this.workload.schedule();
    if (this.adversary) {
      const r = this.rng.fork('attacks');
      for (const n of this.nodes.filter((x) => x.byzantine)) {
        const tick = () => {
          if (this.sched.now >= this.cfg.byzantineUntilMs) return;
          this.sched.after(r.exp(this.cfg.byzantineIntervalMs), tick, n.index, 'byz');
          try {
            if (n.up) this.adversary!.attack({ identity: n.identity, ep: n.ep, pi: n.pi, nextSeq: () => takeMeshSeq(n.pi), linkKey: (id) => meshLinkKey(n.pi, id) });
          } catch (error) {
            this.sched.errors.push({ time: this.sched.now, owner: -1, error }); // a simulator bug: reported, not hidden
          }
        };
        this.sched.after(this.cfg.joinWindowMs + r.exp(this.cfg.byzantineIntervalMs), tick, n.index, 'byz');
      }
    }
    for (let t = 0; t < this.cfg.durationMs; ) {
      t = Math.min(t + (opts.sliceMs ?? 1_000), this.cfg.durationMs);
      await this.sched.runUntil(t);
      opts.progress?.(t);
    }
  }

  /** Applies one fault now. */
  apply(f: FaultEvent): void {
    switch (f.kind) {
      case 'partition':
        this.net.partition(f.groups.map((g) => g.map((i) => this.nodes[i].nodeId)), f.signalingGroup);
        this.servers.forEach((s) => s.enforceReachability());
        return;
      case 'heal':
        return this.net.heal();
      case 'crash':
        return this.crash(f.node);
      case 'restart':
        return this.start(f.node);
      case 'clock-step': {
        const n = this.nodes[f.node];
        n.clockOffsetMs += f.deltaMs;
        if (n.runtime) n.runtime.offsetMs = n.clockOffsetMs;
        return;
      }
      case 'signaling-down':
      case 'signaling-up':
        return this.servers[f.server % this.servers.length].setUp(f.kind === 'signaling-up');
    }
  }

  /** Starts node `i` (a new life with the same identity and storage); no-op while it runs. */
  start(i: number): void {
    const n = this.nodes[i];
    if (n.up) return;
    const ep = this.net.revive(n.nodeId);
    n.up = true;
    const life = ++n.life;
    if (life === 1) this.started++;
    const runtime = (n.runtime = new SimRuntime(this.sched, i, this.rng.fork(`node:${i}:life:${life}`), n.clockOffsetMs));
    const ctx: NodeContext = { index: i, nodeId: n.nodeId, life, byzantine: n.byzantine, disk: this.disk, runtime };
    const base = this.net.factory(ep);
    const changes: StateChange[] = [];
    n.lives.push(changes);
    n.startedAt.push(this.sched.now);
    n.readyAt.push(null);
    n.channels = [];
    const pi = new PiNode({
      clusterId: CLUSTER_ID,
      signaling: this.servers.map((s) => s.url),
      identity: n.identity,
      links: { create: (remoteId, initiator) => (n.linksCreated++, base.create(remoteId, initiator)) },
      createSignaling: (url) => {
        const ch = this.servers.find((s) => s.url === url)!.connect(ep);
        n.channels.push(ch);
        return ch;
      },
      runtime,
      syncStorage: this.cfg.storageFor ?? ((id) => this.disk.open(id)),
      // Proof-of-π is not simulated: a solve is real CPU work on the simulator's one
      // thread and costs no virtual time, so it would model nothing. `node` may turn it on.
      admission: false,
      ...this.cfg.node,
      log: this.cfg.log,
      ...this.cfg.nodeOptions?.(ctx),
    });
    n.pi = pi;
    const current = () => n.pi === pi;
    pi.addEventListener('statechange', (ev) => {
      const change = (ev as CustomEvent<StateChange>).detail;
      changes.push(change);
      if (!current()) return;
      if (change.to === 'READY' && n.readyAt[life - 1] === null) n.readyAt[life - 1] = this.sched.now;
      this.updateReadiness();
    });
    pi.addEventListener('reject', (ev) => {
      if (!current() || n.byzantine) return;
      const err = (ev as CustomEvent<{ error: unknown }>).detail.error;
      const code = isKpcError(err) ? err.code : 'UNKNOWN';
      n.rejects.set(code, (n.rejects.get(code) ?? 0) + 1);
      n.rejectTotal++;
    });
    this.workload.observe(pi, i, life, current);
    this.workload.started(i);
    this.cfg.onNode?.(pi, ctx);
    pi.start().catch((error) => this.sched.errors.push({ time: this.sched.now, owner: i, error }));
    this.updateReadiness();
  }

  /** Crashes node `i`: no goodbye, timers and connections die with it. */
  crash(i: number): void {
    const n = this.nodes[i];
    if (!n.up) return;
    n.up = false;
    n.runtime?.kill();
    this.net.crash(n.nodeId);
    n.channels.forEach((c) => c.lose());
    this.disk.crash(n.nodeId);
    n.pi = null;
    n.runtime = null;
    this.updateReadiness();
  }

  /** Current state of node `i` (`OFFLINE` while crashed). */
  stateOf(i: number): NodeState {
    return this.nodes[i].pi?.state ?? 'OFFLINE';
  }

  /** Whether `nodeId` is byzantine. */
  isByzantine(nodeId: string): boolean {
    return this.byzIds.has(nodeId);
  }

  private updateReadiness(): void {
    let all = this.started === this.nodes.length;
    for (const n of this.nodes) {
      if (!all) break;
      if (!n.byzantine && n.up && n.pi?.state !== 'READY') all = false;
    }
    if (all && !this.allReady) {
      this.firstAllReadyAt ??= this.sched.now;
      this.lastAllReadyAt = this.sched.now;
    }
    this.allReady = all;
  }

  /** Snapshot before a byzantine delivery to `target`; the returned check compares after it settled. */
  private guard(target: number, via: string): AfterSettle {
    const n = this.nodes[target];
    const pi = n.pi;
    if (n.byzantine || !pi) return;
    const open = () => pi.peers.map((p) => p.nodeId);
    const before = { state: pi.state, peers: open(), rejects: n.rejectTotal, links: n.linksCreated };
    return () => {
      if (n.pi !== pi) return;
      const peers = open();
      const lost = before.peers.filter((id) => !this.byzIds.has(id) && !peers.includes(id));
      const samePeers = peers.length === before.peers.length && peers.every((id, k) => id === before.peers[k]);
      const rejected = n.rejectTotal > before.rejects;
      const what: string[] = [];
      if (lost.length > 0) what.push(`lost honest link(s) to ${lost.map((id) => id.slice(0, 8)).join(',')}`);
      // A rejected input changes nothing but penalty points, yet its `reject` event makes PiNode re-evaluate
      // its lifecycle: a state change then is a stale condition caught up with, not caused by the input.
      // A replayed honest announce, still inside its 30 s window, is true and signed news of a
      // member: a newcomer that learns its first member from it (rather than from that member's
      // own next announce) starts connecting. The strict invariant still counts it as accepted.
      const learnedFromReplay = via === 'sig-replay' && before.state === 'DISCOVERING' && pi.state === 'CONNECTING';
      if (pi.state !== before.state && samePeers && !learnedFromReplay) {
        if (rejected) this.byzantineOutcomes.triggered++;
        else what.push(`state ${before.state} → ${pi.state} with its links unchanged`);
      }
      if (what.length > 0) this.violations.push({ time: this.sched.now, node: n.nodeId, via, what: what.join('; ') });
      if (rejected) this.byzantineOutcomes.rejected++;
      else if (n.linksCreated > before.links || what.length > 0 || learnedFromReplay) {
        this.byzantineOutcomes.accepted++;
        this.byzantineOutcomes.acceptedBy[via] = (this.byzantineOutcomes.acceptedBy[via] ?? 0) + 1;
      } else this.byzantineOutcomes.ignored++;
    };
  }
}
