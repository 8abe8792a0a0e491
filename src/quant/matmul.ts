/**
 * The mat-mul the forward pass calls: out[t·rows + i] = W_i · x_t for a ggml weight
 * matrix W (rows × cols, row-major, each row a whole number of blocks) and n
 * activation rows x_t, computed as llama.cpp's CPU backend does it: every activation
 * row rounded to float32, quantized once to the weight type's `vec_dot_type`, then
 * dotted with every weight row by the kernels of dot.ts (their fixed summation order
 * is documented there and in docs/quantization.md).
 */

import { createActivationRows, quantizeActivations, type ActivationRows, type VecDotType } from './activations.js';
import { checkShape, COMPUTE, isCount, LITTLE_ENDIAN, rowBytes, supportedType, type QuantType } from './common.js';
import { dotBF16, dotBF16Words, dotF16, dotF16Words, dotF32, dotQ4K, dotQ4_0, dotQ6K, dotQ8_0, ensureTables, type WeightView } from './dot.js';
import type { GgmlTypeName } from './types.js';
import { hasWasmKernel, wasmMatMul } from './wasm/kernels.js';

/** A ggml weight matrix: `rows` rows of `cols` weights of `type`, row-major. */
export interface QuantMatrix {
  /** ggml type, by name or id; one of F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K. */
  readonly type: QuantType;
  /** Output features (ggml's ne[1]). */
  readonly rows: number;
  /** Input features (ggml's ne[0]); a whole number of the type's blocks. */
  readonly cols: number;
  /** The tensor's bytes, starting at index 0 (at least rows × row size). */
  readonly bytes: Uint8Array;
}

type Kernel = (w: WeightView, p: number, count: number, a: ActivationRows, q: number) => number;

/** Weight type → its vec_dot_type, its kernel, and the values per unit of the kernel's count argument. */
const PLAN: Record<string, { dot: VecDotType; kernel: Kernel; perBlock: number }> = {
  Q8_0: { dot: 'Q8_0', kernel: dotQ8_0, perBlock: 32 },
  Q4_0: { dot: 'Q8_0', kernel: dotQ4_0, perBlock: 32 },
  Q4_K: { dot: 'Q8_K', kernel: dotQ4K, perBlock: 256 },
  Q6_K: { dot: 'Q8_K', kernel: dotQ6K, perBlock: 256 },
  F16: { dot: 'F16', kernel: dotF16, perBlock: 1 },
  BF16: { dot: 'BF16', kernel: dotBF16, perBlock: 1 },
  F32: { dot: 'F32', kernel: dotF32, perBlock: 1 },
};

/** The format activations are converted to before multiplying by weights of `type` (ggml's `vec_dot_type`). */
export function vecDotType(type: QuantType): VecDotType {
  return PLAN[supportedType(type, COMPUTE, 'mat-mul').name].dot;
}

// Activation scratch reused across calls, one per (format, row length) — a forward pass
// alternates a few row lengths — grown on demand: a decode step allocates no buffers.
const scratch = new Map<string, ActivationRows>();

function activationScratch(type: VecDotType, rows: number, cols: number): ActivationRows {
  const key = `${type}:${cols}`;
  const have = scratch.get(key);
  if (have !== undefined && have.capacity >= rows) return have;
  const made = createActivationRows(type, rows, cols);
  scratch.set(key, made);
  return made;
}

const EMPTY_F32: Float32Array = new Float32Array(0);
const EMPTY_U16: Uint16Array = new Uint16Array(0);
const EMPTY_I32: Int32Array = new Int32Array(0);

/** The kernels' view of `bytes`; F32 weights get a float32 view (or an aligned copy). */
export function weightView(name: GgmlTypeName, bytes: Uint8Array): WeightView {
  let f32 = EMPTY_F32;
  if (name === 'F32') {
    const count = bytes.length >> 2;
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) {
      f32 = new Float32Array(bytes.buffer, bytes.byteOffset, count);
    } else {
      // Unaligned or big-endian host: decode once (GGUF aligns tensor data, so rare).
      f32 = new Float32Array(count);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = 0; i < count; i++) f32[i] = dv.getFloat32(4 * i, true);
    }
  }
  const u16 = LITTLE_ENDIAN && bytes.byteOffset % 2 === 0 ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1) : EMPTY_U16;
  const i32 = LITTLE_ENDIAN && bytes.byteOffset % 4 === 0 ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : EMPTY_I32;
  return { u8: bytes, i8: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), f32, u16, i32 };
}

