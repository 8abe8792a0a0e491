/**
 * The authenticated-link handshake (spec §8.2, docs/security.md).
 *
 * As soon as a data channel opens, each side sends one HANDSHAKE envelope signed
 * with its Ed25519 identity: the link session id both sides negotiated in signed
 * SIGNALs, the node it is meant for, a fresh X25519 public key, and (over WebRTC)
 * the DTLS fingerprint of its own end of the channel. The receiver checks all four
 * against what it negotiated, then both derive one HMAC key per direction
 * (`src/crypto/link-keys.ts`). From then on the link carries only HMAC-tagged
 * envelopes, and anything else is refused.
 *
 * What each check stops:
 * - signer = link peer (checked by the mesh): nobody else's handshake is taken;
 * - `to` = this node, `session` = this link's: a handshake cannot be replayed onto
 *   another link, nor one meant for another node reflected at this one;
 * - `fp` = the fingerprint in the SDP we received: the identity that signed is the
 *   one holding this DTLS channel's certificate, not a relay of someone else's channel;
 * - timestamps within {@link HANDSHAKE_MAX_SKEW_MS}: an old handshake is stale.
 */
import { deriveLinkKeys, fromHex, generateLinkKeyPair, toHex, type Identity, type LinkKeyPair, type LinkKeys } from '../crypto/index.js';
import { KpcError } from '../errors.js';
import { MessageType, type DecodedEnvelope, type HandshakeBody } from '../protocol/index.js';
import type { Link } from './link.js';

/** A handshake whose timestamp is further than this from the receiver's clock is refused (as for signaling). */
export const HANDSHAKE_MAX_SKEW_MS = 30_000;

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('MESH_BAD_HANDSHAKE', message, detail);
}

/** One link's handshake state: this side's ephemeral key, and the keys once agreed. */
export class LinkSession {
  private own: LinkKeyPair | undefined;
  private agreed: LinkKeys | undefined;
  /** Whether this side's handshake (and so its ephemeral key) went out. */
  private shown = false;

  constructor(
    private readonly identity: Identity,
    private readonly peerId: string,
    /** The session id negotiated through signaling for this link. */
    readonly session: string,
    private readonly link: Link,
    /** Key material source; default the platform CSPRNG (see `Runtime.keyBytes`). */
    private readonly keyBytes?: (n: number) => Uint8Array,
  ) {}

  /** The agreed keys, once the peer's handshake was accepted. */
  get keys(): LinkKeys | undefined {
    return this.agreed;
  }

  // Made on first use: most attempts that never open never pay for a key pair.
  private ownKeys(): LinkKeyPair {
    this.own ??= generateLinkKeyPair(this.keyBytes?.(32));
    return this.own;
  }

  /** This side's handshake body. */
  handshake(): HandshakeBody {
    const body: HandshakeBody = { session: this.session, to: this.peerId, eph: toHex(this.ownKeys().publicKey) };
    const fp = this.link.fingerprints?.()?.local;
    if (fp) body.fp = fp;
    this.shown = true;
    this.forgetSecret();
    return body;
  }

  // The ephemeral secret goes once the keys exist and its public half was shown: not
  // before, or a handshake sent after the peer's (a message can beat `onOpen`) would
  // carry a key the link keys were not derived from.
  private forgetSecret(): void {
    if (this.agreed && this.shown) this.own = undefined;
  }

  /**
   * Checks the peer's first envelope and derives the link keys.
   * The caller has already verified the signature and that the signer is the link peer.
   * @throws KpcError `MESH_BAD_HANDSHAKE` (not a handshake, or for another node,
   * session or channel), `CRYPTO_BAD_KEY` (a low-order ephemeral key).
   */
  accept(env: DecodedEnvelope): LinkKeys {
    if (this.agreed) throw bad('a second handshake on the same link');
    if (env.type !== MessageType.HANDSHAKE) throw bad('the first message on a link must be a HANDSHAKE', { type: env.type });
    // The mesh checks the signer first; checked again here so this class stands on its own.
    if (env.fromId !== this.peerId) throw bad('handshake signed by another node than the link peer', { signer: env.fromId });
    const body = env.body as HandshakeBody;
    if (body.to !== this.identity.nodeId) throw bad('handshake meant for another node', { to: body.to });
    if (body.session !== this.session) throw bad('handshake for another link session', { session: body.session });
    if (this.link.fingerprints) {
      // A transport with certificates (WebRTC) must have negotiated one by now: no fingerprint, no link.
      const expected = this.link.fingerprints()?.remote;
      if (expected === undefined) throw bad('this channel has no negotiated certificate fingerprint');
      if (body.fp !== expected) throw bad('handshake fingerprint is not the one this channel negotiated');
    }
    this.agreed = deriveLinkKeys({
      own: this.ownKeys(),
      peerEphemeral: fromHex(body.eph),
      ownIdentity: this.identity.publicKey,
      peerIdentity: env.from,
      session: this.session,
    });
    this.forgetSecret();
    return this.agreed;
  }
}
