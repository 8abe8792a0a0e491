/**
 * Proof-of-π on links (spec §8.1): a link lasts only while the peer's proof does. Each
 * side shows its proof (ADMIT) when the link opens and again at every new epoch; a peer
 * that shows none within a grace period, shows an invalid one, or lets it lapse, loses
 * the link. Signaling-side admission (who may signal at all) is in discovery.ts.
 */
import { KpcError } from '../errors.js';
import { MessageType, type OutgoingMessage } from '../protocol/index.js';
import type { Admission } from './discovery.js';
import type { Peer } from './peer.js';

/** Admission as the links see it, for one node. */
export class LinkAdmission {
  /** The proof last shown to every peer, to notice a new epoch's. */
  private shown: string | undefined;

  constructor(
    private readonly admission: Admission,
    /** How long a new link may go without the peer's proof, ms (the connect timeout). */
    private readonly graceMs: number,
  ) {
    this.shown = admission.proofText();
  }

  /** The ADMIT a link opens with, if this node holds a proof. */
  opening(): OutgoingMessage | undefined {
    const proof = this.admission.proofText();
    return proof ? { type: MessageType.ADMIT, body: { proof } } : undefined;
  }

  /** A new epoch's ADMIT, once per proof: shown on every link (and to signaling servers that asked). */
  renewal(): OutgoingMessage | undefined {
    const proof = this.admission.proofText();
    if (!proof || proof === this.shown) return undefined;
    this.shown = proof;
    return { type: MessageType.ADMIT, body: { proof } };
  }

  /** Checks a peer's ADMIT against the key that sent it. @throws KpcError (`POW_*`) */
  accept(peer: Peer, from: Uint8Array, proof: string): void {
    peer.admittedUntil = this.admission.verify(from, proof);
  }

  /** Why `peer`'s link must end at wall time `now`, or null while its proof holds. */
  lapsed(peer: Peer, now: number): KpcError | null {
    if (!peer.established) return null;
    const until = peer.admittedUntil ?? peer.openedAt! + this.graceMs;
    if (now <= until) return null;
    return new KpcError('MESH_NOT_ADMITTED', peer.admittedUntil === undefined ? 'peer showed no proof-of-π on its link' : 'peer let its proof-of-π expire');
  }
}
