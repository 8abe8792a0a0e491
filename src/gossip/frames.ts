/**
 * Framing of several encoded deltas in one SYNC_DELTAS body: `[u32 length][bytes]…`.
 * Frames stay under a byte budget so each fits one data-channel message.
 */
import { KpcError } from '../errors.js';

/** Packs items into frames of at most `maxBytes` each (an item larger than that gets a frame of its own). */
export function packFrames(items: readonly Uint8Array[], maxBytes: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  let batch: Uint8Array[] = [];
  let size = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const out = new Uint8Array(size);
    const view = new DataView(out.buffer);
    let off = 0;
    for (const item of batch) {
      view.setUint32(off, item.length);
      out.set(item, off + 4);
      off += 4 + item.length;
    }
    frames.push(out);
    batch = [];
    size = 0;
  };
  for (const item of items) {
    if (size + 4 + item.length > maxBytes) flush();
    batch.push(item);
    size += 4 + item.length;
  }
  flush();
  return frames;
}

/**
 * Splits a frame back into items.
 * @throws KpcError `PROTO_MALFORMED` when a length runs past the end.
 */
export function unpackFrames(frame: Uint8Array, maxItems = 4096): Uint8Array[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const items: Uint8Array[] = [];
  let off = 0;
  while (off < frame.length) {
    if (off + 4 > frame.length) throw new KpcError('PROTO_MALFORMED', 'truncated frame length');
    const len = view.getUint32(off);
    off += 4;
    if (off + len > frame.length) throw new KpcError('PROTO_MALFORMED', 'frame item runs past the end', { len });
    if (items.length >= maxItems) throw new KpcError('PROTO_MALFORMED', `more than ${maxItems} items in one frame`);
    items.push(frame.subarray(off, off + len));
    off += len;
  }
  return items;
}
