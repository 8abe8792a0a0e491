/**
 * One peer link as the mesh holds it: the channel, its handshake and keys, what the
 * peer last told us, and the checks every frame from it passes before anything else
 * sees it (rate, decoding, authentication, sender, replay).
 */
import type { Identity } from '../crypto/index.js';
import { KpcError } from '../errors.js';
import { decodeEnvelope, type DecodedEnvelope } from '../protocol/index.js';
import type { NodeState } from '../state/machine.js';
import type { TimerHandle } from '../runtime.js';
import type { Link } from './link.js';
import { HANDSHAKE_MAX_SKEW_MS, LinkSession } from './link-session.js';
import { TokenBucket } from './penalties.js';

/** Dropped messages per penalty point: a peer that keeps flooding is cut off after 10 points. */
const THROTTLED_PER_POINT = 100;

/** What a {@link Peer} needs from its mesh. */
export interface PeerContext {
  identity: Identity;
  /** Inbound messages per second, and burst. */
  rate: { perSecond: number; burst: number };
  /** Monotonic time, ms (durations). */
  mono: () => number;
  /** Key material for the handshake (the simulator's is seeded); default the CSPRNG. */
  keyBytes?: (n: number) => Uint8Array;
}

/** One link to one remote node, from the first signal to its close. */
export class Peer {
  /** The link handshake and, once it is done, the link's HMAC keys. */
  readonly auth: LinkSession;
  handshakeSent = false;
  /** When both handshakes were done (wall clock, shown as `connectedAt`): the link counts as open from then on. */
  openedAt?: number;
  /** Monotonic time of the last authenticated frame. */
  lastHeard: number;
  /** What the peer last said its state was. */
  state: NodeState | 'UNKNOWN' = 'UNKNOWN';
  /** The peer's own peers, from its last heartbeat. */
  peers: readonly string[] = [];
  rttMs?: number;
  /** Until when (wall clock) the peer's last proof-of-π shown on this link is valid, with admission on. */
  admittedUntil?: number;
  connectTimer?: TimerHandle;
  private pingNonce?: number;
  private pingSentAt?: number;
  /** Highest envelope seq taken from this peer: a link is ordered, so seqs only grow. */
  private lastSeq = -1;
  private readonly bucket: TokenBucket;
  /** Messages dropped by the rate limit since the last penalty point. */
  private throttled = 0;

  constructor(
    readonly remoteId: string,
    readonly link: Link,
    /** The session id negotiated through signaling for this link. */
    readonly session: string,
    readonly initiator: boolean,
    private readonly ctx: PeerContext,
  ) {
    this.auth = new LinkSession(ctx.identity, remoteId, session, link, ctx.keyBytes);
    this.lastHeard = ctx.mono();
    this.bucket = new TokenBucket(ctx.rate, ctx.mono);
  }

  /** Whether the link is open and both its handshakes are done. */
  get established(): boolean {
    return this.openedAt !== undefined && this.link.open;
  }

  /**
   * The token bucket, checked before any decoding work: `true` to go on, `false` to drop
   * the frame, `'penalty'` to drop it and count a penalty point (every 100th drop).
   */
  admitRate(): boolean | 'penalty' {
    if (this.bucket.take()) return true;
    if (++this.throttled < THROTTLED_PER_POINT) return false;
    this.throttled = 0;
    return 'penalty';
  }

  /**
   * Authenticates one frame. Before the handshake only a fresh signed HANDSHAKE is taken
   * (and accepted here: the link keys exist afterwards); after it, only envelopes tagged
   * with the link key. Either way the sender must be the link peer and seqs must grow.
   * @throws KpcError for anything else; nothing about the peer changes then.
   */
  receive(bytes: Uint8Array, maxBytes: number, now: number): DecodedEnvelope {
    const keys = this.auth.keys;
    const env = decodeEnvelope(bytes, keys ? { maxBytes, macKey: keys.recv } : { maxBytes, now, maxSkewMs: HANDSHAKE_MAX_SKEW_MS });
    if (env.fromId !== this.remoteId) throw new KpcError('PROTO_WRONG_SENDER', 'envelope signed by another node than the link peer', { signer: env.fromId });
    if (env.seq <= this.lastSeq) throw new KpcError('PROTO_REPLAY', 'envelope seq not above the last one on this link', { seq: env.seq, last: this.lastSeq });
    if (!keys) this.auth.accept(env);
    this.lastSeq = env.seq;
    this.lastHeard = this.ctx.mono();
    return env;
  }

  /** Starts a round-trip measurement; returns the nonce the heartbeat carries. */
  startPing(random: () => number): number {
    this.pingNonce = Math.floor(random() * 0x7fffffff);
    this.pingSentAt = this.ctx.mono();
    return this.pingNonce;
  }

  /** Ends the measurement the ACK of `nonce` answers (other nonces are stale: ignored). */
  ackPing(nonce: number): void {
    if (nonce !== this.pingNonce || this.pingSentAt === undefined) return;
    this.rttMs = this.ctx.mono() - this.pingSentAt;
    this.pingNonce = undefined;
  }
}
