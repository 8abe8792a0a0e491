/**
 * The transport seam between the mesh and the wire.
 *
 * The mesh only ever sees {@link Link}s made by a {@link LinkFactory}: WebRTC in
 * browsers ({@link WebRtcLinkFactory}), an in-memory pair in the deterministic
 * simulator. Signals (SDP, ICE) are opaque JSON to the mesh, which carries them
 * inside signed envelopes.
 */

/** Live data-channel settings as the channel itself reports them. */
export interface ChannelInfo {
  readonly ordered: boolean;
  readonly maxRetransmits: number | null;
  readonly label: string;
}

/** A point-to-point, message-oriented link to one remote node. */
export interface Link {
  /** The remote node id this link was created for. */
  readonly remoteId: string;
  /** True once messages can be sent. */
  readonly open: boolean;
  /** Bytes queued on the channel and not yet handed to the network. */
  readonly bufferedAmount: number;
  /** Feeds a signal received from the remote side (offer, answer, candidate). */
  signal(data: unknown): void;
  /** Sends one binary message; throws `MESH_CLOSED` when the link is not open. */
  send(bytes: Uint8Array): void;
  /** Closes the link; `onClose` fires once. */
  close(): void;
  /** Live channel settings, once open. */
  channelInfo(): ChannelInfo | null;
  /**
   * The transport's certificate fingerprints of both ends (`"sha-256 AB:…"`), once
   * negotiated, for transports that have them (DTLS). The link handshake binds them.
   */
  fingerprints?(): { local: string; remote: string } | null;
  onSignal: ((data: unknown) => void) | null;
  onOpen: (() => void) | null;
  onMessage: ((bytes: Uint8Array) => void) | null;
  onClose: ((reason: string) => void) | null;
}

/** Creates links; one factory per node. */
export interface LinkFactory {
  create(remoteId: string, initiator: boolean): Link;
}
