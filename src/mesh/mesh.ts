/**
 * The mesh (spec §4): discovery through signaling, WebRTC links, at least
 * `min(minPeers, others)` peers, heartbeats every `heartbeatMs`.
 *
 * Every message through signaling is a signed envelope. A data channel starts with
 * a signed handshake ({@link LinkSession}) and carries HMAC-tagged envelopes after
 * it; a link counts as open only once both handshakes are done. Nothing from the
 * network is trusted: frames are size-checked,
 * decoded, validated and signature-checked before they touch any state; a bad
 * one is dropped with a typed {@link KpcError}, a log line and a `reject` event.
 *
 * Events (all `CustomEvent`):
 * - `peer-open` / `peer-close` — detail `{ nodeId, reason? }`
 * - `peers` — the set of open links changed (detail: {@link PeerInfo}[])
 * - `topology` — something the topology snapshot shows changed
 * - `message` — detail `{ from, body }`: application bytes from a peer
 * - `reject` — detail `{ error, source }`: a dropped, invalid input
 * - `signaling` — detail `{ url, connected }`
 */
import type { Identity } from '../crypto/index.js';
import { KpcError, isKpcError } from '../errors.js';
import {
  MessageType,
  encodeEnvelope,
  type DecodedEnvelope,
  type OutgoingMessage,
} from '../protocol/index.js';
import type { NodeState } from '../state/machine.js';
import type { LinkFactory } from './link.js';
import { createSignaling, signalingAdmitter, type SignalingChannel } from './signaling.js';
import type { PeerInfo, TopologySnapshot } from './types.js';
import { Discovery, type Admission } from './discovery.js';
import { buildTopology } from './topology.js';
import { withinSourceShare } from './eclipse.js';
import { LinkAdmission } from './link-admission.js';
import { PeerPenalties } from './penalties.js';
import { SeenSet } from './util.js';
import { Peer, type PeerContext } from './peer.js';
import { monotonicNow, randomHex64, sleep, systemRuntime, type Runtime, type TimerHandle } from '../runtime.js';

/** Options of {@link Mesh}. */
export interface MeshOptions {
  identity: Identity;
  clusterId: string;
  /** Signaling URLs (`ws:`, `wss:`, `local:<name>`); the node joins all of them. */
  signaling: readonly string[];
  links: LinkFactory;
  /** The node's current state, announced to others. */
  getState: () => NodeState;
  /** Links the node keeps at least, where the cluster has that many others. Default 3 (spec §4.1). */
  minPeers?: number;
  /** Links the node accepts at most. Default 8. */
  maxPeers?: number;
  /** Heartbeat interval (spec §4.1: 5 s). A link silent for 3 intervals is closed. */
  heartbeatMs?: number;
  /** A link not open after this long is abandoned and retried later. Default 10 s. */
  connectTimeoutMs?: number;
  /** Largest envelope accepted on a data channel, bytes. Default 256 KiB (what Chromium's SCTP carries in one message). */
  maxMessageBytes?: number;
  /** Largest envelope accepted through signaling, bytes. Default 64 KiB (our server's frame limit). */
  maxSignalingBytes?: number;
  log?: (level: 'debug' | 'info' | 'warn', msg: string, ctx?: Record<string, unknown>) => void;
  /** Injectable signaling constructor (the simulator passes in-memory channels). */
  createSignaling?: (url: string) => SignalingChannel;
  /** Clock, timers and randomness; virtual in the simulator. Default: the system's. */
  runtime?: Runtime;
  /** Nodes refused for good (e.g. evicted by a cluster decision), beside those banned for a while. */
  refuse?: (nodeId: string) => boolean;
  /** Proof-of-π admission; without it any signed member is linked. */
  admission?: Admission;
  /** Inbound messages a peer may send per second, and in a burst. Default {@link LINK_RATE_PER_S}, {@link LINK_BURST}. */
  linkRate?: { perSecond: number; burst: number };
}

/** The signal wrapper: a session id keeps candidates of an abandoned attempt out of a new one. */
interface SessionSignal {
  session: string;
  data: unknown;
}

