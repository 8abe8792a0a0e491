/**
 * Discovery (spec §4.1 phase 1): the signaling side of the mesh.
 *
 * Joins every signaling server, announces this node on the cluster topic, keeps
 * the member table from verified announces, answers a newcomer's broadcast
 * announce directly (so it learns the cluster in one round trip) and hands
 * verified SIGNAL envelopes to the mesh. Servers are untrusted: every payload is
 * decoded and signature-checked here before anything else sees it; the same
 * envelope relayed by several servers is handled once.
 */
import type { Identity } from '../crypto/index.js';
import { KpcError } from '../errors.js';
import {
  MessageType,
  decodeEnvelopeText,
  envelopeToText,
  type DecodedEnvelope,
  type OutgoingMessage,
} from '../protocol/index.js';
import type { Runtime, TimerHandle } from '../runtime.js';
import type { NodeState } from '../state/machine.js';
import type { SignalingChannel, SignalingDelivery } from './signaling.js';
import { inTopK } from '../rendezvous.js';
import { SeenSet } from './util.js';

/** A node seen through signaling. */
export interface Member {
  state: NodeState | 'UNKNOWN';
  lastSeen: number;
  lastReplied: number;
  /** Signaling URLs that delivered its announces: a member one server alone vouches for is weaker (eclipse). */
  sources: Set<string>;
}

/** Proof-of-π admission (spec §8.1 Sybil): what this node shows, and how it checks others. */
export interface Admission {
  /** This node's current proof, as the text carried in its announces. */
  proofText(): string | undefined;
  /**
   * Throws a KpcError (`POW_*`) unless `proofText` is a valid, unexpired proof bound to
   * `publicKey` and this cluster; returns when it expires (ms since the epoch).
   */
  verify(publicKey: Uint8Array, proofText: string | undefined): number;
}

/** What discovery needs from the mesh that owns it. */
export interface DiscoveryHost {
  /** When set, members must prove their work before they are linked. */
  readonly admission?: Admission;
  readonly identity: Identity;
  readonly clusterId: string;
  readonly runtime: Runtime;
  readonly heartbeatMs: number;
  readonly minPeers: number;
  readonly maxSignalingBytes: number;
  /** Signs a message as this node (shared sequence numbers with the links). */
  envelope(msg: OutgoingMessage): Uint8Array;
  state(): NodeState;
  /** Node ids of open links. */
  linkedPeers(): string[];
  isLinkedOrPending(nodeId: string): boolean;
  isBanned(nodeId: string): boolean;
  /** A verified member announced itself: the mesh may link to it. */
  onMember(nodeId: string): void;
  /** A verified SIGNAL addressed to this node. */
  onSignal(env: DecodedEnvelope): void;
  onStatus(url: string, connected: boolean): void;
  /** Something the members table shows changed. */
  onChange(): void;
  reject(err: unknown, source: string, from?: string): void;
}

const DIRECT_REPLY_INTERVAL_MS = 2_000;
/**
 * Members that answer a newcomer's broadcast announce directly: the `k` that weigh most
 * with it (rendezvous). Enough for it to pick its first links from; it learns the rest
 * from their periodic broadcasts. Everyone answering made a join wave cost N² publishes.
 */
export const DIRECT_REPLIERS = 8;
/** Signaling envelopes further than this from our clock are refused (replays, skewed senders). */
export const SIGNALING_MAX_AGE_MS = 30_000;
/** Members not heard from for this many heartbeats (and not linked) are forgotten. */
const MEMBER_TTL_HEARTBEATS = 18;

/** The signaling side of one node's mesh. */
export class Discovery {
  /** Verified members, by node id. */
  readonly members = new Map<string, Member>();
  private readonly channels: SignalingChannel[] = [];
  private readonly seen = new SeenSet(4096);
  /** Members whose proof-of-π was verified (only kept when admission is on). */
  /** Admitted nodes, with when their proof expires: after that their signals are refused until a fresh one. */
  private readonly admitted = new Map<string, number>();
  private readonly clusterTopic: string;
  private readonly directTopic: string;
  private announceTimer: TimerHandle | undefined;
  private running = false;

  constructor(private readonly host: DiscoveryHost) {
    this.clusterTopic = `kpc/v1/${host.clusterId}`;
    this.directTopic = `${this.clusterTopic}/${host.identity.nodeId}`;
  }

