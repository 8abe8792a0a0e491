/**
 * The simulated network: endpoints (one per node id, across crashes and restarts),
 * partitions, traffic counters, and in-memory data-channel {@link Link}s.
 *
 * Links run the real negotiation through the mesh: the initiator's link emits an
 * `offer` signal (and trickled `candidate`s), the mesh carries them as signed SIGNAL
 * envelopes through the simulated signaling server, the responder's link answers,
 * and once the initiator has the answer a handshake of `handshakeRtts` round trips
 * opens both ends (initiator first, the responder one hop later). A handshake across
 * a partition never completes: the mesh's connect timeout deals with it, as with
 * real ICE.
 *
 * Messages are copied on send, delayed by the latency model, delivered FIFO per
 * direction (the spec's channel is ordered), lost with probability `drop` (what is
 * left after SCTP's 3 retransmits), and optionally duplicated or reordered (stress
 * beyond the spec). A link whose path is cut (partition, crashed peer) closes after
 * `linkFailMs`, like an ICE consent failure; a link closed on purpose closes the far
 * end one hop later.
 */
import { KpcError } from '../errors.js';
import type { ChannelInfo, Link, LinkFactory } from '../mesh/link.js';
import type { LatencyModel, Prng } from './prng.js';
import type { AfterSettle, Scheduler } from './scheduler.js';

/** Knobs of the simulated network. */
export interface NetworkConfig {
  /** One-way data-channel delay. */
  latency: LatencyModel;
  /** One-way delay between a node and a signaling server. */
  signalingLatency: LatencyModel;
  /** Probability a data-channel message is lost (after SCTP's retransmits). */
  drop: number;
  /** Probability a message (link or signaling) is delivered twice. */
  duplicate: number;
  /** Probability a message skips the FIFO order with extra delay (not spec behaviour: stress). */
  reorder: number;
  /** Mean extra delay of a reordered message, ms. */
  reorderMeanMs: number;
  /** Round trips from answer to open (ICE checks, DTLS, SCTP). */
  handshakeRtts: number;
  /** How long a link with a cut path stays up before it fails (ICE consent), ms. */
  linkFailMs: number;
  /** Trickled ICE candidates each side signals after its offer/answer. */
  candidates: number;
}

/** Traffic of one node, cumulative over its lives. */
export interface Traffic {
  linkMsgsOut: number;
  linkBytesOut: number;
  linkMsgsIn: number;
  linkBytesIn: number;
  /** Link messages lost: dropped, cut by a partition, or sent to a dead peer. */
  linkLost: number;
  sigFramesOut: number;
  sigBytesOut: number;
  sigFramesIn: number;
  sigBytesIn: number;
}

/** Hooks the cluster installs on the network. */
export interface NetworkObserver {
  /** A byzantine payload is about to reach node `target`; may return a check to run once it settled. */
  byzantineDelivery?(target: number, attack: string): AfterSettle;
  /** A publish the signaling server relays (what an eavesdropping client could record); `attack` for byzantine ones. */
  relayed?(topic: string, data: unknown, attack: string | null): void;
}

/** A node's attachment to the network. */
export interface Endpoint {
  readonly nodeId: string;
  readonly index: number;
  up: boolean;
  /** Incremented on every restart; links and channels of an older life are dead. */
  life: number;
  readonly links: Set<SimLink>;
  readonly traffic: Traffic;
}

const newTraffic = (): Traffic => ({
  linkMsgsOut: 0, linkBytesOut: 0, linkMsgsIn: 0, linkBytesIn: 0, linkLost: 0,
  sigFramesOut: 0, sigBytesOut: 0, sigFramesIn: 0, sigBytesIn: 0,
});

/** The shared medium of one simulation run. */
export class SimNetwork {
  readonly endpoints = new Map<string, Endpoint>();
  observer: NetworkObserver = {};
  private group: Map<string, number> | null = null;
  /** Partition group that still reaches the signaling servers (undefined: all groups do). */
  private signalingGroup: number | undefined;
  private readonly offers = new Map<string, SimLink>();
  private readonly answers = new Map<string, SimLink>();
  private tokens = 0;

  constructor(
    readonly sched: Scheduler,
    readonly rng: Prng,
    readonly cfg: NetworkConfig,
  ) {}

  /** Adds (or returns) the endpoint of `nodeId`. */
  endpoint(nodeId: string, index: number): Endpoint {
    let ep = this.endpoints.get(nodeId);
    if (!ep) {
      ep = { nodeId, index, up: false, life: 0, links: new Set(), traffic: newTraffic() };
      this.endpoints.set(nodeId, ep);
    }
    return ep;
  }

  /** Brings a node (back) up: a new life. */
  revive(nodeId: string): Endpoint {
    const ep = this.endpoints.get(nodeId)!;
    ep.up = true;
    ep.life++;
    return ep;
  }

  /** A crash: the node vanishes without a word; its peers' links fail after `linkFailMs`. */
  crash(nodeId: string): void {
    const ep = this.endpoints.get(nodeId);
    if (!ep || !ep.up) return;
    ep.up = false;
    for (const link of [...ep.links]) link.die();
    ep.links.clear();
  }