/** Longest a stopping node waits for its goodbyes to leave. */
const STOP_DRAIN_MS = 200;
/** Inbound messages per second a peer may send on its link, sustained. */
export const LINK_RATE_PER_S = 1_000;
/** …and in a burst. */
export const LINK_BURST = 2_000;
/** How long a link lost without a goodbye stays in the topology as dead. */
const DEAD_LINK_MS = 10_000;
/** Reasons a link ends that are not failures. */
const CLEAN_ENDS = new Set(['peer said goodbye', 'node stopped', 'replaced by a new offer', 'hard reset', 'recovery failed', 'browser offline']);


/** Discovery, links and heartbeats for one node. */
export class Mesh extends EventTarget {
  /** Node id of this node. */
  readonly nodeId: string;
  private readonly opts: Required<Omit<MeshOptions, 'log' | 'createSignaling' | 'runtime' | 'refuse' | 'admission' | 'linkRate'>> & Pick<MeshOptions, 'log'>;
  private readonly peersById = new Map<string, Peer>();
  private readonly discovery: Discovery;
  /** `peer:session` of every attempt we made or were offered: late signals of those are benign. */
  private readonly sessions = new SeenSet(1024);
  private readonly penalties: PeerPenalties;
  private seq = 0;
  private silenced = false;
  /** Links lost without a goodbye, by peer, with when: drawn as dead for {@link DEAD_LINK_MS}. */
  private readonly deadLinks = new Map<string, number>();
  private suspects = '';
  private heartbeatTimer: TimerHandle | undefined;
  private livenessTimer: TimerHandle | undefined;
  private changeTimer: TimerHandle | undefined;
  private readonly rt: Runtime;
  private running = false;
  private readonly makeSignaling: (url: string) => SignalingChannel;
  private readonly refuse: (nodeId: string) => boolean;
  private readonly rate: { perSecond: number; burst: number };
  /** Durations (liveness, round trips, rates) run on monotonic time, so a clock step changes none of them. */
  private readonly mono = (): number => monotonicNow(this.rt);
  private readonly peerContext: PeerContext;
  private readonly linkAdmission?: LinkAdmission;

  constructor(options: MeshOptions) {
    super();
    this.nodeId = options.identity.nodeId;
    this.rt = options.runtime ?? systemRuntime;
    this.opts = {
      identity: options.identity,
      clusterId: options.clusterId,
      signaling: options.signaling,
      links: options.links,
      getState: options.getState,
      minPeers: options.minPeers ?? 3,
      maxPeers: options.maxPeers ?? 8,
      heartbeatMs: options.heartbeatMs ?? 5_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      maxMessageBytes: options.maxMessageBytes ?? 256 * 1024,
      maxSignalingBytes: options.maxSignalingBytes ?? 64 * 1024,
      log: options.log,
    };
    const admission = options.admission;
    this.linkAdmission = admission ? new LinkAdmission(admission, this.opts.connectTimeoutMs) : undefined;
    // Servers that ask for proof-of-π admission get this node's proof, signed over their challenge.
    const admit = admission ? signalingAdmitter(options.identity, () => admission.proofText()) : undefined;
    this.makeSignaling = options.createSignaling ?? ((url) => createSignaling(url, { log: (m, c) => this.log('warn', m, c), admit }));
    this.penalties = new PeerPenalties(this.rt);
    this.refuse = options.refuse ?? (() => false);
    this.rate = options.linkRate ?? { perSecond: LINK_RATE_PER_S, burst: LINK_BURST };
    this.peerContext = { identity: options.identity, rate: this.rate, mono: this.mono, keyBytes: this.rt.keyBytes?.bind(this.rt) };
    this.discovery = new Discovery({
      admission: options.admission,
      identity: this.opts.identity,
      clusterId: this.opts.clusterId,
      runtime: this.rt,
      heartbeatMs: this.opts.heartbeatMs,
      minPeers: this.opts.minPeers,
      maxSignalingBytes: this.opts.maxSignalingBytes,
      envelope: (msg) => this.nextEnvelope(msg),
      state: () => this.opts.getState(),
      linkedPeers: () => this.peers.map((p) => p.nodeId),
      isLinkedOrPending: (id) => this.peersById.has(id),
      isBanned: (id) => this.isBanned(id),
      onMember: (id) => this.maybeConnect(id),
      onSignal: (env) => this.onSignal(env),
      onStatus: (url, connected) => this.dispatch('signaling', { url, connected }),
      onChange: () => this.scheduleChange(),
      reject: (err, source, from) => this.reject(err, source, from),
    });
  }

