/**
 * The position hash of spec §6.3 step 1 ("hash seed with layer + position").
 *
 * MurmurHash3_x86_32 (Austin Appleby, public domain) of a 16-byte key: the four
 * little-endian uint32 words `[layer, tensor, row, segment]`, with the model seed as
 * Murmur's seed. Chosen because it is a standard, widely re-implemented function (a
 * third party can check our weights with any Murmur3 library), it is integer-only
 * (`Math.imul`, shifts, xor — exact on every engine) and it costs a few nanoseconds;
 * the kernel calls it once per 384 weights. Cryptographic strength is not needed: the
 * seed is public and the weights are not secrets.
 */

const M1 = 0xcc9e2d51;
const M2 = 0x1b873593;

/** One Murmur3 body round: mixes the 32-bit word `k` into the state `h`. */
function round(h: number, k: number): number {
  k = Math.imul(k, M1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, M2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Murmur3's finalizer (fmix32): every input bit affects every output bit. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * MurmurHash3_x86_32 of the 16-byte key `[layer, tensor, row, segment]` (uint32 words,
 * little-endian) with `seed` as the hash seed. Returns a uint32.
 * All arguments are taken modulo 2^32.
 */
export function hashPosition(seed: number, layer: number, tensor: number, row: number, segment: number): number {
  let h = seed | 0;
  h = round(h, layer | 0);
  h = round(h, tensor | 0);
  h = round(h, row | 0);
  h = round(h, segment | 0);
  return fmix32(h ^ 16);
}
