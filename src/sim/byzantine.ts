/**
 * The byzantine adversary: byzantine nodes run a real PiNode (so they hold real
 * links and look like members) and, on top, send forged, replayed and malformed
 * input to honest nodes over their own data channels and through signaling. The
 * byzantine nodes collude: they share what they overhear on the signaling server
 * (y-webrtc topics are public, so a client may subscribe to any node's direct topic).
 *
 * Every attack is one of {@link ATTACKS}; the cluster checks each delivery of one to
 * an honest node (see `byzantine-contained` in `invariants.ts`).
 */
import { GENESIS_ID, signProposal } from '../consensus/index.js';
import { concatBytes, fromBase64, toBase64, toHex, utf8Encode } from '../crypto/bytes.js';
import { sign, type Identity } from '../crypto/identity.js';
import { packFrames } from '../gossip/frames.js';
import { MODEL_PRESETS } from '../infer/index.js';
import { linkTag } from '../crypto/link-keys.js';
import { ENVELOPE_SIGNING_DOMAIN, LINK_ENVELOPE_DOMAIN, LINK_ENVELOPE_VERSION, MessageType, canonicalJsonBytes, encodeEnvelope, parseCanonicalJson, type JsonValue, type Message } from '../protocol/index.js';
import { encodeDelta, signDelta } from '../sync/index.js';
import type { Endpoint } from './network.js';
import type { Prng } from './prng.js';
import type { SimSignalingServer } from './signaling.js';

/** Every attack the adversary knows. */
export const ATTACKS = [
  /** Own valid HEARTBEAT with one tag (or signature) bit flipped, on a link. */
  'link-bad-signature',
  /** An envelope claiming an honest node's key (tagged with the byzantine node's link key), on a link. */
  'link-impersonate',
  /** An honest node's overheard envelope, replayed on a link. */
  'link-replay',
  /** Random bytes, truncations, bad magic/version/type/length, oversize, on a link. */
  'link-malformed',
  /** Correctly tagged by the byzantine node, but the body is invalid JSON for its type. */
  'link-bad-body',
  /** A correctly tagged HELLO for another cluster (the honest peer drops this link). */
  'link-wrong-cluster',
  /** ANNOUNCE OFFLINE in an honest node's name (byzantine signature), on the cluster topic. */
  'sig-forged-announce',
  /** An offer in an honest node's name (byzantine signature), on an honest node's direct topic. */
  'sig-forged-signal',
  /** An overheard envelope republished, to its own topic or another node's direct topic. */
  'sig-replay',
  /** Non-base64 text, garbage base64, non-string JSON, oversize text, through signaling. */
  'sig-malformed',
  /** Correctly signed ANNOUNCE for another cluster, on the cluster topic. */
  'sig-wrong-cluster',
  /** Correctly signed answer for a session nobody opened, on an honest node's direct topic. */
  'sig-unknown-session',
  /**
   * SYNC_DELTAS with a forged write to a workload key: in an honest node's name (its key,
   * the byzantine signature; next seq or a gap), or the byzantine's own, dated 10 min ahead.
   */
  'link-forged-delta',
  /** A consensus proposal in an honest node's name (byzantine signature), for one of the first slots. */
  'link-forged-proposal',
] as const;

/** One attack kind. */
export type AttackKind = (typeof ATTACKS)[number];

/** What the adversary needs to know about one byzantine node. */
export interface ByzantineNode {
  readonly identity: Identity;
  readonly ep: Endpoint;
  /** The byzantine node's own PiNode, if running: its replica tells which delta seqs are next. */
  readonly pi?: { versionVector(): Record<string, number> } | null;
  /**
   * Takes the next envelope seq of the byzantine node's own mesh (so its real traffic goes on
   * above it). Without it, attacks use a private counter from 10^9, and an honest peer then
   * refuses the byzantine node's own later envelopes on that link as replays.
   */
  readonly nextSeq?: () => number | undefined;
  /**
   * The send key of the byzantine node's link to `peerId` (it ran the handshake, so it
   * holds one): link attacks are tagged with it and so reach the checks behind the tag.
   * Without it they are refused at the tag (`PROTO_BAD_MAC`).
   */
  readonly linkKey?: (peerId: string) => Uint8Array | undefined;
}

interface Captured {
  topic: string;
  data: string;
}

/** The colluding byzantine nodes' shared brain. */
export class Adversary {
  /** Attacks launched, by kind. */
  readonly launched: Record<string, number> = {};
  private readonly captured: Captured[] = [];
  private heard = 0;
  private seq = 1_000_000_000;
  /** While a link attack is built: that link's send key, so its envelopes carry a valid tag. */
  private macKey: Uint8Array | undefined;

  constructor(
    private readonly rng: Prng,
    private readonly clusterId: string,
    private readonly servers: readonly SimSignalingServer[],
    /** Public keys and ids of honest nodes (public information). */
    private readonly honest: readonly { nodeId: string; publicKey: Uint8Array }[],
    private readonly kinds: readonly AttackKind[] = ATTACKS,
    private readonly capacity = 256,
  ) {}