  // ---------------------------------------------------------------- lifecycle

  /** Joins every signaling server and starts announcing and heartbeating. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.discovery.start(this.opts.signaling.map((url) => this.makeSignaling(url)));
    this.heartbeatTimer = this.rt.setInterval(() => this.heartbeat(), this.opts.heartbeatMs);
    // Liveness is checked four times per heartbeat, so a silent peer is dropped within a
    // quarter heartbeat of its third missed one, not up to a whole heartbeat later.
    this.livenessTimer = this.rt.setInterval(() => this.checkLiveness(), this.opts.heartbeatMs / 4);
  }

  /**
   * Leaves the cluster cleanly: an OFFLINE announce through signaling and a GOODBYE on
   * every link (so peers shrink their membership instead of waiting for silence),
   * a short drain so those reach the wire, then every link and server is closed.
   */
  async stop(reason = 'stopped'): Promise<void> {
    if (!this.running) return;
    this.discovery.stop();
    for (const [id, p] of this.peersById) {
      if (p.established) this.sendTo(id, { type: MessageType.GOODBYE, body: { reason } });
    }
    this.running = false;
    this.rt.clearTimeout(this.heartbeatTimer);
    this.rt.clearTimeout(this.livenessTimer);
    this.rt.clearTimeout(this.changeTimer);
    await this.drain(STOP_DRAIN_MS);
    for (const id of [...this.peersById.keys()]) this.dropPeer(id, reason);
  }

  /** Waits until every link has flushed its send buffer, or `maxMs` passed. */
  private async drain(maxMs: number): Promise<void> {
    const t0 = this.mono();
    while (this.mono() - t0 < maxMs && [...this.peersById.values()].some((p) => p.link.open && p.link.bufferedAmount > 0)) {
      await sleep(this.rt, 5);
    }
    // Buffered-amount zero means handed to SCTP, not delivered: give it one more beat.
    if (this.peersById.size > 0) await sleep(this.rt, 20);
  }

  // ---------------------------------------------------------------- queries

