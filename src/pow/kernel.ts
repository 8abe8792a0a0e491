/**
 * The proof-of-π nonce search: a SHA-256 specialised for "fixed prefix ‖ u64 nonce".
 *
 * The compression of every full 64-byte block of the prefix is done once (the
 * "midstate"); each attempt then writes the 8 nonce bytes into the pre-padded final
 * block(s) and compresses only those — one compression per attempt for typical
 * prefixes instead of two, and no allocation. The digest is standard SHA-256
 * (FIPS 180-4): the tests compare it with `@noble/hashes` on random inputs.
 *
 * **Self-contained on purpose.** {@link createPowKernel} references nothing outside
 * its own body (no imports, no module constants, no helpers), so its source text,
 * `createPowKernel.toString()`, is a complete program: the Worker (worker.ts) is built
 * from that text in a Blob, with no bundler step and no second file, and Node runs the
 * very same function in-thread. Keep it that way: no imports or outer names inside.
 * @packageDocumentation
 */

/** What {@link createPowKernel} returns. */
export interface PowKernel {
  /**
   * Tries nonces `start, start+1, …, start+count−1` (all ≤ 2^53−1) and returns the first
   * whose SHA-256(prefix ‖ u64be(nonce)) has at least `difficulty` leading zero bits,
   * or −1 if none does. `prefix` must not change between calls with the same object
   * (its midstate is cached by identity).
   */
  search(prefix: Uint8Array, difficulty: number, start: number, count: number): number;
  /** SHA-256(prefix ‖ u64be(nonce)) through the same code path, for cross-checks. */
  digest(prefix: Uint8Array, nonce: number): Uint8Array;
}

/**
 * Builds the nonce-search kernel. Self-contained: safe to serialise with
 * `Function.prototype.toString` and run in a Worker.
 */
export function createPowKernel(): PowKernel {
  // prettier-ignore
  const K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
  ]);
  const IV = new Int32Array([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const W = new Int32Array(64);
  let lastPrefix: Uint8Array | null = null;
  const mid = new Int32Array(8);
  const work = new Int32Array(8);
  let tail = new Uint8Array(128);
  let tailBlocks = 1;
  let nonceOff = 0;

  // Helpers are methods of one object literal, not named local functions: bundlers that
  // preserve function names (esbuild `keepNames`) wrap named locals in a helper call
  // from outside, which would break the self-contained source text; methods are left alone.
  const k = {
    /** Compresses 64 bytes of `bytes` at `off` into `state` (8 words), in place. */
    compress(state: Int32Array, bytes: Uint8Array, off: number): void {
      for (let i = 0; i < 16; i++) {
        const o = off + 4 * i;
        W[i] = (bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
      }
      for (let i = 16; i < 64; i++) {
        const w15 = W[i - 15];
        const w2 = W[i - 2];
        const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
        const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
        W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
      }
      let a = state[0];
      let b = state[1];
      let c = state[2];
      let d = state[3];
      let e = state[4];
      let f = state[5];
      let g = state[6];
      let h = state[7];
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        h = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      state[0] = (state[0] + a) | 0;
      state[1] = (state[1] + b) | 0;
      state[2] = (state[2] + c) | 0;
      state[3] = (state[3] + d) | 0;
      state[4] = (state[4] + e) | 0;
      state[5] = (state[5] + f) | 0;
      state[6] = (state[6] + g) | 0;
      state[7] = (state[7] + h) | 0;
    },

    /** Per-prefix precomputation (midstate, padded tail), cached for the last prefix object seen. */
    prepare(prefix: Uint8Array): void {
      if (prefix === lastPrefix) return;
      const full = Math.floor(prefix.length / 64);
      mid.set(IV);
      for (let i = 0; i < full; i++) k.compress(mid, prefix, 64 * i);
      const rest = prefix.length - 64 * full;
      const total = prefix.length + 8; // message bytes
      tailBlocks = rest + 8 + 9 <= 64 ? 1 : 2;
      tail = new Uint8Array(64 * tailBlocks);
      tail.set(prefix.subarray(64 * full));
      nonceOff = rest;
      tail[rest + 8] = 0x80;
      // Message length in bits as u64 big-endian (total < 2^29 bytes here).
      const bits = total * 8;
      const end = tail.length;
      tail[end - 5] = Math.floor(bits / 2 ** 32) & 0xff;
      tail[end - 4] = (bits >>> 24) & 0xff;
      tail[end - 3] = (bits >>> 16) & 0xff;
      tail[end - 2] = (bits >>> 8) & 0xff;
      tail[end - 1] = bits & 0xff;
      lastPrefix = prefix;
    },

    /** SHA-256 of the prepared prefix ‖ u64be(nonce), left in `work`. */
    hashNonce(nonce: number): void {
      const hi = Math.floor(nonce / 2 ** 32);
      const lo = nonce >>> 0;
      const o = nonceOff;
      tail[o] = hi >>> 24;
      tail[o + 1] = (hi >>> 16) & 0xff;
      tail[o + 2] = (hi >>> 8) & 0xff;
      tail[o + 3] = hi & 0xff;
      tail[o + 4] = lo >>> 24;
      tail[o + 5] = (lo >>> 16) & 0xff;
      tail[o + 6] = (lo >>> 8) & 0xff;
      tail[o + 7] = lo & 0xff;
      work.set(mid);
      k.compress(work, tail, 0);
      if (tailBlocks === 2) k.compress(work, tail, 64);
    },

    /** Leading zero bits of the digest in `work`, capped at 64 (enough for any difficulty). */
    leadingZeros(): number {
      const z = Math.clz32(work[0]);
      return z < 32 ? z : 32 + Math.clz32(work[1]);
    },
  };

  return {
    search(prefix, difficulty, start, count) {
      k.prepare(prefix);
      const end = start + count;
      for (let n = start; n < end; n++) {
        k.hashNonce(n);
        if (k.leadingZeros() >= difficulty) return n;
      }
      return -1;
    },
    digest(prefix, nonce) {
      k.prepare(prefix);
      k.hashNonce(nonce);
      const out = new Uint8Array(32);
      for (let i = 0; i < 8; i++) {
        out[4 * i] = work[i] >>> 24;
        out[4 * i + 1] = (work[i] >>> 16) & 0xff;
        out[4 * i + 2] = (work[i] >>> 8) & 0xff;
        out[4 * i + 3] = work[i] & 0xff;
      }
      return out;
    },
  };
}