  /** How many signaling channels this node uses. */
  get channelCount(): number {
    return this.channels.length;
  }

  /** Signaling channels currently connected. */
  get connectedChannels(): number {
    return this.channels.filter((c) => c.connected).length;
  }

  /** Joins every channel, subscribes to the cluster and direct topics, starts announcing. */
  start(channels: readonly SignalingChannel[]): void {
    this.running = true;
    for (const ch of channels) {
      ch.onDelivery = (d) => this.onDelivery(d);
      ch.onStatus = (connected) => {
        this.host.onStatus(ch.url, connected);
        if (connected) this.announce();
      };
      ch.subscribe([this.clusterTopic, this.directTopic]);
      this.channels.push(ch);
    }
    this.scheduleAnnounce();
  }

  /** Announces OFFLINE (a clean leave) and closes every channel. */
  stop(): void {
    if (!this.running) return;
    this.publish(this.clusterTopic, { type: MessageType.ANNOUNCE, body: { clusterId: this.host.clusterId, state: 'OFFLINE' } });
    this.running = false;
    this.host.runtime.clearTimeout(this.announceTimer);
    this.channels.splice(0).forEach((c) => c.close());
  }

  /** Fault injection: drops every channel at once, without the OFFLINE announce (a killed tab). */
  crash(): void {
    this.running = false;
    this.host.runtime.clearTimeout(this.announceTimer);
    this.channels.splice(0).forEach((c) => c.close());
  }

  /** Sends a WebRTC signal to `to` on its direct topic. */
  sendSignal(to: string, signal: object): void {
    this.publish(`${this.clusterTopic}/${to}`, { type: MessageType.SIGNAL, body: { to, signal } });
  }

  /** Announces now (state changes, reconnects) instead of at the next period. */
  announce(): void {
    if (!this.running) return;
    this.publish(this.clusterTopic, this.announcement());
  }

  /** Re-arms the periodic announce: every heartbeat while below the minimum, rarely otherwise. */
  scheduleAnnounce(): void {
    const rt = this.host.runtime;
    rt.clearTimeout(this.announceTimer);
    if (!this.running) return;
    const below = this.host.linkedPeers().length < Math.max(this.host.minPeers, 1);
    const period = below ? this.host.heartbeatMs : this.host.heartbeatMs * 6;
    this.announceTimer = rt.setTimeout(() => {
      this.announce();
      this.expire();
      this.scheduleAnnounce();
    }, period * (0.8 + rt.random() * 0.4));
  }

  /** Notes a member that reached us some other way (an offer). */
  touch(nodeId: string): void {
    if (!this.members.has(nodeId)) this.members.set(nodeId, { state: 'UNKNOWN', lastSeen: this.host.runtime.now(), lastReplied: 0, sources: new Set() });
  }

  /** Its link failed: its last announced state no longer counts until it announces again. */
  markUnknown(nodeId: string): void {
    const m = this.members.get(nodeId);
    if (m) m.state = 'UNKNOWN';
  }

