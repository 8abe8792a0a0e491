/**
 * The network provider of the CRDT (spec §5.1): anti-entropy and gossip over the mesh.
 *
 * - When a link opens, both sides send SYNC_STATE (their version vector); each answers
 *   with the signed deltas the other lacks, and with its own SYNC_STATE if it lacks
 *   something itself.
 * - A new local delta is pushed to every peer; a remote delta that was new to us is
 *   forwarded to every peer but the one it came from — so a partial mesh (3 links per
 *   node) converges, and duplicates die out at the first node that already has them.
 * - Every `antiEntropyMs` one random peer gets our SYNC_STATE, repairing whatever
 *   gossip lost (drops, partitions, restarts).
 *
 * Deltas are verified against their author's key, whoever relayed them; an invalid one
 * is dropped and counted against the peer that sent it (`mesh.penalize`).
 *
 * Emits `caught-up` when, for every peer that has told us its state, we hold at least
 * what it holds — the end of a joining node's SYNCING.
 */
import { KpcError, isKpcError } from '../errors.js';
import type { Mesh } from '../mesh/mesh.js';
import { MessageType } from '../protocol/index.js';
import { systemRuntime, type Runtime, type TimerHandle } from '../runtime.js';
import { decodeDelta, encodeDelta, peekDelta, type Delta, type Replica, type VersionVector } from '../sync/index.js';
import { packFrames, unpackFrames } from './frames.js';

/** Options of {@link SyncGossip}. */
export interface SyncGossipOptions {
  mesh: Mesh;
  replica: Replica;
  runtime?: Runtime;
  /** Interval of the background anti-entropy round. Default 10 s. */
  antiEntropyMs?: number;
  /** Largest SYNC_DELTAS body. Default 192 KiB (a data-channel message must stay under 256 KiB). */
  maxFrameBytes?: number;
}

interface ProtocolDetail {
  from: string;
  type: number;
  body: unknown;
}

/** True when `a` holds at least every delta `b` holds. */
export function dominates(a: VersionVector, b: VersionVector): boolean {
  return Object.entries(b).every(([author, seq]) => (a[author] ?? 0) >= (seq as number));
}

/** Anti-entropy and gossip of one replica over one mesh. */
export class SyncGossip extends EventTarget {
  private readonly mesh: Mesh;
  private readonly replica: Replica;
  private readonly rt: Runtime;
  private readonly antiEntropyMs: number;
  private readonly maxFrameBytes: number;
  /** Last version vector each peer told us. */
  private readonly peerStates = new Map<string, VersionVector>();
  private timer: TimerHandle | undefined;
  private wasCaughtUp = false;
  private readonly listeners: Array<[EventTarget, string, (e: Event) => void]> = [];

  constructor(opts: SyncGossipOptions) {
    super();
    this.mesh = opts.mesh;
    this.replica = opts.replica;
    this.rt = opts.runtime ?? systemRuntime;
    this.antiEntropyMs = opts.antiEntropyMs ?? 10_000;
    this.maxFrameBytes = opts.maxFrameBytes ?? 192 * 1024;
  }

  /** Starts listening to the mesh and the replica. */
  start(): void {
    this.on(this.mesh, 'peer-open', (e) => this.sendState((e as CustomEvent<{ nodeId: string }>).detail.nodeId));
    this.on(this.mesh, 'peer-close', (e) => {
      this.peerStates.delete((e as CustomEvent<{ nodeId: string }>).detail.nodeId);
      this.checkCaughtUp();
    });
    this.on(this.mesh, 'protocol', (e) => void this.onProtocol((e as CustomEvent<ProtocolDetail>).detail));
    this.on(this.replica, 'delta', (e) => this.push([(e as CustomEvent<Delta>).detail], undefined));
    this.timer = this.rt.setInterval(() => this.antiEntropyRound(), this.antiEntropyMs);
    for (const p of this.mesh.peers) this.sendState(p.nodeId);
  }

  /** Stops; the replica and mesh are left to their owners. */
  stop(): void {
    this.rt.clearTimeout(this.timer);
    for (const [target, type, fn] of this.listeners.splice(0)) target.removeEventListener(type, fn);
    this.peerStates.clear();
  }

