/**
 * Helpers shared by the quant kernels: type resolution, shape checks, and emulation of
 * the small C idioms ggml's float32 code relies on (`nearest_int`, `roundf`).
 */

import { KpcError } from '../errors.js';
import { COMPUTE_TYPES, GgmlType, ggmlTypeInfo, type GgmlTypeInfo, type GgmlTypeName } from './types.js';
import { f32Bits } from './half.js';

/** A ggml type given by name (`'Q4_K'`) or by numeric id (`12`). */
export type QuantType = GgmlTypeName | number;

/** Weights per block of the K-quants (ggml's `QK_K`). */
export const QK_K = 256;
/** Weights per block of Q8_0 / Q4_0 (ggml's `QK8_0`, `QK4_0`). */
export const QK8_0 = 32;

/** The layout of `type`, or a `QUANT_UNSUPPORTED_TYPE` error naming it. */
export function typeInfo(type: QuantType): GgmlTypeInfo {
  const info = typeof type === 'number' ? ggmlTypeInfo(type) : GgmlType[type] === undefined ? undefined : ggmlTypeInfo(GgmlType[type]);
  if (info === undefined) {
    throw new KpcError('QUANT_UNSUPPORTED_TYPE', `unknown ggml tensor type ${String(type)}`, { type });
  }
  return info;
}

/** Like {@link typeInfo}, and also refuses a type outside `supported` by name. */
export function supportedType(type: QuantType, supported: readonly GgmlTypeName[], what: string): GgmlTypeInfo {
  const info = typeInfo(type);
  if (!supported.includes(info.name)) {
    throw new KpcError('QUANT_UNSUPPORTED_TYPE', `${what}: ggml type ${info.name} (id ${info.id}) is not supported (supported: ${supported.join(', ')})`, {
      type: info.name,
      id: info.id,
    });
  }
  return info;
}

/** The types {@link typeInfo} callers compute with (dequantize, dot, mat-mul). */
export const COMPUTE: readonly GgmlTypeName[] = COMPUTE_TYPES;

/** Throws `QUANT_BAD_SHAPE` with `message` unless `ok`. */
export function checkShape(ok: boolean, message: string, detail?: Record<string, unknown>): void {
  if (!ok) throw new KpcError('QUANT_BAD_SHAPE', message, detail);
}

/** True when `v` is an integer ≥ 0 that indexes safely. */
export function isCount(v: number): boolean {
  return Number.isSafeInteger(v) && v >= 0;
}

/**
 * Checks that `n` is a whole number of blocks of `info` and returns the byte length
 * of `n` weights.
 */
export function rowBytes(info: GgmlTypeInfo, n: number): number {
  checkShape(isCount(n), `element count must be a non-negative integer, got ${n}`, { n });
  checkShape(n % info.blockSize === 0, `${n} weights are not a whole number of ${info.name} blocks (${info.blockSize} per block)`, {
    n,
    type: info.name,
    blockSize: info.blockSize,
  });
  return (n / info.blockSize) * info.typeSize;
}

/** Checks that `[offset, offset + length)` lies inside an array of `size` elements. */
export function checkRange(offset: number, length: number, size: number, what: string): void {
  checkShape(isCount(offset) && offset + length <= size, `${what}: range [${offset}, ${offset + length}) does not fit in ${size}`, {
    offset,
    length,
    size,
  });
}

/**
 * ggml's `nearest_int(fval)`: adds 1.5·2^23 in float32 and reads the low 23 bits.
 * For |fval| < 2^22 that is round-to-nearest-even; outside it returns the same
 * (meaningless) bits C does, so quantizers that hit it still match byte for byte.
 * `fval` must already be a float32 value (the C argument is a float).
 */
export function nearestInt(fval: number): number {
  const v = Math.fround(fval + 12582912);
  // In [2^23, 2^24) float32 spacing is 1, so v is an integer and its mantissa bits are v − 2^23.
  if (v >= 8388608 && v < 16777216) return v - 12582912;
  return (f32Bits(v) & 0x007fffff) - 0x00400000;
}

/** C `roundf` on a float32 value: to nearest, ties away from zero. Exact in doubles. */
export function roundf(v: number): number {
  return v >= 0 ? Math.floor(v + 0.5) : -Math.floor(-v + 0.5);
}

/** Round to nearest integer, ties to even, as SSE/AVX `round_ps(_MM_ROUND_NEAREST)`; |v| < 2^51. */
export function roundEven(v: number): number {
  return v + 6755399441055744 - 6755399441055744;
}

/** Little-endian u16 at `p`. */
export function u16(bytes: Uint8Array, p: number): number {
  return bytes[p] | (bytes[p + 1] << 8);
}

/** True on little-endian hosts, where typed-array views read GGUF's little-endian data as is. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * ggml's `get_scale_min_k4`: the 6-bit scale (`which` 0) or min (`which` 1) of
 * sub-block `j` from the 12 packed bytes at `s`.
 */
export function scaleMinK4(bytes: Uint8Array, s: number, j: number, which: 0 | 1): number {
  if (j < 4) return which === 0 ? bytes[s + j] & 63 : bytes[s + j + 4] & 63;
  return which === 0 ? (bytes[s + j + 4] & 0xf) | ((bytes[s + j - 4] >> 6) << 4) : (bytes[s + j + 4] >> 4) | ((bytes[s + j] >> 6) << 4);
}