/** The word-reading variant of a half-precision kernel when the view allows it (same arithmetic, fewer loads). */
function pickKernel(kernel: Kernel, view: WeightView): Kernel {
  if (view.u16.length === 0) return kernel;
  return kernel === dotF16 ? dotF16Words : kernel === dotBF16 ? dotBF16Words : kernel;
}

/**
 * out[t·rows + i] = W_i · x_t for t < n, i < rows, where x_t = x[t·cols … (t+1)·cols).
 *
 * Each activation row is rounded to float32 and converted once to the weight type's
 * `vec_dot_type` (Q8_0 x86-style for Q8_0/Q4_0, Q8_K for Q4_K/Q6_K, F16, BF16, F32);
 * each output is a float64 dot product in the fixed order of dot.ts. The same inputs
 * give the same bits on every JavaScript engine.
 *
 * @throws KpcError `QUANT_UNSUPPORTED_TYPE` for a weight type kpc cannot multiply;
 *   `QUANT_BAD_SHAPE` when cols is not a whole number of blocks, `bytes` is shorter
 *   than rows × row size, `x` holds fewer than n·cols values or `out` fewer than
 *   n·rows.
 */
export function quantMatMul(w: QuantMatrix, x: Float64Array | Float32Array, n: number, out: Float64Array): void {
  const info = supportedType(w.type, COMPUTE, 'mat-mul');
  const { rows, cols } = w;
  checkShape(isCount(rows) && isCount(cols) && isCount(n), `mat-mul shape must be non-negative integers, got ${rows}×${cols}, n=${n}`, { rows, cols, n });
  const rb = rowBytes(info, cols);
  checkShape(w.bytes.length >= rows * rb, `${info.name} ${rows}×${cols} weights need ${rows * rb} bytes, got ${w.bytes.length}`, {
    rows,
    cols,
    bytes: w.bytes.length,
  });
  checkShape(x.length >= n * cols, `mat-mul input needs ${n}×${cols} values, got ${x.length}`, { n, cols, length: x.length });
  checkShape(out.length >= n * rows, `mat-mul output needs ${n}×${rows} values, got ${out.length}`, { n, rows, length: out.length });
  if (rows === 0 || n === 0) return;
  ensureTables();
  const plan = PLAN[info.name];
  const acts = activationScratch(plan.dot, n, cols);
  quantizeActivations(acts, x, 0, n);
  // The WebAssembly kernels compute the same bits as the TypeScript ones, with SIMD block sums.
  if (hasWasmKernel(info.name) && wasmMatMul(info.name, w.bytes, rows, cols / plan.perBlock, acts, n, out)) return;
  const view = weightView(info.name, w.bytes);
  const kernel = pickKernel(plan.kernel, view);
  const count = cols / plan.perBlock;
  // Weight rows outer, activation rows inner: during prefill each weight row is read
  // from memory once for all n activation rows.
  for (let i = 0, p = 0; i < rows; i++, p += rb) {
    for (let t = 0; t < n; t++) out[t * rows + i] = kernel(view, p, count, acts, t * cols);
  }
}

/**
 * One dot product: weight row `row` of `w` · activation row `actRow` of `acts` (which
 * must be in `vecDotType(w.type)` with `cols` values per row). For tests and tools;
 * {@link quantMatMul} is the fast path.
 *
 * @throws KpcError `QUANT_UNSUPPORTED_TYPE` / `QUANT_BAD_SHAPE` as {@link quantMatMul},
 *   and `QUANT_BAD_SHAPE` when `acts` is in the wrong format or the rows are out of range.
 */
export function quantDot(w: QuantMatrix, row: number, acts: ActivationRows, actRow: number): number {
  const info = supportedType(w.type, COMPUTE, 'dot');
  const plan = PLAN[info.name];
  const rb = rowBytes(info, w.cols);
  checkShape(acts.type === plan.dot && acts.cols === w.cols, `${info.name} weights need ${plan.dot} activations of ${w.cols}, got ${acts.type} of ${acts.cols}`);
  checkShape(isCount(row) && row < w.rows && (row + 1) * rb <= w.bytes.length, `weight row ${row} out of range`, { row });
  checkShape(isCount(actRow) && actRow < acts.capacity, `activation row ${actRow} out of range`, { actRow });
  ensureTables();
  const view = weightView(info.name, w.bytes);
  return pickKernel(plan.kernel, view)(view, row * rb, w.cols / plan.perBlock, acts, actRow * w.cols);
}
