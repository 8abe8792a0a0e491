/**
 * A small seeded PRNG for the fuzzers: every case is a pure function of
 * (run seed, target name, case index), so any case replays exactly.
 */
import { identityFromSecretKey, type Identity } from '../../src/crypto/identity.js';

/** 32-bit FNV-1a of a string: turns a target name into part of a seed. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes integers into one 32-bit seed (murmur3 finaliser per step). */
export function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h ^= p >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    h ^= h >>> 16;
    // Fold in the high part of case indices above 2^32 (never reached, but exact).
    h ^= Math.floor(p / 0x1_0000_0000);
  }
  return h >>> 0;
}

/** sfc32, a fast PRNG with a 128-bit state, seeded from one 32-bit number. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n) (0 when n ≤ 0). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.float() * n);
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Picks by weight: `[[weight, value], …]`. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let r = this.float() * total;
    for (const [w, v] of choices) {
      if ((r -= w) < 0) return v;
    }
    return choices[choices.length - 1][1];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** A size biased towards small values, at most `max`. */
  size(max: number): number {
    return this.chance(0.7) ? this.int(Math.min(max, 16) + 1) : this.int(max + 1);
  }

  /** A random string of `n` UTF-16 units from a mix of ASCII, Latin, CJK, astral and lone surrogates. */
  string(n: number): string {
    let s = '';
    while (s.length < n) {
      s += this.weighted<() => string>([
        [8, () => String.fromCharCode(0x20 + this.int(95))],
        [1, () => String.fromCharCode(this.int(0x20))],
        [1, () => String.fromCharCode(0x80 + this.int(0x780))],
        [1, () => String.fromCharCode(0x4e00 + this.int(0x5000))],
        [1, () => String.fromCodePoint(0x10000 + this.int(0xfffff))],
        [0.3, () => String.fromCharCode(0xd800 + this.int(0x800))],
        [0.3, () => this.pick(['"', '\\', '\u2028', '\ufeff', '\u0000', '__proto__', 'constructor'])],
      ])();
    }
    return s.slice(0, n);
  }
}

/** A fixed identity per index: deterministic, so pools (and hence seeds) replay across runs. */
export function fixedIdentity(index: number): Identity {
  const secret = new Uint8Array(32);
  const rng = new Rng(mix(0x6b7063, index)); // 'kpc'
  for (let i = 0; i < 32; i++) secret[i] = rng.u32() & 0xff;
  return identityFromSecretKey(secret);
}