  /** Records an overheard honest publish (reservoir sample, so old frames stay replayable). */
  overhear(topic: string, data: unknown): void {
    if (typeof data !== 'string' || data.length > 4096) return;
    this.heard++;
    if (this.captured.length < this.capacity) this.captured.push({ topic, data });
    else {
      const j = this.rng.int(this.heard);
      if (j < this.capacity) this.captured[j] = { topic, data };
    }
  }

  /** Launches one attack from `byz`; returns its kind, or null when none applies right now. */
  attack(byz: ByzantineNode): AttackKind | null {
    if (!byz.ep.up || this.honest.length === 0) return null;
    const links = [...byz.ep.links].filter((l) => l.open);
    const kinds = this.kinds.filter((k) => (k.startsWith('link-') ? links.length > 0 : true) && (!k.endsWith('replay') || this.captured.length > 0));
    if (kinds.length === 0) return null;
    const kind = this.rng.pick(kinds);
    const victim = this.rng.pick(this.honest);
    const cluster = `kpc/v1/${this.clusterId}`;
    if (kind.startsWith('link-')) {
      const link = this.rng.pick(links);
      this.macKey = byz.linkKey?.(link.remoteId);
      try {
        link.inject(this.linkPayload(kind, byz, victim), kind);
      } finally {
        this.macKey = undefined;
      }
    } else {
      const server = this.rng.pick(this.servers);
      const direct = `${cluster}/${victim.nodeId}`;
      switch (kind) {
        case 'sig-forged-announce':
          server.inject(byz.ep, cluster, toBase64(this.impersonate(byz, victim.publicKey, { type: MessageType.ANNOUNCE, body: { clusterId: this.clusterId, state: 'OFFLINE' } })), kind);
          break;
        case 'sig-forged-signal': {
          const other = this.rng.pick(this.honest);
          const signal = { session: this.hex(), data: { type: 'offer', sdp: 'v=0 kpc-sim forged' } };
          server.inject(byz.ep, direct, toBase64(this.impersonate(byz, other.publicKey, { type: MessageType.SIGNAL, body: { to: victim.nodeId, signal } })), kind);
          break;
        }
        case 'sig-replay': {
          const c = this.rng.pick(this.captured);
          server.inject(byz.ep, this.rng.chance(0.5) ? c.topic : direct, c.data, kind);
          break;
        }
        case 'sig-malformed':
          server.inject(byz.ep, this.rng.chance(0.5) ? cluster : direct, this.malformedText(), kind);
          break;
        case 'sig-wrong-cluster':
          server.inject(byz.ep, cluster, toBase64(this.envelope(byz, { type: MessageType.ANNOUNCE, body: { clusterId: `${this.clusterId}-evil`, state: 'READY' } })), kind);
          break;
        case 'sig-unknown-session': {
          const signal = { session: this.hex(), data: { type: 'answer', sdp: 'v=0 kpc-sim nowhere' } };
          server.inject(byz.ep, direct, toBase64(this.envelope(byz, { type: MessageType.SIGNAL, body: { to: victim.nodeId, signal } })), kind);
          break;
        }
      }
    }
    this.launched[kind] = (this.launched[kind] ?? 0) + 1;
    return kind;
  }

  private linkPayload(kind: AttackKind, byz: ByzantineNode, victim: { nodeId: string; publicKey: Uint8Array }): Uint8Array {
    const victimKey = victim.publicKey;
    const hb = (): Uint8Array => this.envelope(byz, { type: MessageType.HEARTBEAT, body: { nonce: this.rng.int(1e9), state: 'READY', peers: [] } });
    switch (kind) {
      case 'link-bad-signature': {
        const env = hb();
        env[env.length - 1 - this.rng.int(this.macKey ? 32 : 64)] ^= 1 << this.rng.int(8);
        return env;
      }
      case 'link-impersonate':
        return this.impersonate(byz, victimKey, { type: MessageType.GOODBYE, body: { reason: 'forged' } });
      case 'link-replay':
        return fromBase64(this.rng.pick(this.captured).data);
      case 'link-bad-body':
        return this.signRaw(byz, MessageType.HEARTBEAT, utf8Encode(this.rng.pick(['{"nonce":-1}', '[]', '{"nonce":1,"state":"NOPE","peers":[]}', 'not json'])));
      case 'link-wrong-cluster':
        return this.envelope(byz, { type: MessageType.HELLO, body: { clusterId: `${this.clusterId}-evil`, state: 'READY' } });
      case 'link-forged-delta':
        return this.envelope(byz, { type: MessageType.SYNC_DELTAS, body: packFrames([this.forgedDelta(byz, victim)], 1 << 20)[0] });
      case 'link-forged-proposal':
        return this.envelope(byz, { type: MessageType.CONSENSUS, body: this.forgedProposal(byz, victim) });
      default:
        return this.malformedBytes(hb());
    }
  }

