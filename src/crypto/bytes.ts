/**
 * Small, dependency-free byte helpers shared by crypto and protocol.
 *
 * Every decoder here is strict: it accepts exactly one spelling of each value and
 * throws `CRYPTO_BAD_ENCODING` otherwise. Strictness matters because these helpers
 * sit on the network boundary; a lenient decoder would let two different strings
 * mean the same bytes, which breaks de-duplication and makes fuzzing harder to reason
 * about. Nothing here uses Node's `Buffer`, so the same code runs in the browser.
 */
import { KpcError } from '../errors.js';

const HEX_DIGITS = '0123456789abcdef';
/** Byte → two lowercase hex chars, built once: encoding is a table lookup per byte. */
const HEX_TABLE: readonly string[] = Array.from({ length: 256 }, (_, i) => HEX_DIGITS[i >> 4] + HEX_DIGITS[i & 15]);

function badEncoding(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('CRYPTO_BAD_ENCODING', message, detail);
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw badEncoding(`${what} must be a Uint8Array`);
}

/** Lowercase hex of `bytes` (two chars per byte). */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'toHex input');
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_TABLE[bytes[i]];
  return out;
}

function hexNibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/**
 * Bytes of a hex string. Accepts upper- and lowercase digits (hex has no other
 * ambiguity); rejects odd lengths, prefixes like `0x`, whitespace and any other char.
 * @throws KpcError `CRYPTO_BAD_ENCODING`
 */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw badEncoding('hex input must be a string');
  if (hex.length % 2 !== 0) throw badEncoding('hex string has odd length', { length: hex.length });
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexNibble(hex.charCodeAt(2 * i));
    const lo = hexNibble(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw badEncoding('invalid hex character', { index: 2 * i });
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** char code → 6-bit value, or -1. Covers the whole 0..127 range so lookups never miss. */
const B64_REVERSE: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < B64_ALPHABET.length; i++) t[B64_ALPHABET.charCodeAt(i)] = i;
  return t;
})();

/** Standard base64 (RFC 4648 §4, `+/`, with `=` padding) of `bytes`. */
export function toBase64(bytes: Uint8Array): string {
  assertBytes(bytes, 'toBase64 input');
  // Built in chunks of plain string concatenation: no `btoa`, whose Latin-1 string
  // round trip is easy to get wrong, and no Buffer, which browsers lack.
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
    out += B64_ALPHABET[v >> 18] + B64_ALPHABET[(v >> 12) & 63] + B64_ALPHABET[(v >> 6) & 63] + B64_ALPHABET[v & 63];
  }
  if (n - i === 1) {
    const v = bytes[i] << 16;
    out += B64_ALPHABET[v >> 18] + B64_ALPHABET[(v >> 12) & 63] + '==';
  } else if (n - i === 2) {
    const v = (bytes[i] << 16) | (bytes[i + 1] << 8);
    out += B64_ALPHABET[v >> 18] + B64_ALPHABET[(v >> 12) & 63] + B64_ALPHABET[(v >> 6) & 63] + '=';
  }
  return out;
}

/**
 * Bytes of a standard, padded base64 string.
 *
 * Canonical only: length a multiple of 4, alphabet `A–Z a–z 0–9 + /`, `=` only as
 * final padding, and the unused low bits of the last symbol zero. So every byte
 * string has exactly one accepted text form (the one {@link toBase64} produces).
 * @throws KpcError `CRYPTO_BAD_ENCODING`
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string') throw badEncoding('base64 input must be a string');
  if (text.length % 4 !== 0) throw badEncoding('base64 length is not a multiple of 4', { length: text.length });
  if (text.length === 0) return new Uint8Array(0);
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  const sym = (idx: number): number => {
    const c = text.charCodeAt(idx);
    const v = c < 128 ? B64_REVERSE[c] : -1;
    if (v < 0) throw badEncoding('invalid base64 character', { index: idx });
    return v;
  };
  const full = pad === 0 ? text.length : text.length - 4;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const v = (sym(i) << 18) | (sym(i + 1) << 12) | (sym(i + 2) << 6) | sym(i + 3);
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 255;
    out[o++] = v & 255;
  }
  if (pad === 2) {
    const a = sym(full);
    const b = sym(full + 1);
    if ((b & 15) !== 0) throw badEncoding('non-canonical base64 padding bits');
    out[o] = (a << 2) | (b >> 4);
  } else if (pad === 1) {
    const a = sym(full);
    const b = sym(full + 1);
    const c = sym(full + 2);
    if ((c & 3) !== 0) throw badEncoding('non-canonical base64 padding bits');
    out[o++] = (a << 2) | (b >> 4);
    out[o] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}

/** A new array holding `parts` one after another. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) {
    assertBytes(p, 'concatBytes part');
    total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Whether `a` and `b` hold the same bytes.
 *
 * For equal lengths the loop always visits every byte and branches only at the end,
 * so the time does not reveal where the first difference is (the length is not
 * secret in any of our uses). "Constant-time-ish": a JIT gives no hard guarantee.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return false;
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const encoder = new TextEncoder();
// fatal: malformed UTF-8 is an error instead of silently becoming U+FFFD, which
// would let different byte strings decode to the same text.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of `text` (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(text: string): Uint8Array {
  if (typeof text !== 'string') throw badEncoding('utf8Encode input must be a string');
  return encoder.encode(text);
}

/**
 * Text of UTF-8 `bytes`. A leading BOM is kept as U+FEFF, not stripped, so decoding
 * never loses bytes.
 * @throws KpcError `CRYPTO_BAD_ENCODING` on malformed UTF-8.
 */
export function utf8Decode(bytes: Uint8Array): string {
  assertBytes(bytes, 'utf8Decode input');
  try {
    return decoder.decode(bytes);
  } catch {
    throw badEncoding('malformed UTF-8');
  }
}