  /** Forgets members not heard from since `since`, except those `keep` names; returns their ids. */
  forgetSilent(since: number, keep: (nodeId: string) => boolean): string[] {
    const gone: string[] = [];
    for (const [id, m] of this.members) {
      if (m.lastSeen < since && !keep(id)) {
        this.members.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** While silenced, nothing is published and nothing delivered is read (a hung node). */
  silenced = false;

  /** A new epoch's proof: servers that asked for one get it now, not when the old one lapses. */
  readmit(): void {
    for (const ch of this.channels) ch.readmit?.();
  }

  /** Forgets a member (a clean leave, or a ban). */
  forget(nodeId: string): void {
    this.members.delete(nodeId);
    this.admitted.delete(nodeId);
  }

  private announcement(): OutgoingMessage {
    const proof = this.host.admission?.proofText();
    return {
      type: MessageType.ANNOUNCE,
      body: { clusterId: this.host.clusterId, state: this.host.state(), peers: this.host.linkedPeers(), ...(proof ? { proof } : {}) },
    };
  }

  private publish(topic: string, msg: OutgoingMessage): void {
    if (this.silenced) return;
    const text = envelopeToText(this.host.envelope(msg));
    for (const ch of this.channels) ch.publish(topic, text);
  }

  private expire(): void {
    const horizon = this.host.runtime.now() - this.host.heartbeatMs * MEMBER_TTL_HEARTBEATS;
    for (const [id, m] of this.members) {
      if (m.lastSeen < horizon && !this.host.isLinkedOrPending(id)) this.members.delete(id);
    }
    const now = this.host.runtime.now();
    for (const [id, until] of this.admitted) if (until <= now) this.admitted.delete(id);
  }

  private onDelivery(d: SignalingDelivery): void {
    if (this.silenced) return;
    let env: DecodedEnvelope;
    try {
      if (typeof d.data !== 'string') throw new KpcError('PROTO_MALFORMED', 'signaling payload is not an envelope string');
      // Old envelopes are refused: the seen-set below only remembers the recent ones, so a
      // replay from beyond it must fail on its timestamp.
      env = decodeEnvelopeText(d.data, { maxBytes: this.host.maxSignalingBytes, now: this.host.runtime.now(), maxSkewMs: SIGNALING_MAX_AGE_MS });
    } catch (err) {
      return this.host.reject(err, d.source);
    }
    if (env.fromId === this.host.identity.nodeId) return; // servers echo our own publishes
    if (this.host.isBanned(env.fromId)) return;
    // Before de-duplication: which servers carry a member matters for choosing peers.
    const member = env.type === MessageType.ANNOUNCE ? this.members.get(env.fromId) : undefined;
    const confirmed = member !== undefined && !member.sources.has(d.source);
    if (confirmed) member.sources.add(d.source);
    // The same envelope arrives once per signaling server: handle it once.
    if (!this.seen.add(`${env.fromId}:${env.timestamp}:${env.seq}`)) {
      // …but a second server vouching for a member may make it eligible for a link now.
      if (confirmed) this.host.onMember(env.fromId);
      return;
    }
    try {
      if (env.type === MessageType.ANNOUNCE) {
        if (d.topic !== this.clusterTopic && d.topic !== this.directTopic) throw new KpcError('MESH_WRONG_TOPIC', 'announce on a foreign topic');
        this.onAnnounce(env, d.topic === this.directTopic, d.source);
      } else if (env.type === MessageType.SIGNAL) {
        if (d.topic !== this.directTopic) throw new KpcError('MESH_WRONG_TOPIC', 'signal outside our direct topic', { topic: d.topic });
        if (env.body.to !== this.host.identity.nodeId) throw new KpcError('MESH_WRONG_TOPIC', 'signal addressed to another node');
        if (this.host.admission && !((this.admitted.get(env.fromId) ?? -Infinity) > this.host.runtime.now())) {
          throw new KpcError('MESH_NOT_ADMITTED', 'signal from a node that has not proven its work', { from: env.fromId });
        }
        this.host.onSignal(env);
      } else {
        throw new KpcError('PROTO_UNKNOWN_TYPE', `message type ${env.type} does not belong on signaling`);
      }
    } catch (err) {
      this.host.reject(err, d.source, env.fromId);
    }
  }

  private onAnnounce(env: DecodedEnvelope & { type: typeof MessageType.ANNOUNCE }, direct: boolean, source: string): void {
    const body = env.body;
    if (body.clusterId !== this.host.clusterId) throw new KpcError('MESH_WRONG_TOPIC', 'announce for another cluster', { clusterId: body.clusterId });
    if (body.state === 'OFFLINE') {
      // A clean leave announced through signaling: forget the member (its links close by themselves).
      this.members.delete(env.fromId);
      this.host.onChange();
      return;
    }
    if (this.host.admission) {
      // Sybil resistance: no membership, no link, without a proof bound to this key and cluster.
      this.admitted.set(env.fromId, this.host.admission.verify(env.from, body.proof));
    }
    const now = this.host.runtime.now();
    const member = this.members.get(env.fromId) ?? { state: 'UNKNOWN', lastSeen: 0, lastReplied: 0, sources: new Set<string>() };
    member.sources.add(source);
    member.state = body.state;
    member.lastSeen = now;
    this.members.set(env.fromId, member);
    // Answer a broadcast announce directly (if among its repliers), so a newcomer learns members at once.
    if (!direct && now - member.lastReplied > DIRECT_REPLY_INTERVAL_MS && inTopK(env.fromId, this.host.identity.nodeId, this.members.keys(), DIRECT_REPLIERS)) {
      member.lastReplied = now;
      this.publish(`${this.clusterTopic}/${env.fromId}`, this.announcement());
    }
    this.host.onMember(env.fromId);
    this.host.onChange();
  }
}
