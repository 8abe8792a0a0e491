/**
 * A real Mesh with nothing real around it: signaling channels the test feeds by hand,
 * and links that never open, so every link the node asks for stays visible as an
 * attempt. For Node tests of discovery rules (eclipse share, admission expiry).
 */
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { Admission } from '../../src/mesh/discovery.js';
import type { Link, LinkFactory } from '../../src/mesh/link.js';
import { Mesh } from '../../src/mesh/mesh.js';
import type { SignalingChannel, SignalingDelivery } from '../../src/mesh/signaling.js';
import { MessageType, encodeEnvelope, envelopeToText, type OutgoingMessage } from '../../src/protocol/index.js';
import { VirtualRuntime } from './virtual-runtime.js';

export const HAND_CLUSTER = 'hand';
export const HAND_START = 1_800_000_000_000;

/** A signaling channel whose deliveries the test makes. */
export class HandChannel implements SignalingChannel {
  connected = true;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;
  private seq = 0;
  constructor(readonly url: string) {}
  subscribe(): void {}
  publish(): void {}
  close(): void {}
  /** Delivers `msg`, signed by `who`, as if this server relayed it on `topic`. */
  deliver(who: Identity, msg: OutgoingMessage, topic: string, now: number): void {
    const env = encodeEnvelope(who, { ...msg, seq: ++this.seq, timestamp: now } as never);
    this.onDelivery?.({ topic, data: envelopeToText(env), source: this.url });
  }
  /** Delivers `who`'s READY announce on the cluster topic. */
  announce(who: Identity, now: number, proof?: string): void {
    const body = { clusterId: HAND_CLUSTER, state: 'READY' as const, ...(proof ? { proof } : {}) };
    this.deliver(who, { type: MessageType.ANNOUNCE, body }, `kpc/v1/${HAND_CLUSTER}`, now);
  }
}

/** Links that never open: `tried` lists the peers the node asked for, in order. */
export class PendingLinks implements LinkFactory {
  readonly tried: string[] = [];
  create(remoteId: string): Link {
    this.tried.push(remoteId);
    return {
      remoteId, open: false, bufferedAmount: 0,
      signal() {}, send() {}, close() {}, channelInfo: () => null,
      onSignal: null, onOpen: null, onMessage: null, onClose: null,
    };
  }
}

/** A started Mesh on hand-fed channels (one per URL) and pending-only links. */
export function handMesh(urls: readonly string[], extra: { admission?: Admission; runtime?: VirtualRuntime } = {}) {
  const rt = extra.runtime ?? new VirtualRuntime(HAND_START, () => 0.5);
  const links = new PendingLinks();
  const channels = new Map<string, HandChannel>();
  const identity = generateIdentity();
  const mesh = new Mesh({
    identity,
    clusterId: HAND_CLUSTER,
    signaling: urls,
    links,
    getState: () => 'DISCOVERING',
    runtime: rt,
    admission: extra.admission,
    // minPeers 3 (default) → the node initiates up to min(maxPeers, minPeers + 2) = 5 links.
    createSignaling: (url) => {
      const ch = new HandChannel(url);
      channels.set(url, ch);
      return ch;
    },
  });
  mesh.start();
  return { mesh, rt, links, identity, channel: (url: string) => channels.get(url)! };
}
