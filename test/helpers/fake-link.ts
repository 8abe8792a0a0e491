/** A Link that goes nowhere, for tests of what reads only its metadata (the link handshake). */
import type { ChannelInfo, Link } from '../../src/mesh/link.js';

/** Open, silent, and reporting `fps` as its DTLS fingerprints (no `fingerprints()` at all when `fps` is undefined, as in the simulator). */
export class FingerprintLink implements Link {
  readonly open = true;
  readonly bufferedAmount = 0;
  onSignal: ((data: unknown) => void) | null = null;
  onOpen: (() => void) | null = null;
  onMessage: ((bytes: Uint8Array) => void) | null = null;
  onClose: ((reason: string) => void) | null = null;
  readonly fingerprints?: () => { local: string; remote: string } | null;

  constructor(
    readonly remoteId: string,
    fps?: { local: string; remote: string } | null,
  ) {
    if (fps !== undefined) this.fingerprints = () => fps;
  }

  signal(): void {}
  send(): void {}
  close(): void {}
  channelInfo(): ChannelInfo | null {
    return null;
  }
}
