/**
 * The WebAssembly kernels (assembly/kernels.ts, SIMD128) as the mat-mul uses them: the
 * module is small (2.3 KB; browsers compile up to 4 KB synchronously on the main thread)
 * and is compiled on first use; where it cannot be (no WebAssembly, no SIMD) the
 * TypeScript kernels run instead — they compute the same bits, so which one ran never
 * shows in a result.
 *
 * Memory: the module's own linear memory holds weight matrices **resident** (copied
 * once, then reused every step) up to {@link setResidentLimit}'s bytes, and per call the
 * activations and outputs (and, past the limit, the weights) in a scratch region after
 * them. Views of the memory are made afresh after every growth, which detaches old ones.
 */
import { KERNELS_WASM_BASE64 } from './kernels-wasm.js';

interface Exports {
  readonly memory: WebAssembly.Memory;
  initF16Table(at: number): void;
  matmul(kind: number, w: number, rows: number, nb: number, qs: number, d: number, sums: number, n: number, out: number): void;
}

/** `matmul`'s `kind` of each weight type (assembly/kernels.ts). */
const KIND = { Q8_0: 0, Q4_0: 1, Q4_K: 2, Q6_K: 3 } as const;

/** Block bytes and values per block of the weight types with a WebAssembly kernel. */
const BLOCKS = { Q8_0: [34, 32], Q4_0: [18, 32], Q4_K: [144, 256], Q6_K: [210, 256] } as const;
/** Activation sums per block (Q8_0: one per 32; Q8_K: one per 16). */
const SUMS = { Q8_0: 1, Q4_0: 1, Q4_K: 16, Q6_K: 16 } as const;
/** Weight types with a WebAssembly kernel (their activations are Q8_0). */
export type WasmWeightType = keyof typeof BLOCKS;

/** True for a weight type with a WebAssembly kernel. */
export function hasWasmKernel(type: string): type is WasmWeightType {
  return Object.hasOwn(BLOCKS, type);
}

const PAGE = 64 * 1024;
/** Bytes below this offset are left to the module (its stack and static data). */
const TABLE = 64 * 1024;
/** The f16 value table (65 536 doubles) sits at TABLE; resident weights start after it. */
const BASE = TABLE + 65536 * 8;

let exportsOrNull: Exports | null | undefined;
let enabled = true;
/** Resident weights: their bytes' offset in the module's memory. */
let resident = new WeakMap<Uint8Array, number>();
let top = BASE;
let limit = 256 * 1024 * 1024;

function decode(b64: string): Uint8Array {
  if (typeof atob === 'function') {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  return new Uint8Array((globalThis as unknown as { Buffer: { from(s: string, e: string): Uint8Array } }).Buffer.from(b64, 'base64'));
}

/** The instantiated kernels, or null where WebAssembly SIMD is unavailable. */
function kernels(): Exports | null {
  if (exportsOrNull === undefined) {
    try {
      const module = new WebAssembly.Module(decode(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
      const k = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
      reserve(k, BASE);
      k.initF16Table(TABLE);
      exportsOrNull = k;
    } catch {
      exportsOrNull = null;
    }
  }
  return exportsOrNull;
}

/**
 * Whether the WebAssembly kernels run (true where the engine has WebAssembly SIMD and
 * they were not turned off with {@link useWasmKernels}).
 */
export function wasmKernelsActive(): boolean {
  return enabled && kernels() !== null;
}

/**
 * Turns the WebAssembly kernels on or off (default on): off, every product runs in
 * TypeScript. The bits are the same either way; this is for tests and benchmarks.
 */
export function useWasmKernels(on: boolean): void {
  enabled = on;
}

/**
 * Bytes of weights kept in the module's memory between calls (default 256 MiB); matrices
 * past it are copied in for each product. Setting it drops what is resident.
 */
export function setResidentLimit(bytes: number): void {
  limit = bytes;
  resident = new WeakMap();
  top = BASE;
}

/** Grows the memory to hold `end` bytes. */
function reserve(k: Exports, end: number): void {
  const have = k.memory.buffer.byteLength;
  if (end > have) k.memory.grow(Math.ceil((end - have) / PAGE));
}

/**
 * The offset of a weight matrix in the module's memory: resident (copied on first use,
 * while under the limit), else copied into the scratch region, which starts after the
 * resident ones. Only a whole array can be resident (its identity is the key).
 */
function place(k: Exports, bytes: Uint8Array, whole: boolean): { offset: number; scratchEnd: number } {
  const known = resident.get(bytes);
  if (known !== undefined) return { offset: known, scratchEnd: top };
  const scratch = top;
  if (whole && top + bytes.length <= BASE + limit) {
    const offset = top;
    reserve(k, offset + bytes.length);
    new Uint8Array(k.memory.buffer, offset, bytes.length).set(bytes);
    resident.set(bytes, offset);
    top = align(offset + bytes.length, 16);
    return { offset, scratchEnd: top };
  }
  reserve(k, scratch + bytes.length);
  new Uint8Array(k.memory.buffer, scratch, bytes.length).set(bytes);
  return { offset: scratch, scratchEnd: align(scratch + bytes.length, 16) };
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * out[t·rows + i] = W_i · x_t for weights of `type` (`rows` × `nb` blocks in `weights`)
 * and `n` activation rows in its dot type (Q8_0 for Q8_0/Q4_0, Q8_K for Q4_K/Q6_K:
 * `qs` quants, `d` one scale per block, `sums` the per-32 or per-16 quant sums), exactly
 * as the TypeScript kernel computes each one. Returns false (doing nothing) when the
 * kernels are not active.
 */
export function wasmMatMul(type: WasmWeightType, weights: Uint8Array, rows: number, nb: number, acts: { qs: Int8Array; d: Float64Array; sums: Int32Array }, n: number, out: Float64Array): boolean {
  const k = enabled ? kernels() : null;
  if (!k) return false;
  const [blockBytes, perBlock] = BLOCKS[type];
  const size = rows * nb * blockBytes;
  const w = weights.byteLength === size ? place(k, weights, true) : place(k, weights.subarray(0, size), false);
  const values = n * nb * perBlock;
  const sums = n * nb * SUMS[type];
  const qsOff = w.scratchEnd;
  // Quants widened to int16 once here (Int16Array.set sign-extends), not per weight row in the kernel.
  const dOff = align(qsOff + 2 * values, 16);
  const sumsOff = align(dOff + n * nb * 8, 16);
  const outOff = align(sumsOff + sums * 4, 16);
  reserve(k, outOff + n * rows * 8);
  const buf = k.memory.buffer;
  new Int16Array(buf, qsOff, values).set(acts.qs.subarray(0, values));
  new Float64Array(buf, dOff, n * nb).set(acts.d.subarray(0, n * nb));
  new Int32Array(buf, sumsOff, sums).set(acts.sums.subarray(0, sums));
  k.matmul(KIND[type], w.offset, rows, nb, qsOff, dOff, sumsOff, n, outOff);
  out.set(new Float64Array(k.memory.buffer, outOff, n * rows));
  return true;
}
