/**
 * Golden checksums of the procedural weights: SHA-256 of the little-endian float32 bytes
 * of `generateLayer(spec)`. They pin the definition (hash, x, rotating constants,
 * recurrences, normalization): any change to the bits is a new model format and must
 * change these on purpose. The same table is checked in Node and in Chromium.
 */
import type { LayerSpec } from '../../src/math/index.js';

export interface GoldenLayer {
  spec: LayerSpec;
  /** SHA-256, hex, of the layer's bytes (float32, little-endian, row-major). */
  sha256: string;
}

export const GOLDEN: readonly GoldenLayer[] = [
  // 1×1: a single weight normalized to ±1.
  { spec: { seed: 0, layer: 0, rows: 1, cols: 1 }, sha256: 'e00e5eb9444182f352323374ef4e08ebcb784725fdd4fd612d7730540b3e0c8c' },
  // Shorter than one segment; 13 = 4·3 + 1 ends with a lone class-0 column.
  { spec: { seed: 1, layer: 0, rows: 7, cols: 13 }, sha256: '1383c6cc8756f0e5830555cc907539b80b4968e37c3925ee2ac246d46dab29d9' },
  { spec: { seed: 0xdeadbeef, layer: 5, rows: 64, cols: 64, tensor: 2 }, sha256: '8177401c3e1a6b5da4ab6977ad90401e198d913d5388ea648696493f70fc0207' },
  // Three segments, the last one partial (1000 = 2·384 + 232).
  { spec: { seed: 42, layer: 3, rows: 256, cols: 1000 }, sha256: 'bcc0c556b795f50a21c95e966d89b3a446c03b9628334743aa9aa4a131d1ce92' },
  // Two columns past a segment boundary (a tail of classes 0 and 1).
  { spec: { seed: 7, layer: 1, rows: 2, cols: 386 }, sha256: 'd237bc130c8e5753ed2a9034b0af5e89c44dca37de0bb28b7dbd88608997e244' },
  // Every uint32 field at its maximum; 577 = 384 + 193.
  {
    spec: { seed: 0xffffffff, layer: 0xffffffff, rows: 3, cols: 577, tensor: 0xffffffff },
    sha256: '0d056ae6f2bb1be67a217975f50cd9a0e8278e0c16635951e7c3df79bf4d5d47',
  },
];

/** The layer's bytes as float32 little-endian, whatever the platform's byte order. */
export function littleEndianBytes(layer: Float32Array): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(layer.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < layer.length; i++) view.setFloat32(i * 4, layer[i], true);
  return bytes;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/** A short label for test names. */
export function label(spec: LayerSpec): string {
  return `seed ${spec.seed} layer ${spec.layer} tensor ${spec.tensor ?? 0} ${spec.rows}×${spec.cols}`;
}
