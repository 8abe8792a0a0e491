/**
 * {@link Link} over a WebRTC data channel, through simple-peer (spec §2, §4.2).
 */
import SimplePeer from 'simple-peer';
import { KpcError } from '../errors.js';
import type { ChannelInfo, Link, LinkFactory } from './link.js';

/** Spec §4.2, verbatim. */
export const DATA_CHANNEL_CONFIG: RTCDataChannelInit = Object.freeze({ ordered: true, maxRetransmits: 3 });

/** Options of {@link WebRtcLinkFactory}. */
export interface WebRtcLinkOptions {
  /**
   * ICE servers. Default `[]`: loopback and LAN need none, and an unreachable
   * default STUN server only slows gathering down. Pass STUN/TURN for the internet.
   */
  iceServers?: RTCIceServer[];
}

/**
 * The first DTLS fingerprint of an SDP, normalised to `"<algorithm> <HEX:…>"`.
 * Chromium puts the same one on every m-line, and a data-channel-only SDP has one.
 */
export function sdpFingerprint(sdp: string | undefined): string | undefined {
  const m = sdp ? /^a=fingerprint:(\S+) ([0-9A-Fa-f:]+)\s*$/m.exec(sdp) : null;
  return m ? `${m[1].toLowerCase()} ${m[2].toUpperCase()}` : undefined;
}

class WebRtcLink implements Link {
  readonly remoteId: string;
  onSignal: ((data: unknown) => void) | null = null;
  onOpen: (() => void) | null = null;
  onMessage: ((bytes: Uint8Array) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;
  private readonly peer: SimplePeer.Instance;
  private isOpen = false;
  private closed = false;

  constructor(remoteId: string, initiator: boolean, iceServers: RTCIceServer[]) {
    this.remoteId = remoteId;
    this.peer = new SimplePeer({
      initiator,
      trickle: true,
      config: { iceServers },
      channelConfig: { ...DATA_CHANNEL_CONFIG },
    });
    this.peer.on('signal', (data: unknown) => this.onSignal?.(data));
    this.peer.on('connect', () => {
      this.isOpen = true;
      this.onOpen?.();
    });
    this.peer.on('data', (data: Uint8Array) => {
      // simple-peer hands out Buffer-polyfill views; copy into a plain Uint8Array.
      this.onMessage?.(new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
    });
    this.peer.on('close', () => this.finish('channel closed'));
    this.peer.on('error', (err: Error) => this.finish(`error: ${err.message}`));
  }

  get open(): boolean {
    return this.isOpen && !this.closed;
  }

  get bufferedAmount(): number {
    return this.peer.bufferSize;
  }

  signal(data: unknown): void {
    if (this.closed) return;
    this.peer.signal(data as SimplePeer.SignalData);
  }

  send(bytes: Uint8Array): void {
    if (!this.open) throw new KpcError('MESH_CLOSED', `link to ${this.remoteId} is not open`);
    this.peer.send(bytes);
  }

  close(): void {
    this.finish('closed locally');
  }

  channelInfo(): ChannelInfo | null {
    const ch = (this.peer as unknown as { _channel?: RTCDataChannel })._channel;
    if (!ch) return null;
    return { ordered: ch.ordered, maxRetransmits: ch.maxRetransmits, label: ch.label };
  }

  fingerprints(): { local: string; remote: string } | null {
    const pc = (this.peer as unknown as { _pc?: RTCPeerConnection })._pc;
    const local = sdpFingerprint(pc?.localDescription?.sdp);
    const remote = sdpFingerprint(pc?.remoteDescription?.sdp);
    return local && remote ? { local, remote } : null;
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.isOpen = false;
    this.peer.destroy();
    this.onClose?.(reason);
  }
}

/** Makes WebRTC links with the spec's channel configuration. */
export class WebRtcLinkFactory implements LinkFactory {
  private readonly iceServers: RTCIceServer[];

  constructor(options: WebRtcLinkOptions = {}) {
    this.iceServers = options.iceServers ?? [];
  }

  create(remoteId: string, initiator: boolean): Link {
    return new WebRtcLink(remoteId, initiator, this.iceServers);
  }
}