  /** Splits the nodes into groups (ids not listed join group 0); `signalingGroup` alone keeps the servers. */
  partition(groups: readonly (readonly string[])[], signalingGroup?: number): void {
    this.group = new Map();
    groups.forEach((ids, g) => ids.forEach((id) => this.group!.set(id, g)));
    this.signalingGroup = signalingGroup;
    for (const ep of this.endpoints.values()) {
      for (const link of ep.links) {
        if (link.peer && !this.reachable(ep.nodeId, link.remoteId)) this.failLater(link, 'ice failed: path cut');
      }
    }
  }

  /** Removes the partition. */
  heal(): void {
    this.group = null;
    this.signalingGroup = undefined;
  }

  /** Whether a partition is in force. */
  get partitioned(): boolean {
    return this.group !== null;
  }

  /** Whether packets get from `a` to `b` (both node ids). */
  reachable(a: string, b: string): boolean {
    if (!this.group) return true;
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }

  /** Whether `nodeId` reaches the signaling servers. */
  reachesSignaling(nodeId: string): boolean {
    if (!this.group || this.signalingGroup === undefined) return true;
    return (this.group.get(nodeId) ?? 0) === this.signalingGroup;
  }

  /** A link factory for the current life of `ep`. */
  factory(ep: Endpoint): LinkFactory {
    const life = ep.life;
    return { create: (remoteId, initiator) => new SimLink(this, ep, life, remoteId, initiator) };
  }

  /** One-way link delay sample. */
  delay(): number {
    return this.cfg.latency(this.rng);
  }

  // ------------------------------------------------------------ link internals

  /** @internal Registers an offer; returns its token. */
  offer(link: SimLink): string {
    const token = `${link.ep.index}.${this.tokens++}`;
    this.offers.set(token, link);
    return token;
  }

  /** @internal The responder saw the offer `token`: pairs it if the offer is live. */
  answer(link: SimLink, token: string): boolean {
    const init = this.offers.get(token);
    if (!init || init.closed || init.remoteId !== link.ep.nodeId || init.ep.nodeId !== link.remoteId) return false;
    this.answers.set(token, link);
    return true;
  }

  /** @internal Forgets a negotiation that will not complete (its link closed). */
  forget(token: string): void {
    this.offers.delete(token);
    this.answers.delete(token);
  }

  /** @internal The initiator got the answer: run the handshake and open both ends. */
  connect(init: SimLink, token: string): void {
    const resp = this.answers.get(token);
    this.offers.delete(token);
    this.answers.delete(token);
    if (!resp || resp.closed) return;
    let t = 0;
    for (let k = 0; k < this.cfg.handshakeRtts; k++) t += this.delay() + this.delay();
    const tInit = this.sched.now + t;
    const ok = () => !init.closed && !resp.closed && this.reachable(init.ep.nodeId, resp.ep.nodeId);
    this.sched.at(tInit, () => {
      if (!ok()) return;
      init.peer = resp;
      resp.peer = init;
      init.opened();
    }, init.ep.index, 'open');
    this.sched.at(tInit + this.delay(), () => {
      if (ok() && resp.peer === init) resp.opened();
    }, resp.ep.index, 'open');
  }

  /** @internal Sends bytes from `from` to its peer. */
  transmit(from: SimLink, bytes: Uint8Array, attack: string | null): void {
    const tr = from.ep.traffic;
    tr.linkMsgsOut++;
    tr.linkBytesOut += bytes.length;
    const to = from.peer;
    const cfg = this.cfg;
    if (!to || !this.reachable(from.ep.nodeId, from.remoteId) || this.rng.chance(cfg.drop)) {
      tr.linkLost++;
      return;
    }
    let t = this.sched.now + this.delay();
    if (this.rng.chance(cfg.reorder)) t += this.rng.exp(cfg.reorderMeanMs);
    else t = from.fifo = Math.max(t, from.fifo);
    const copies = this.rng.chance(cfg.duplicate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      this.sched.at(t + c * this.delay(), () => this.deliver(from, to, Uint8Array.from(bytes), attack), to.ep.index, 'link');
    }
  }

  private deliver(from: SimLink, to: SimLink, bytes: Uint8Array, attack: string | null): AfterSettle {
    if (to.closed || !this.reachable(from.ep.nodeId, to.ep.nodeId)) {
      from.ep.traffic.linkLost++;
      return;
    }
    const tr = to.ep.traffic;
    tr.linkMsgsIn++;
    tr.linkBytesIn += bytes.length;
    this.sched.digest.tailBytes(bytes);
    if (!to.open) {
      to.inbox.push(bytes); // the far end opened first: SCTP holds it until this end's channel opens
      return;
    }
    const check = attack ? this.observer.byzantineDelivery?.(to.ep.index, attack) : undefined;
    to.onMessage?.(bytes);
    return check;
  }

