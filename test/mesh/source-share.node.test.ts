/**
 * The eclipse rule in isolation (spec §8.1, docs/security.md "A lying server"): among
 * the links a node initiates, members that only one server vouches for take at most
 * that server's share. A real Mesh, two signaling channels we drive by hand, and links
 * that never open, so every link the node asks for stays visible as an attempt.
 */
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { generateIdentity, type Identity } from '../../src/crypto/index.js';
import type { Link, LinkFactory } from '../../src/mesh/link.js';
import { Mesh } from '../../src/mesh/mesh.js';
import type { SignalingChannel, SignalingDelivery } from '../../src/mesh/signaling.js';
import { MessageType, encodeEnvelope, envelopeToText } from '../../src/protocol/index.js';
import { VirtualRuntime } from '../helpers/virtual-runtime.js';

const CLUSTER = 'eclipse';
const TOPIC = `kpc/v1/${CLUSTER}`;
const START = 1_800_000_000_000;

class HandChannel implements SignalingChannel {
  connected = true;
  onDelivery: ((d: SignalingDelivery) => void) | null = null;
  onStatus: ((connected: boolean) => void) | null = null;
  constructor(readonly url: string) {}
  subscribe(): void {}
  publish(): void {}
  close(): void {}
  /** Delivers `who`'s signed READY announce as if this server relayed it. */
  announce(who: Identity, now: number): void {
    const env = encodeEnvelope(who, { type: MessageType.ANNOUNCE, seq: 1, timestamp: now, body: { clusterId: CLUSTER, state: 'READY' } });
    this.onDelivery?.({ topic: TOPIC, data: envelopeToText(env), source: this.url });
  }
}

/** Links that never open: the test reads which peers the node tried. */
class PendingLinks implements LinkFactory {
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

function setup() {
  const rt = new VirtualRuntime(START, () => 0.5);
  const links = new PendingLinks();
  const channels = new Map<string, HandChannel>();
  const mesh = new Mesh({
    identity: generateIdentity(),
    clusterId: CLUSTER,
    signaling: ['ws://liar', 'ws://honest'],
    links,
    getState: () => 'DISCOVERING',
    runtime: rt,
    // minPeers 3 → the node initiates up to min(maxPeers, minPeers + 2) = 5 links.
    createSignaling: (url) => {
      const ch = new HandChannel(url);
      channels.set(url, ch);
      return ch;
    },
  });
  mesh.start();
  return { mesh, rt, links, liar: channels.get('ws://liar')!, honest: channels.get('ws://honest')! };
}

describe('eclipse mitigation: the per-server share of initiated links', () => {
  it('a lying server that announces only its own identities gets at most ⌈5/2⌉ = 3 of the 5 initiated links', () => {
    const { mesh, rt, links, liar, honest } = setup();
    const fakes = Array.from({ length: 12 }, () => generateIdentity());
    const real = Array.from({ length: 3 }, () => generateIdentity());
    // The liar is faster: all its fakes arrive before any honest member.
    for (const f of fakes) liar.announce(f, rt.now());
    for (const r of real) {
      liar.announce(r, rt.now()); // a lying server may also relay honest nodes…
      honest.announce(r, rt.now()); // …which the other server confirms
    }
    const fakeIds = new Set(fakes.map((f) => f.nodeId));
    const toFakes = links.tried.filter((id) => fakeIds.has(id));
    expect(toFakes).to.have.length(3);
    // The two remaining attempts go to members both servers vouch for.
    expect(links.tried.filter((id) => !fakeIds.has(id))).to.have.length(2);
    expect(links.tried).to.have.length(5);
    mesh.crash();
  });

  it('members one honest server alone announces are limited the same way, per server', () => {
    const { mesh, rt, links, liar, honest } = setup();
    const onlyLiar = Array.from({ length: 4 }, () => generateIdentity());
    const onlyHonest = Array.from({ length: 4 }, () => generateIdentity());
    for (const m of onlyLiar) liar.announce(m, rt.now());
    for (const m of onlyHonest) honest.announce(m, rt.now());
    const liarIds = new Set(onlyLiar.map((f) => f.nodeId));
    expect(links.tried.filter((id) => liarIds.has(id))).to.have.length(3);
    expect(links.tried.filter((id) => !liarIds.has(id))).to.have.length(2);
    expect(links.tried).to.have.length(5);
    mesh.crash();
  });

  it('with one server there is nothing to share: the first five members get the attempts', () => {
    const rt = new VirtualRuntime(START, () => 0.5);
    const links = new PendingLinks();
    let only: HandChannel | undefined;
    const mesh = new Mesh({
      identity: generateIdentity(), clusterId: CLUSTER, signaling: ['ws://only'], links, getState: () => 'DISCOVERING', runtime: rt,
      createSignaling: (url) => (only = new HandChannel(url)),
    });
    mesh.start();
    const members = Array.from({ length: 7 }, () => generateIdentity());
    for (const m of members) only!.announce(m, rt.now());
    expect(links.tried).to.deep.equal(members.slice(0, 5).map((m) => m.nodeId));
    mesh.crash();
  });
});
