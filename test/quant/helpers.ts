/** Shared helpers of the quant tests. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

/** The bytes of a typed array (host order: little-endian on every supported host). */
export function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Hex SHA-256 of a typed array's bytes. */
export function sha256Hex(a: ArrayBufferView): string {
  return bytesToHex(sha256(bytesOf(a)));
}

export { quantizeMatrix } from '../../src/quant/index.js';

/** A copy of `bytes` placed at byte offset 1 of a fresh buffer (forces the kernels' unaligned byte path). */
export function misaligned(bytes: Uint8Array): Uint8Array {
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes, 1);
  return buf.subarray(1);
}

/** An exact dyadic rational m·2^e (BigInt mantissa). */
export interface Dyadic {
  m: bigint;
  e: number;
}

const DV = new DataView(new ArrayBuffer(8));

/** The exact value of a finite double as a dyadic rational. */
export function dyadic(x: number): Dyadic {
  if (x === 0) return { m: 0n, e: 0 };
  DV.setFloat64(0, x);
  const hi = DV.getUint32(0);
  const lo = DV.getUint32(4);
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e = -1074;
  if (exp !== 0) {
    m |= 1n << 52n;
    e = exp - 1075;
  }
  return { m: hi >>> 31 ? -m : m, e };
}

/** Exact product. */
export function dmul(a: Dyadic, b: Dyadic): Dyadic {
  return { m: a.m * b.m, e: a.e + b.e };
}

/** Exact sum. */
export function dadd(a: Dyadic, b: Dyadic): Dyadic {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  return a.e <= b.e ? { m: a.m + (b.m << BigInt(b.e - a.e)), e: a.e } : { m: b.m + (a.m << BigInt(a.e - b.e)), e: b.e };
}

/** Exact difference. */
export function dsub(a: Dyadic, b: Dyadic): Dyadic {
  return dadd(a, { m: -b.m, e: b.e });
}

/** The double nearest-ish to a dyadic (for comparisons with a tolerance). */
export function dvalue(a: Dyadic): number {
  if (a.m === 0n) return 0;
  // Keep ~60 significant bits before converting so Number() does not overflow.
  let m = a.m;
  let e = a.e;
  let bits = (m < 0n ? -m : m).toString(2).length;
  if (bits > 60) {
    m >>= BigInt(bits - 60);
    e += bits - 60;
    bits = 60;
  }
  // Scale by the value's own exponent (e + bits) so no intermediate under- or overflows.
  return (Number(m) / 2 ** bits) * 2 ** (e + bits);
}

/** One golden case of fixtures/llama-ref.json (fields by `op`, see /tmp harness notes in docs/quantization.md). */
export interface RefCase {
  name: string;
  op: 'dequant' | 'dequant-all16' | 'dequant-words' | 'quantize' | 'act' | 'probe' | 'dot';
  type: string;
  seed?: number;
  blocks?: number;
  n?: number;
  wseed?: number;
  aseed?: number;
  rows?: number;
  cols?: number;
  bytes?: number;
  sha256?: string;
  llama?: number[];
}

const here = dirname(fileURLToPath(import.meta.url));

/** The golden llama.cpp outputs (test/quant/fixtures/llama-ref.json). */
export const REF: { about: string; source: string; build: string; cases: RefCase[] } = JSON.parse(
  readFileSync(join(here, 'fixtures', 'llama-ref.json'), 'utf8'),
);

/** The golden case called `name`. */
export function refCase(name: string): RefCase {
  const c = REF.cases.find((k) => k.name === name);
  if (c === undefined) throw new Error(`no golden case ${name}`);
  return c;
}
