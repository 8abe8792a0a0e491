/**
 * A byte-oriented MurmurHash3_x86_32, written independently of src/math/hash.ts from the
 * published algorithm, to check that hashPosition really is Murmur3 of its 16-byte key.
 */
export function murmur3Bytes(key: Uint8Array, seed: number): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = key.length >> 2;
  for (let i = 0; i < blocks; i++) {
    let k = key[4 * i] | (key[4 * i + 1] << 8) | (key[4 * i + 2] << 16) | (key[4 * i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const rest = key.length & 3;
  if (rest > 0) {
    let k = 0;
    if (rest === 3) k ^= key[tail + 2] << 16;
    if (rest >= 2) k ^= key[tail + 1] << 8;
    k ^= key[tail];
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= key.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Published MurmurHash3_x86_32 test vectors: [key bytes, seed, hash]. */
export const MURMUR3_VECTORS: ReadonlyArray<[number[], number, number]> = [
  [[], 0, 0],
  [[], 1, 0x514e28b7],
  [[], 0xffffffff, 0x81f16f39],
  [[0, 0, 0, 0], 0, 0x2362f9de],
  [[0xff, 0xff, 0xff, 0xff], 0, 0x76293b50],
  [[0x21, 0x43, 0x65, 0x87], 0, 0xf55b516b],
  [[0x21, 0x43, 0x65, 0x87], 0x5082edee, 0x2362f9de],
  [[0x21, 0x43, 0x65], 0, 0x7e4a8634],
  [[0x21, 0x43], 0, 0xa0f7b07a],
  [[0x21], 0, 0x72661cf4],
  [[...new TextEncoder().encode('The quick brown fox jumps over the lazy dog')], 0, 0x2e4ff723],
];