  /** Recovery: asks every peer for what we lack (an anti-entropy round with all of them). */
  resync(): void {
    for (const p of this.mesh.peers) this.sendState(p.nodeId);
  }

  /**
   * True when every peer that told us its state holds nothing we lack. With no peer
   * heard from yet it is false, unless there are no peers at all.
   */
  get caughtUp(): boolean {
    const peers = this.mesh.peers;
    if (peers.length === 0) return true;
    const heard = peers.filter((p) => this.peerStates.has(p.nodeId));
    if (heard.length === 0) return false;
    const mine = this.replica.versionVector();
    return heard.every((p) => dominates(mine, this.peerStates.get(p.nodeId)!));
  }

  private on(target: EventTarget, type: string, fn: (e: Event) => void): void {
    target.addEventListener(type, fn);
    this.listeners.push([target, type, fn]);
  }

  private sendState(nodeId: string): void {
    this.mesh.sendMessage(nodeId, { type: MessageType.SYNC_STATE, body: { vv: { ...this.replica.versionVector() } } });
  }

  private antiEntropyRound(): void {
    const peers = this.mesh.peers;
    if (peers.length === 0) return;
    this.sendState(peers[Math.floor(this.rt.random() * peers.length)].nodeId);
  }

  /** Sends deltas to every peer but `except`. */
  private push(deltas: readonly Delta[], except: string | undefined): void {
    if (deltas.length === 0) return;
    const frames = packFrames(deltas.map(encodeDelta), this.maxFrameBytes);
    for (const p of this.mesh.peers) {
      if (p.nodeId === except) continue;
      for (const body of frames) this.mesh.sendMessage(p.nodeId, { type: MessageType.SYNC_DELTAS, body });
    }
  }

  private async onProtocol(d: ProtocolDetail): Promise<void> {
    if (d.type === MessageType.SYNC_STATE) {
      const theirs = (d.body as { vv: VersionVector }).vv;
      this.peerStates.set(d.from, theirs);
      const missing = this.replica.deltasSince(theirs);
      for (const body of packFrames(missing.map(encodeDelta), this.maxFrameBytes)) {
        this.mesh.sendMessage(d.from, { type: MessageType.SYNC_DELTAS, body });
      }
      // Ask back only when they have something we lack, so exchanges do not ping-pong.
      if (!dominates(this.replica.versionVector(), theirs)) this.sendState(d.from);
      this.checkCaughtUp();
    } else if (d.type === MessageType.SYNC_DELTAS) {
      await this.onDeltas(d.from, d.body as Uint8Array);
    }
  }

  private async onDeltas(from: string, frame: Uint8Array): Promise<void> {
    let items: Uint8Array[];
    try {
      items = unpackFrames(frame);
    } catch (err) {
      return this.penalize(from, err);
    }
    const fresh: Delta[] = [];
    let buffered = false;
    for (const bytes of items) {
      try {
        // Copies we already hold are dropped before paying for a signature check.
        const { author, seq } = peekDelta(bytes);
        if (this.replica.hasDelta(author, seq)) continue;
        const delta = decodeDelta(bytes);
        const result = await this.replica.applyRemote(delta);
        if (result === 'applied') fresh.push(delta);
        else if (result === 'buffered') buffered = true;
      } catch (err) {
        this.penalize(from, err);
      }
    }
    this.push(fresh, from);
    // A gap: tell the sender what we have, it answers with what is missing.
    if (buffered) this.sendState(from);
    this.checkCaughtUp();
  }

  /**
   * Counts a refused delta against the peer that sent it — except faults that are the
   * author's, not the relay's: an honest relay can pass on an equivocating author's other
   * version, a timestamp our clock finds too new, or more than our gap buffer holds.
   */
  private penalize(from: string, err: unknown): void {
    const error = isKpcError(err) ? err : new KpcError('PROTO_MALFORMED', String(err));
    const authorsFault = error.code === 'SYNC_EQUIVOCATION' || error.code === 'SYNC_CLOCK_SKEW' || error.code === 'SYNC_BUFFER_FULL';
    this.mesh.penalize(from, error, authorsFault ? 0 : 1);
  }

  private checkCaughtUp(): void {
    const now = this.caughtUp;
    if (now && !this.wasCaughtUp) this.dispatchEvent(new Event('caught-up'));
    this.wasCaughtUp = now;
  }
}
