/**
 * Envelopes as text, for transports that carry strings: y-webrtc style signaling
 * servers relay `publish` frames as JSON, so an envelope travels base64-encoded in
 * the frame's `data` field.
 */
import { fromBase64, toBase64 } from '../crypto/bytes.js';
import { KpcError } from '../errors.js';
import { DEFAULT_MAX_ENVELOPE_BYTES, decodeEnvelope, type DecodeOptions } from './envelope.js';
import type { DecodedEnvelope } from './types.js';

/** Options of {@link envelopeFromText}. */
export interface TextOptions {
  /** Largest decoded envelope accepted, bytes. Default 64 KiB. */
  maxBytes?: number;
}

/** Base64 text of envelope bytes (standard alphabet, padded). */
export function envelopeToText(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new KpcError('PROTO_MALFORMED', 'envelope must be a Uint8Array');
  return toBase64(bytes);
}

/**
 * Envelope bytes from base64 text. Only decodes the transport layer: pass the
 * result to `decodeEnvelope` (or use {@link decodeEnvelopeText}).
 *
 * Oversize text is refused from its length alone, before decoding.
 * @throws KpcError `PROTO_OVERSIZE` or `PROTO_MALFORMED`; never another exception type.
 */
export function envelopeFromText(text: string, opts: TextOptions = {}): Uint8Array {
  if (typeof text !== 'string') throw new KpcError('PROTO_MALFORMED', 'envelope text must be a string');
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_ENVELOPE_BYTES;
  const maxChars = Math.ceil(maxBytes / 3) * 4;
  if (text.length > maxChars) {
    throw new KpcError('PROTO_OVERSIZE', `envelope text of ${text.length} chars exceeds ${maxChars}`, { size: text.length, maxChars });
  }
  try {
    return fromBase64(text);
  } catch (err) {
    throw new KpcError('PROTO_MALFORMED', `envelope text is not canonical base64: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** {@link envelopeFromText} then `decodeEnvelope`, with the same `maxBytes`. */
export function decodeEnvelopeText(text: string, opts: DecodeOptions = {}): DecodedEnvelope {
  return decodeEnvelope(envelopeFromText(text, { maxBytes: opts.maxBytes }), opts);
}