  /** Open links, in node-id order. */
  get peers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const [nodeId, p] of this.peersById) {
      if (p.established) {
        out.push({ nodeId, state: p.state, rttMs: p.rttMs, connectedAt: p.openedAt!, health: this.isSuspect(p) ? 'suspect' : 'ok' });
      }
    }
    return out.sort((a, b) => (a.nodeId < b.nodeId ? -1 : 1));
  }

  /** Other nodes of the cluster seen recently (announced or linked). */
  get knownOthers(): number {
    // Counted without building a set: this runs on every mesh event.
    let n = this.discovery.members.size;
    for (const id of this.peersById.keys()) if (!this.discovery.members.has(id)) n++;
    return n;
  }

  /**
   * Other nodes whose latest word is READY: linked peers by their heartbeats, the rest by
   * their signaling announces, which every member receives alike. In a partial mesh this
   * is what all nodes can agree on; linked peers alone differ from node to node.
   */
  readyMembers(): string[] {
    const out = new Set<string>();
    for (const p of this.peers) if (p.state === 'READY') out.add(p.nodeId);
    for (const [id, m] of this.discovery.members) {
      if (m.state === 'READY' && !this.peersById.get(id)?.established) out.add(id);
    }
    return [...out];
  }

  /** How many links this node must hold to be healthy: `min(minPeers, others)`. */
  get requiredPeers(): number {
    return Math.min(this.opts.minPeers, this.knownOthers);
  }

  /** Signaling channels currently connected. */
  get signalingConnected(): number {
    return this.discovery.connectedChannels;
  }

  /** Live settings of the data channel to `nodeId` (spec §4.2), or null. */
  channelInfo(nodeId: string) {
    return this.peersById.get(nodeId)?.link.channelInfo() ?? null;
  }

  /** This node, its peers and their peers, with the links between them. */
  topology(): TopologySnapshot {
    return buildTopology({
      self: this.nodeId,
      state: this.opts.getState(),
      peers: this.peers,
      peersOf: (id) => this.peersById.get(id)?.peers ?? [],
      dead: this.deadLinks.keys(),
      stateOf: (id) => this.discovery.members.get(id)?.state ?? 'UNKNOWN',
    });
  }

  // ---------------------------------------------------------------- sending

  /** Sends application bytes to one peer. @throws KpcError `MESH_CLOSED` if not linked. */
  send(nodeId: string, bytes: Uint8Array): void {
    const p = this.peersById.get(nodeId);
    if (!p || !p.established) throw new KpcError('MESH_CLOSED', `no open link to ${nodeId}`);
    this.sendTo(nodeId, { type: MessageType.APP, body: bytes });
  }

  /** Sends application bytes to every open link; returns how many got it. */
  broadcast(bytes: Uint8Array): number {
    let n = 0;
    for (const peer of this.peers) {
      this.sendTo(peer.nodeId, { type: MessageType.APP, body: bytes });
      n++;
    }
    return n;
  }

  /**
   * Sends a protocol message (sync, consensus) to one peer; false when there is no open link.
   * Used by the layers above the mesh, which receive theirs as `protocol` events.
   */
  sendMessage(nodeId: string, msg: OutgoingMessage): boolean {
    const p = this.peersById.get(nodeId);
    if (!p || !p.established) return false;
    this.sendTo(nodeId, msg);
    return true;
  }

  /**
   * Counts a rejected input against a peer. Past {@link PENALTY_LIMIT} points the link is
   * closed and the peer refused for {@link BAN_MS}: a misbehaving node costs its peers little.
   */
  penalize(nodeId: string, error: KpcError, points = 1): void {
    this.reject(error, `link:${nodeId}`, nodeId, points);
  }

  private addPenalty(nodeId: string, error: KpcError, points: number): void {
    if (!this.penalties.add(nodeId, points)) return;
    this.discovery.forget(nodeId);
    this.log('warn', 'peer banned after repeated invalid input', { peer: nodeId, code: error.code });
    this.dropPeer(nodeId, `banned: ${error.code}`);
  }

  /** Whether `nodeId` is currently refused after {@link penalize}. */
  isBanned(nodeId: string): boolean {
    return this.refuse(nodeId) || this.penalties.isBanned(nodeId);
  }

  /** Recovery: announces now and tries every known member we hold no link to. */
  reconnect(): void {
    this.discovery.announce();
    for (const id of this.discovery.members.keys()) this.maybeConnect(id);
  }

  /** Recovery: forgets members silent since `since` (and not linked), so the minimum shrinks with them. */
  forgetSilentMembers(since: number): number {
    const gone = this.discovery.forgetSilent(since, (id) => this.peersById.get(id)?.link.open === true);
    // Attempts still pending to a silent member would hold the minimum up until they time out.
    for (const id of gone) this.dropPeer(id, 'member silent');
    if (gone.length > 0) this.scheduleChange();
    return gone.length;
  }

  /** Connection attempts not open yet. */
  get pendingLinks(): number {
    let n = 0;
    for (const p of this.peersById.values()) if (!p.established) n++;
    return n;
  }

  /** Fault injection: everything stops at once — no goodbye, no OFFLINE announce — as when a tab is killed. */
  crash(): void {
    if (!this.running) return;
    this.running = false;
    this.rt.clearTimeout(this.heartbeatTimer);
    this.rt.clearTimeout(this.livenessTimer);
    this.rt.clearTimeout(this.changeTimer);
    this.discovery.crash();
    for (const id of [...this.peersById.keys()]) this.dropPeer(id, 'crashed');
  }

  /** Fault injection: closes the link to `nodeId` as if its channel had died. */
  cutLink(nodeId: string): void {
    this.peersById.get(nodeId)?.link.close();
  }

  /**
   * Fault injection: while silenced this node neither sends nor reads anything on its
   * links — a hung peer whose channels stay open. Peers notice after 3 heartbeats.
   */
  setSilenced(on: boolean): void {
    this.silenced = on;
    this.discovery.silenced = on;
  }

  /** Tells peers and signaling about a state change right away instead of at the next heartbeat. */
  notifyStateChanged(): void {
    this.discovery.announce();
    this.scheduleChangeHeartbeat();
  }

  // ---------------------------------------------------------------- internals

  /** Signed, or HMAC-tagged with `macKey` (a link's send key). */
  private nextEnvelope(msg: OutgoingMessage, macKey?: Uint8Array): Uint8Array {
    this.seq = (this.seq + 1) >>> 0;
    return encodeEnvelope(this.opts.identity, { ...msg, seq: this.seq, timestamp: Math.max(0, Math.floor(this.rt.now())) } as never, {
      maxBytes: this.opts.maxMessageBytes,
      macKey,
    });
  }

  private sendTo(nodeId: string, msg: OutgoingMessage): void {
    const p = this.peersById.get(nodeId);
    if (!p?.link.open || this.silenced) return;
    // The handshake is signed; everything else waits for the link keys and is tagged.
    const macKey = msg.type === MessageType.HANDSHAKE ? undefined : p.auth.keys?.send;
    if (msg.type !== MessageType.HANDSHAKE && !macKey) return;
    try {
      p.link.send(this.nextEnvelope(msg, macKey));
    } catch (err) {
      this.log('warn', 'send failed', { to: nodeId, error: String(err) });
    }
  }

  /**
   * Starts a link to a member while this node holds fewer than `minPeers + 2` links
   * (open or pending). Initiating fewer than it accepts leaves every node room for the
   * offers of late joiners, which a node at `maxPeers` pending attempts would refuse.
   */
  private maybeConnect(remoteId: string): void {
    if (!this.running || this.isBanned(remoteId) || this.peersById.has(remoteId)) return;
    const limit = Math.min(this.opts.maxPeers, this.opts.minPeers + 2);
    if (this.peersById.size >= limit) return;
    const sourcesOf = (id: string) => this.discovery.members.get(id)?.sources;
    if (!withinSourceShare(remoteId, this.peersById.keys(), sourcesOf, this.discovery.channelCount, limit)) return;
    this.addPeer(remoteId, true, randomHex64(this.rt));
  }

  private onSignal(env: DecodedEnvelope): void {
    const body = env.body as { to: string; signal: unknown };
    const s = body.signal as Partial<SessionSignal> | null;
    if (!s || typeof s.session !== 'string' || typeof s.data !== 'object' || s.data === null) {
      throw new KpcError('PROTO_BAD_BODY', 'signal without session or data');
    }
    const isOffer = (s.data as { type?: unknown }).type === 'offer';
    const existing = this.peersById.get(env.fromId);
    if (existing && existing.session === s.session) {
      existing.link.signal(s.data);
      return;
    }
    const sessionKey = `${env.fromId}:${s.session}`;
    if (!isOffer) {
      // Candidates of an attempt abandoned by glare or timeout still trickle in: drop quietly.
      if (this.sessions.has(sessionKey)) return;
      throw new KpcError('MESH_SIGNAL_UNKNOWN_PEER', 'signal for no connection attempt we know', { from: env.fromId });
    }
    this.sessions.add(sessionKey);
    if (existing) {
      // Glare: both sides offered. The smaller id keeps its own offer; the other yields.
      if (existing.initiator && !existing.link.open && this.nodeId < env.fromId) return;
      this.dropPeer(env.fromId, 'replaced by a new offer');
    } else if (this.peers.length >= this.opts.maxPeers) {
      // Only open links count against the limit: pending attempts must not lock newcomers out.
      return;
    }
    this.discovery.touch(env.fromId);
    this.addPeer(env.fromId, false, s.session).link.signal(s.data);
  }

  private addPeer(remoteId: string, initiator: boolean, session: string): Peer {
    this.sessions.add(`${remoteId}:${session}`);
    const link = this.opts.links.create(remoteId, initiator);
    const entry = new Peer(remoteId, link, session, initiator, this.peerContext);
    this.peersById.set(remoteId, entry);
    link.onSignal = (data) => {
      const signal: SessionSignal = { session, data };
      this.discovery.sendSignal(remoteId, signal);
    };
    link.onOpen = () => {
      this.sendTo(remoteId, { type: MessageType.HANDSHAKE, body: entry.auth.handshake() });
      entry.handshakeSent = true;
      this.maybeEstablish(remoteId, entry);
    };
    link.onMessage = (bytes) => this.onLinkMessage(remoteId, entry, bytes);
    link.onClose = (reason) => {
      if (this.peersById.get(remoteId) === entry) this.dropPeer(remoteId, reason);
    };
    entry.connectTimer = this.rt.setTimeout(() => {
      if (!entry.established) this.dropPeer(remoteId, entry.link.open ? 'handshake timeout' : 'connect timeout');
    }, this.opts.connectTimeoutMs);
    return entry;
  }

  /** Both handshakes done and the channel open: the link is up. */
  private maybeEstablish(remoteId: string, entry: Peer): void {
    if (entry.established || !entry.link.open || !entry.handshakeSent || !entry.auth.keys) return;
    this.rt.clearTimeout(entry.connectTimer);
    entry.openedAt = this.rt.now();
    entry.lastHeard = this.mono(); // the handshake is not a heartbeat: liveness counts from here
    this.sendTo(remoteId, { type: MessageType.HELLO, body: { clusterId: this.opts.clusterId, state: this.opts.getState() } });
    const admit = this.linkAdmission?.opening();
    if (admit) this.sendTo(remoteId, admit);
    this.dispatch('peer-open', { nodeId: remoteId });
    this.peersChanged();
  }

  private dropPeer(remoteId: string, reason: string): void {
    const entry = this.peersById.get(remoteId);
    if (!entry) return;
    this.peersById.delete(remoteId);
    this.rt.clearTimeout(entry.connectTimer);
    const wasOpen = entry.openedAt !== undefined;
    entry.link.onClose = null;
    entry.link.close();
    if (wasOpen) {
      if (!CLEAN_ENDS.has(reason) && this.running) {
        this.deadLinks.set(remoteId, this.mono());
        // Lost without a goodbye: READY again only once it says so itself (an announce).
        this.discovery.markUnknown(remoteId);
      }
      this.log('info', 'peer link closed', { peer: remoteId, reason });
      this.dispatch('peer-close', { nodeId: remoteId, reason });
      this.peersChanged();
    }
  }

  private onLinkMessage(remoteId: string, entry: Peer, bytes: Uint8Array): void {
    if (this.silenced) return;
    const rate = entry.admitRate();
    if (rate === 'penalty') this.penalize(remoteId, new KpcError('MESH_RATE_LIMITED', `peer exceeds ${this.rate.perSecond} messages/s`));
    if (rate !== true) return;
    const handshake = !entry.auth.keys;
    let env: DecodedEnvelope;
    try {
      env = entry.receive(bytes, this.opts.maxMessageBytes, this.rt.now());
    } catch (err) {
      this.reject(err, `link:${remoteId}`, remoteId);
      // A link whose handshake failed can never be authenticated: close it.
      if (handshake) this.dropPeer(remoteId, 'bad handshake');
      return;
    }
    if (handshake) return this.maybeEstablish(remoteId, entry);
    switch (env.type) {
      case MessageType.HELLO: {
        const body = env.body as { clusterId: string; state: NodeState };
        if (body.clusterId !== this.opts.clusterId) {
          this.reject(new KpcError('MESH_WRONG_TOPIC', 'peer belongs to another cluster'), `link:${remoteId}`, remoteId);
          this.dropPeer(remoteId, 'wrong cluster');
          return;
        }
        entry.state = body.state;
        this.scheduleChangeHeartbeat();
        this.scheduleChange();
        return;
      }
      case MessageType.HEARTBEAT: {
        const body = env.body as { nonce: number; state: NodeState; peers: string[] };
        entry.state = body.state;
        entry.peers = body.peers.filter((id) => id !== remoteId);
        this.sendTo(remoteId, { type: MessageType.HEARTBEAT_ACK, body: { nonce: body.nonce } });
        this.scheduleChange();
        return;
      }
      case MessageType.HEARTBEAT_ACK:
        entry.ackPing((env.body as { nonce: number }).nonce);
        return;
      case MessageType.ADMIT: {
        if (!this.linkAdmission) return;
        try {
          this.linkAdmission.accept(entry, env.from, (env.body as { proof: string }).proof);
        } catch (err) {
          this.reject(err, `link:${remoteId}`, remoteId);
          this.dropPeer(remoteId, 'not admitted');
        }
        return;
      }
      case MessageType.GOODBYE:
        // A clean leave: it is no longer a member, so the minimum shrinks with it.
        this.discovery.forget(remoteId);
        this.dropPeer(remoteId, 'peer said goodbye');
        return;
      case MessageType.APP:
        this.dispatch('message', { from: remoteId, body: env.body as Uint8Array });
        return;
      case MessageType.SYNC_STATE:
      case MessageType.SYNC_DELTAS:
      case MessageType.CONSENSUS:
      case MessageType.INFER:
        this.dispatch('protocol', { from: remoteId, type: env.type, body: env.body });
        return;
      default:
        this.reject(new KpcError('PROTO_UNKNOWN_TYPE', `message type ${env.type} does not belong on a link`), `link:${remoteId}`, remoteId);
    }
  }

  private isSuspect(p: Peer): boolean {
    return this.mono() - p.lastHeard > this.opts.heartbeatMs * 1.5;
  }

  /** Drops links silent for 3 heartbeats; keeps suspect/dead link marks current. */
  private checkLiveness(): void {
    const now = this.mono();
    for (const [id, p] of this.peersById) {
      if (p.established && now - p.lastHeard > this.opts.heartbeatMs * 3) this.dropPeer(id, 'silent for 3 heartbeats');
    }
    if (this.linkAdmission) this.dropUnadmitted(this.linkAdmission);
    for (const [id, at] of this.deadLinks) if (now - at > DEAD_LINK_MS || (this.peersById.get(id)?.openedAt !== undefined)) this.deadLinks.delete(id);
    const suspects = this.peers.filter((p) => p.health === 'suspect').map((p) => p.nodeId).join() + '|' + [...this.deadLinks.keys()].join();
    if (suspects !== this.suspects) {
      this.suspects = suspects;
      this.scheduleChange();
    }
  }

  /** Drops links whose peer's proof lapsed (see {@link LinkAdmission}). */
  private dropUnadmitted(links: LinkAdmission): void {
    const now = this.rt.now();
    for (const [id, p] of this.peersById) {
      const lapsed = links.lapsed(p, now);
      if (!lapsed) continue;
      this.reject(lapsed, `link:${id}`, id);
      this.dropPeer(id, 'admission expired');
    }
  }

  private heartbeat(): void {
    const renewal = this.linkAdmission?.renewal();
    if (renewal) {
      for (const [id, p] of this.peersById) if (p.established) this.sendTo(id, renewal);
      this.discovery.readmit();
    }
    this.checkLiveness();
    for (const [id, p] of this.peersById) if (p.established) this.sendHeartbeat(id, p);
    // Below the minimum with members known: try members we are not linked to.
    if (this.peers.length < this.requiredPeers) {
      for (const id of this.discovery.members.keys()) this.maybeConnect(id);
    }
  }

  private sendHeartbeat(id: string, p: Peer): void {
    const nonce = p.startPing(() => this.rt.random());
    this.sendTo(id, {
      type: MessageType.HEARTBEAT,
      body: { nonce, state: this.opts.getState(), peers: this.peers.map((x) => x.nodeId) },
    });
  }

  private peersChanged(): void {
    this.dispatch('peers', this.peers);
    this.scheduleChangeHeartbeat();
    this.scheduleChange();
    this.discovery.scheduleAnnounce();
  }

  /** Peers learn our new links or state within a few ms, not at the next heartbeat. */
  private scheduleChangeHeartbeat(): void {
    if (this.changeTimer !== undefined || !this.running) return;
    this.changeTimer = this.rt.setTimeout(() => {
      this.changeTimer = undefined;
      for (const [id, p] of this.peersById) if (p.established) this.sendHeartbeat(id, p);
    }, 20);
  }

  private topologyQueued = false;
  private scheduleChange(): void {
    if (this.topologyQueued) return;
    this.topologyQueued = true;
    queueMicrotask(() => {
      this.topologyQueued = false;
      this.dispatch('topology', null);
    });
  }

  /** Drops an input: log line, `reject` event, and a penalty when a linked peer sent it. */
  private reject(err: unknown, source: string, from?: string, points = 1): void {
    const error = isKpcError(err) ? err : new KpcError('PROTO_MALFORMED', String(err));
    this.log('warn', `dropped message: ${error.message}`, { code: error.code, source, from });
    this.dispatch('reject', { error, source, from });
    if (from !== undefined && source.startsWith('link:')) this.addPenalty(from, error, points);
  }

  private dispatch(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string, ctx?: Record<string, unknown>): void {
    this.opts.log?.(level, msg, { node: this.nodeId.slice(0, 8), ...ctx });
  }
}