  /** @internal Closes `link` after its path failed for `linkFailMs` (if still cut then). */
  failLater(link: SimLink, reason: string): void {
    this.sched.after(this.cfg.linkFailMs, () => {
      if (!link.closed && (!link.peer || link.peer.closed || !link.ep.up || !this.reachable(link.ep.nodeId, link.remoteId))) link.remoteClosed(reason);
    }, link.ep.index, 'fail');
  }

  /** @internal Tells the far end of a deliberately closed link, one hop later (or on ICE failure if cut). */
  closeFarEnd(far: SimLink): void {
    if (this.reachable(far.ep.nodeId, far.remoteId)) {
      this.sched.after(this.delay(), () => far.remoteClosed('channel closed'), far.ep.index, 'close');
    } else {
      this.failLater(far, 'ice failed');
    }
  }
}

type Signal = { type: 'offer' | 'answer'; sdp: string } | { type: 'candidate'; candidate: { candidate: string; sdpMid: string } };

/** An in-memory data channel end. */
export class SimLink implements Link {
  onSignal: ((data: unknown) => void) | null = null;
  onOpen: (() => void) | null = null;
  onMessage: ((bytes: Uint8Array) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;
  /** The far end, once the handshake paired them. */
  peer: SimLink | null = null;
  closed = false;
  /** @internal Messages that arrived before this end opened. */
  inbox: Uint8Array[] = [];
  /** @internal Arrival time of the last FIFO message sent on this end. */
  fifo = 0;
  private isOpen = false;
  private token: string | undefined;

  constructor(
    private readonly net: SimNetwork,
    /** The local endpoint. */
    readonly ep: Endpoint,
    life: number,
    readonly remoteId: string,
    readonly initiator: boolean,
  ) {
    if (!ep.up || ep.life !== life) {
      this.closed = true; // a factory of a dead life makes dead links
      return;
    }
    ep.links.add(this);
    if (initiator) {
      const token = (this.token = net.offer(this));
      this.emitSignals({ type: 'offer', sdp: `v=0 kpc-sim ${token}` });
    }
  }

  get open(): boolean {
    return this.isOpen && !this.closed;
  }

  get bufferedAmount(): number {
    return 0;
  }

  signal(data: unknown): void {
    if (this.closed || typeof data !== 'object' || data === null) return;
    const s = data as Partial<Signal> & { sdp?: unknown };
    const token = typeof s.sdp === 'string' ? s.sdp.split(' ')[2] : undefined;
    if (s.type === 'offer' && !this.initiator && token && this.token === undefined) {
      this.token = token;
      // An offer for no live attempt (stale, replayed) gets an answer that leads nowhere, like real SDP would.
      this.net.answer(this, token);
      this.emitSignals({ type: 'answer', sdp: `v=0 kpc-sim ${token}` });
    } else if (s.type === 'answer' && this.initiator && token === this.token && token !== undefined && !this.peer) {
      this.net.connect(this, token);
    }
    // candidates: nothing to do, the handshake is modelled as a whole
  }

  send(bytes: Uint8Array): void {
    if (!this.open) throw new KpcError('MESH_CLOSED', `link to ${this.remoteId} is not open`);
    this.net.transmit(this, Uint8Array.from(bytes), null);
  }

  /** Sends bytes marked as byzantine input of kind `attack` (the adversary uses its node's own links). */
  inject(bytes: Uint8Array, attack: string): void {
    if (this.open) this.net.transmit(this, Uint8Array.from(bytes), attack);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.isOpen = false;
    this.ep.links.delete(this);
    if (this.token !== undefined && !this.peer) this.net.forget(this.token);
    const far = this.peer;
    if (far && !far.closed) this.net.closeFarEnd(far);
    this.onClose?.('closed locally');
  }

  channelInfo(): ChannelInfo | null {
    return this.open ? { ordered: true, maxRetransmits: 3, label: 'kpc-sim' } : null;
  }

  /** @internal The handshake completed on this end. */
  opened(): void {
    if (this.closed) return;
    this.isOpen = true;
    this.onOpen?.();
    for (const bytes of this.inbox.splice(0)) if (this.open) this.onMessage?.(bytes);
  }

  /** @internal The far end closed or the path failed. */
  remoteClosed(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.isOpen = false;
    this.ep.links.delete(this);
    this.onClose?.(reason);
  }

  /** @internal Its node crashed: silently dead; the far end fails after `linkFailMs`. */
  die(): void {
    this.closed = true;
    this.isOpen = false;
    const far = this.peer;
    if (far && !far.closed) this.net.failLater(far, 'ice failed: peer gone');
  }

  private emitSignals(first: Signal): void {
    const n = this.net.cfg.candidates;
    this.net.sched.after(0, () => {
      if (this.closed) return;
      this.onSignal?.(first);
      for (let i = 0; i < n && !this.closed; i++) {
        this.onSignal?.({ type: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 2122260223 10.0.0.${this.ep.index % 250} ${50000 + i} typ host`, sdpMid: '0' } });
      }
    }, this.ep.index, 'sdp');
  }
}
