/**
 * An incremental 64-bit trace digest (two independent 32-bit FNV-1a lanes with a
 * murmur3 finaliser). Not cryptographic: it only has to change when the run changes,
 * cheaply, for millions of events. Two runs with equal digests executed the same
 * events at the same virtual times and delivered the same bytes.
 */

import { fmix32 } from '../math/hash.js';

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);

/** Running digest of a simulation trace. */
export class TraceDigest {
  private a = 0x811c9dc5;
  private b = 0x01000193 ^ 0x9e3779b9;
  /** Items mixed in so far. */
  count = 0;

  /** Mixes one unsigned 32-bit word. */
  word(w: number): this {
    this.a = Math.imul(this.a ^ (w & 0xffff), 0x01000193);
    this.a = Math.imul(this.a ^ (w >>> 16), 0x01000193);
    this.b = Math.imul(this.b ^ w, 0x5bd1e995) ^ (this.b >>> 15);
    this.count++;
    return this;
  }

  /** Mixes a number exactly (its IEEE-754 bits). */
  num(n: number): this {
    F64[0] = n;
    return this.word(U32[0]).word(U32[1]);
  }

  /** Mixes a string (UTF-16 code units) and its length. */
  str(s: string): this {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.a = Math.imul(this.a ^ s.charCodeAt(i), 0x01000193);
    this.b = Math.imul(this.b ^ this.a, 0x5bd1e995);
    return this;
  }

  /** Mixes bytes and their length. */
  bytes(bytes: Uint8Array): this {
    this.word(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.a = Math.imul(this.a ^ bytes[i], 0x01000193);
    this.b = Math.imul(this.b ^ this.a, 0x5bd1e995);
    return this;
  }

  /**
   * Mixes the length and the last `n` chars of a string. Envelopes end with their
   * signature, a hash of everything before it, so the tail pins the whole content at a
   * fraction of the cost (a base64 envelope's last 88 chars are its signature).
   */
  tail(s: string, n = 96): this {
    return this.str(s.length > n ? s.slice(s.length - n) : s).word(s.length);
  }

  /** Mixes the length and the last `n` bytes (see {@link TraceDigest.tail}). */
  tailBytes(b: Uint8Array, n = 72): this {
    return this.bytes(b.length > n ? b.subarray(b.length - n) : b).word(b.length);
  }

  /** The digest so far, 16 hex digits. */
  hex(): string {
    const x = fmix32(this.a ^ Math.imul(this.count, 0x27d4eb2f));
    const y = fmix32(this.b ^ x);
    return x.toString(16).padStart(8, '0') + y.toString(16).padStart(8, '0');
  }
}

/** Digest of one string, 16 hex digits (e.g. of a printed summary). */
export function digestOf(text: string): string {
  return new TraceDigest().str(text).hex();
}
