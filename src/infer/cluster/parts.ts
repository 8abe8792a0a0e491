/**
 * Messages larger than one data-channel message: split into PART frames, put back
 * together per sender with bounded memory.
 */
import { KpcError } from '../../errors.js';
import { MAX_REASSEMBLED_BYTES, PART_HEADER, encodeFrame, type PartFrame } from './frames.js';

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('INFER_BAD_FRAME', message, detail);
}

/**
 * Splits an encoded frame into PART frames of at most `maxFrameBytes` each (the frame
 * itself when it fits).
 */
export function splitFrame(frame: Uint8Array, maxFrameBytes: number, messageId: number): Uint8Array[] {
  if (frame.length <= maxFrameBytes) return [frame];
  const chunk = maxFrameBytes - PART_HEADER;
  if (chunk < 1) throw bad(`maxFrameBytes ${maxFrameBytes} leaves no room for data`);
  const count = Math.ceil(frame.length / chunk);
  if (count > 0xffff || frame.length > MAX_REASSEMBLED_BYTES) throw bad(`message of ${frame.length} bytes is too large`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    out.push(encodeFrame({ kind: 'part', messageId, index: i, count, total: frame.length, data: frame.subarray(i * chunk, (i + 1) * chunk) }));
  }
  return out;
}

interface PendingMessage {
  count: number;
  total: number;
  parts: (Uint8Array | undefined)[];
  got: number;
  bytes: number;
  started: number;
}

/**
 * Puts PART frames back together, per sender, with bounded memory: at most
 * `maxPending` unfinished messages per sender (the oldest is dropped), each no larger
 * than its declared total, expired after `expiryMs`.
 */
export class Reassembler {
  readonly #pending = new Map<string, Map<number, PendingMessage>>();

  /**
   * @param now - clock, ms
   * @param expiryMs - an unfinished message older than this is dropped
   * @param maxPending - unfinished messages per sender
   */
  constructor(private readonly now: () => number, private readonly expiryMs = 30_000, private readonly maxPending = 8) {}

  /**
   * Adds a part; returns the whole message once every part is in, else null.
   * @throws KpcError `INFER_BAD_FRAME` when the part contradicts the earlier ones
   */
  push(from: string, part: PartFrame): Uint8Array | null {
    const t = this.now();
    for (const [sender, msgs] of this.#pending) {
      for (const [id, p] of msgs) if (t - p.started > this.expiryMs) msgs.delete(id);
      if (msgs.size === 0) this.#pending.delete(sender);
    }
    let mine = this.#pending.get(from);
    if (!mine) this.#pending.set(from, (mine = new Map()));
    let p = mine.get(part.messageId);
    if (!p) {
      if (mine.size >= this.maxPending) mine.delete(mine.keys().next().value!);
      p = { count: part.count, total: part.total, parts: new Array(part.count), got: 0, bytes: 0, started: t };
      mine.set(part.messageId, p);
    }
    if (p.count !== part.count || p.total !== part.total || p.parts[part.index] || p.bytes + part.data.length > p.total) {
      mine.delete(part.messageId);
      throw bad('part does not match its message', { messageId: part.messageId, index: part.index });
    }
    p.parts[part.index] = part.data.slice();
    p.got++;
    p.bytes += part.data.length;
    if (p.got < p.count) return null;
    mine.delete(part.messageId);
    if (mine.size === 0) this.#pending.delete(from);
    if (p.bytes !== p.total) throw bad('parts do not add up to the message length', { total: p.total, bytes: p.bytes });
    const out = new Uint8Array(p.total);
    let off = 0;
    for (const d of p.parts) {
      out.set(d!, off);
      off += d!.length;
    }
    return out;
  }

  /** Unfinished messages held, all senders. */
  get pending(): number {
    let n = 0;
    for (const m of this.#pending.values()) n += m.size;
    return n;
  }

  /** Forgets a sender's unfinished messages. */
  forget(from: string): void {
    this.#pending.delete(from);
  }
}
