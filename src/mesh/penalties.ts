/**
 * Penalty points per peer: invalid input costs points; past a limit the peer is
 * refused for a while. A misbehaving node then costs its peers little.
 */
import { monotonicNow, type Runtime } from '../runtime.js';

/** Points of invalid input after which a peer is cut off. */
export const PENALTY_LIMIT = 10;
/** How long a cut-off peer is refused, ms. */
export const BAN_MS = 60_000;

/**
 * Points drain at one per this many ms: a score measures recent misbehaviour, so an
 * honest relay that now and then passes on something its peer refuses (a vote from a
 * member the peer does not know yet, during churn) is never cut off for it over a long
 * life, while a peer sending bad input faster than that still is.
 */
export const PENALTY_DECAY_MS = 60_000;

/** Scores and bans of one node's peers. */
export class PeerPenalties {
  private readonly scores = new Map<string, { points: number; at: number }>();
  private readonly bannedUntil = new Map<string, number>();

  constructor(private readonly rt: Runtime) {}

  /** Adds points; true when this pushed the peer over the limit (it is now banned). */
  add(nodeId: string, points: number): boolean {
    const now = monotonicNow(this.rt);
    const prev = this.scores.get(nodeId);
    const score = (prev ? Math.max(0, prev.points - (now - prev.at) / PENALTY_DECAY_MS) : 0) + points;
    if (score < PENALTY_LIMIT) {
      this.scores.set(nodeId, { points: score, at: now });
      return false;
    }
    this.scores.delete(nodeId);
    this.bannedUntil.set(nodeId, now + BAN_MS);
    return true;
  }

  /** Whether `nodeId` is refused now. */
  isBanned(nodeId: string): boolean {
    const until = this.bannedUntil.get(nodeId);
    if (until === undefined) return false;
    if (until > monotonicNow(this.rt)) return true;
    this.bannedUntil.delete(nodeId);
    return false;
  }
}

/** A token bucket: `perSecond` sustained, `burst` at once. */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(
    private readonly rate: { perSecond: number; burst: number },
    private readonly now: () => number,
  ) {
    this.tokens = rate.burst;
    this.refilledAt = now();
  }

  /** Takes one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.rate.burst, this.tokens + ((t - this.refilledAt) * this.rate.perSecond) / 1000);
    this.refilledAt = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