  /** An encoded delta with a forged write to a workload key (see `link-forged-delta`). */
  private forgedDelta(byz: ByzantineNode, victim: { nodeId: string; publicKey: Uint8Array }): Uint8Array {
    let vv: Record<string, number> = {};
    try {
      vv = byz.pi?.versionVector() ?? {};
    } catch {
      vv = {};
    }
    const now = this.now();
    const write = (wall: number) => ({ key: `w/shared/${this.rng.int(8)}`, kind: 'json' as const, value: { forged: this.rng.int(1e9) }, ts: { wall, counter: 0 } });
    const variant = this.rng.int(3);
    if (variant === 2) {
      // Validly signed by the byzantine node itself, but dated far ahead: it would win every key.
      return encodeDelta(signDelta(byz.identity, (vv[byz.identity.nodeId] ?? 0) + 1, [write(now + 600_000)]));
    }
    // In the victim's name: its key over the byzantine signature, as its next delta or past a gap.
    const bytes = encodeDelta(signDelta(byz.identity, (vv[victim.nodeId] ?? 0) + 1 + variant, [write(now + 1_000)]));
    bytes.set(victim.publicKey, 1);
    return bytes;
  }

  /** A signed proposal whose key is swapped for the victim's (see `link-forged-proposal`). */
  private forgedProposal(byz: ByzantineNode, victim: { nodeId: string; publicKey: Uint8Array }): Uint8Array {
    const now = this.now();
    const payload = { ...MODEL_PRESETS['kpc-tiny'], seed: 0x0bad0000 + this.rng.int(1 << 16) } as unknown as JsonValue;
    const members = [victim.nodeId, byz.identity.nodeId].sort();
    const p = signProposal(byz.identity, { slot: this.rng.int(4), parent: { slot: -1, id: GENESIS_ID }, kind: 'model-spec', payload, members, created: now, expires: now + 10_000 });
    const content = parseCanonicalJson(p.bytes) as Record<string, JsonValue>;
    return canonicalJsonBytes({ ...content, key: toHex(victim.publicKey) });
  }

  private malformedBytes(valid: Uint8Array): Uint8Array {
    const out = Uint8Array.from(valid);
    switch (this.rng.int(7)) {
      case 0:
        return this.rng.bytes(this.rng.int(300));
      case 1:
        return valid.subarray(0, this.rng.int(valid.length));
      case 2:
        out[0] = 0x00; // magic
        return out;
      case 3:
        out[2] = 99; // version
        return out;
      case 4:
        out[3] = 0x7e; // unregistered type
        return out;
      case 5:
        return concatBytes(valid, this.rng.bytes(1 + this.rng.int(8))); // length mismatch
      default:
        return new Uint8Array(300 * 1024); // above every limit
    }
  }

  private malformedText(): unknown {
    switch (this.rng.int(5)) {
      case 0:
        return '%%% not base64 %%%';
      case 1:
        return toBase64(this.rng.bytes(1 + this.rng.int(200)));
      case 2:
        return { type: 'publish', nested: [1, 2, 3] };
      case 3:
        return 42;
      default:
        return 'A'.repeat(90_000);
    }
  }

  private envelope(byz: ByzantineNode, msg: Omit<Message, 'seq' | 'timestamp'>, identity: Identity = byz.identity): Uint8Array {
    return encodeEnvelope(identity, { ...msg, seq: this.takeSeq(byz), timestamp: byz.ep.up ? this.now() : 0 } as Message, { macKey: this.macKey });
  }

  /**
   * An envelope of `byz` whose `from` key is `key`. Signed, the signature no longer
   * matches; tagged, the tag does (the byzantine node holds the link key), so only the
   * sender check can refuse it.
   */
  private impersonate(byz: ByzantineNode, key: Uint8Array, msg: Omit<Message, 'seq' | 'timestamp'>): Uint8Array {
    if (this.macKey) return this.envelope(byz, msg, { ...byz.identity, publicKey: key });
    const env = this.envelope(byz, msg);
    env.set(key, 4);
    return env;
  }

  /** Signs (or tags) arbitrary body bytes, bypassing the body validator. */
  private signRaw(byz: ByzantineNode, type: number, body: Uint8Array): Uint8Array {
    const out = new Uint8Array(52 + body.length);
    const view = new DataView(out.buffer);
    out.set([0x4b, 0x50, this.macKey ? LINK_ENVELOPE_VERSION : 1, type]);
    out.set(byz.identity.publicKey, 4);
    view.setUint32(36, this.takeSeq(byz));
    view.setBigUint64(40, BigInt(this.now()));
    view.setUint32(48, body.length);
    out.set(body, 52);
    if (this.macKey) return concatBytes(out, linkTag(this.macKey, utf8Encode(LINK_ENVELOPE_DOMAIN), out));
    return concatBytes(out, sign(byz.identity, concatBytes(utf8Encode(ENVELOPE_SIGNING_DOMAIN), out)));
  }

  private takeSeq(byz: ByzantineNode): number {
    return byz.nextSeq?.() ?? this.seq++;
  }

  /** Set by the cluster: the byzantine nodes' (shared, unskewed) clock. */
  now: () => number = () => 0;

  private hex(): string {
    return this.rng.u32().toString(16).padStart(8, '0') + this.rng.u32().toString(16).padStart(8, '0');
  }
}
