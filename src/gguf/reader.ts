/**
 * `readGguf`: reads a GGUF header through a byte-range source, growing its read of the
 * file's start as needed (64 KiB, then ×4), and checks everything a later tensor read
 * relies on: known types, sane shapes, aligned offsets, data inside the file and no two
 * tensors sharing bytes. Layout and rules: docs/gguf.md.
 */
import { KpcError } from '../errors.js';
import { ggmlTypeInfo } from '../quant/types.js';
import { Cursor, DEFAULT_GGUF_LIMITS, OutOfBytes, type GgufLimits } from './cursor.js';
import { GgufFile, type GgufTensorInfo } from './file.js';
import { toByteSource, type ByteSource, type ByteSourceInput } from './source.js';
import { GgufType, type GgufValue } from './values.js';

/** Options of {@link readGguf}: any of the limits, and the size of the first read. */
export interface GgufReadOptions extends Partial<GgufLimits> {
  /** Bytes asked for by the first read (default 64 KiB); later reads grow ×4. */
  firstReadBytes?: number;
}

/** `GGUF` at the start of every file. */
export const GGUF_MAGIC = new Uint8Array([0x47, 0x47, 0x55, 0x46]);
/** `general.alignment` when a file does not say. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** Most dimensions a ggml tensor has. */
export const GGUF_MAX_DIMS = 4;

const DEFAULT_FIRST_READ = 64 * 1024;
const GROWTH = 4;
/** Smallest metadata entry: key length 8, type 4, a one-byte value. */
const MIN_ENTRY_BYTES = 13;
/** Smallest tensor info: name length 8, n_dims 4, one dim 8, type 4, offset 8. */
const MIN_TENSOR_INFO_BYTES = 32;

/**
 * Reads the header of the GGUF file in `input` (a source, bytes, or a Blob/File) and
 * returns it with a way to read each tensor. Fails with a KpcError: `GGUF_BAD_MAGIC`,
 * `GGUF_BAD_VERSION`, `GGUF_TRUNCATED`, `GGUF_LIMIT`, `GGUF_BAD_VALUE`,
 * `GGUF_UNKNOWN_TENSOR_TYPE`, `GGUF_BAD_TENSOR` or `GGUF_SOURCE_FAILED`.
 */
export async function readGguf(input: ByteSourceInput, options: GgufReadOptions = {}): Promise<GgufFile> {
  const source = toByteSource(input);
  const limits = resolveLimits(options);
  const header = new HeaderBytes(source, limits);
  await header.start(options.firstReadBytes ?? DEFAULT_FIRST_READ);

  const { version, tensorCount, entryCount, end: countsEnd } = await header.decode(0, (c) => {
    checkMagic(c, header.size);
    const version = checkVersion(c.u32('the version'));
    return { version, tensorCount: c.u64('the tensor count'), entryCount: c.u64('the metadata count') };
  });
  checkCount(entryCount, limits.maxMetadataEntries, 'metadata entries', 'maxMetadataEntries', MIN_ENTRY_BYTES, header.size - countsEnd);
  checkCount(tensorCount, limits.maxTensors, 'tensors', 'maxTensors', MIN_TENSOR_INFO_BYTES, header.size - countsEnd);

  const metadata = new Map<string, GgufValue>();
  let pos = countsEnd;
  for (let i = 0; i < entryCount; i++) {
    const entry = await header.decode(pos, (c) => {
      const key = c.string(`the key of metadata entry ${i}`);
      if (key === '') throw new KpcError('GGUF_BAD_VALUE', `metadata entry ${i} has an empty key`, { index: i });
      if (metadata.has(key)) throw new KpcError('GGUF_BAD_VALUE', `metadata key "${key}" appears twice`, { key });
      return { key, value: c.value(c.u32(`the type of key "${key}"`), `key "${key}"`) };
    });
    metadata.set(entry.key, entry.value);
    pos = entry.end;
  }
  const alignment = alignmentOf(metadata, limits.maxAlignment);

  const raw: RawTensor[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const info = await header.decode(pos, (c) => decodeTensorInfo(c, i));
    if (names.has(info.name)) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${info.name}" appears twice`, { name: info.name });
    names.add(info.name);
    raw.push(info);
    pos = info.end;
  }

  const dataOffset = alignUp(pos, alignment);
  const tensors = raw.map((t) => layOut(t, alignment, dataOffset, header.size));
  checkNoOverlap(tensors);
  return new GgufFile(source, { version, size: header.size, metadata, tensors, alignment, headerByteLength: pos, dataOffset });
}

function resolveLimits(options: GgufReadOptions): GgufLimits {
  const limits = { ...DEFAULT_GGUF_LIMITS };
  for (const key of Object.keys(DEFAULT_GGUF_LIMITS) as (keyof GgufLimits)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new KpcError('GGUF_LIMIT', `limit ${key} must be a non-negative integer, got ${String(v)}`, { key });
    limits[key] = v;
  }
  return limits;
}

/** The loaded start of the file, grown on demand. */
class HeaderBytes {
  #bytes: Uint8Array = new Uint8Array(0);
  #size = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly limits: Readonly<GgufLimits>,
  ) {}

  /** The file's size (known once {@link start} has run). */
  get size(): number {
    return this.#size;
  }

  /** The first read, which also tells an HTTP source the file's size. */
  async start(firstReadBytes: number): Promise<void> {
    const want = Math.max(16, Math.min(Math.floor(firstReadBytes) || DEFAULT_FIRST_READ, this.limits.maxHeaderBytes));
    this.#bytes = await this.source.read(0, Math.min(want, this.source.size ?? want));
    const size = this.source.size;
    if (size === undefined || !Number.isSafeInteger(size) || size < this.#bytes.byteLength) {
      throw new KpcError('GGUF_SOURCE_FAILED', `the source did not report a usable size (${String(size)}) after its first read`);
    }
    this.#size = size;
  }

  /** Runs `decode` at `pos`, loading more of the file and retrying until it has the bytes it needs. */
  async decode<T>(pos: number, decode: (c: Cursor) => T): Promise<T & { end: number }> {
    for (;;) {
      const c = new Cursor(this.#bytes, pos, this.limits);
      try {
        const value = decode(c);
        return { ...value, end: c.pos };
      } catch (err) {
        if (!(err instanceof OutOfBytes)) throw err;
        await this.#grow(err);
      }
    }
  }

  async #grow({ end, what }: OutOfBytes): Promise<void> {
    if (end > this.#size) {
      throw new KpcError('GGUF_TRUNCATED', `the file ends at byte ${this.#size}, inside ${what} (which needs bytes up to ${end})`, { size: this.#size, needed: end });
    }
    if (end > this.limits.maxHeaderBytes) {
      throw new KpcError('GGUF_LIMIT', `the header needs more than ${this.limits.maxHeaderBytes} bytes (maxHeaderBytes) to read ${what}`, { needed: end });
    }
    const have = this.#bytes.byteLength;
    const target = Math.min(this.#size, this.limits.maxHeaderBytes, Math.max(end, have * GROWTH));
    const more = await this.source.read(have, target - have);
    if (more.byteLength !== target - have) {
      throw new KpcError('GGUF_SOURCE_FAILED', `short read: ${more.byteLength} of ${target - have} bytes at ${have}`, { offset: have });
    }
    const grown = new Uint8Array(target);
    grown.set(this.#bytes);
    grown.set(more, have);
    this.#bytes = grown;
  }
}

function checkMagic(c: Cursor, size: number): void {
  for (let i = 0; i < 4; i++) {
    if (i >= size) throw new KpcError('GGUF_TRUNCATED', `the file is ${size} bytes, too short for a GGUF header`, { size });
    const b = c.u8('the magic');
    if (b !== GGUF_MAGIC[i]) throw new KpcError('GGUF_BAD_MAGIC', 'not a GGUF file: it does not start with "GGUF"', { at: i, byte: b });
  }
}

function checkVersion(version: number): 2 | 3 {
  if (version === 2 || version === 3) return version;
  if (version === 0x02000000 || version === 0x03000000) {
    throw new KpcError('GGUF_BAD_VERSION', 'big-endian GGUF is not supported (the version field is byte-swapped)', { version });
  }
  if (version === 1) throw new KpcError('GGUF_BAD_VERSION', 'GGUF version 1 (32-bit counts, 2023) is not supported: convert the file again', { version });
  throw new KpcError('GGUF_BAD_VERSION', `unknown GGUF version ${version} (supported: 2 and 3)`, { version });
}

/** A count must be under its limit and small enough for the bytes left to hold that many items. */
function checkCount(count: number, limit: number, what: string, limitName: string, minBytes: number, remaining: number): void {
  if (count > limit) throw new KpcError('GGUF_LIMIT', `the file declares ${count} ${what}, over the limit of ${limit} (${limitName})`, { count });
  if (count * minBytes > remaining) {
    throw new KpcError('GGUF_TRUNCATED', `the file declares ${count} ${what}, more than its remaining ${remaining} bytes can hold`, { count, remaining });
  }
}

function alignmentOf(metadata: Map<string, GgufValue>, max: number): number {
  const v = metadata.get('general.alignment');
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // llama.cpp insists on uint32 here; a file it would refuse is refused here too.
  if (v.type !== GgufType.UINT32) throw new KpcError('GGUF_BAD_VALUE', 'metadata key "general.alignment" must be a uint32', { key: 'general.alignment', type: v.type });
  const a = v.value;
  if (!isPowerOfTwo(a)) throw new KpcError('GGUF_BAD_VALUE', `general.alignment is ${a}, not a power of two`, { key: 'general.alignment', value: a });
  // A huge alignment costs nothing to read but pads whatever copies the file (a writer): refuse it.
  if (a > max) throw new KpcError('GGUF_LIMIT', `general.alignment is ${a}, more than the limit ${max}`, { key: 'general.alignment', value: a, limit: max });
  return a;
}

interface RawTensor {
  name: string;
  dims: number[];
  type: number;
  relativeOffset: number;
  end: number;
}

function decodeTensorInfo(c: Cursor, index: number): Omit<RawTensor, 'end'> {
  const name = c.string(`the name of tensor ${index}`);
  const nDims = c.u32(`the dimension count of tensor "${name}"`);
  if (nDims < 1 || nDims > GGUF_MAX_DIMS) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${name}" has ${nDims} dimensions (1 to ${GGUF_MAX_DIMS} allowed)`, { name, nDims });
  const dims: number[] = [];
  for (let d = 0; d < nDims; d++) {
    const n = c.u64(`dimension ${d} of tensor "${name}"`);
    if (n === 0 || !Number.isSafeInteger(n)) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${name}" has dimension ${d} of ${n}`, { name, dim: d });
    dims.push(n);
  }
  const type = c.u32(`the type of tensor "${name}"`);
  const relativeOffset = c.u64(`the offset of tensor "${name}"`);
  return { name, dims, type, relativeOffset };
}

/** Checks one tensor's type, shape and place against the file; returns its info with an absolute offset. */
function layOut(t: RawTensor, alignment: number, dataOffset: number, size: number): GgufTensorInfo {
  const info = ggmlTypeInfo(t.type);
  if (info === undefined) throw new KpcError('GGUF_UNKNOWN_TENSOR_TYPE', `tensor "${t.name}" has unknown ggml type ${t.type}`, { name: t.name, type: t.type });
  const elements = t.dims.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(elements)) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${t.name}" has ${t.dims.join('×')} elements, beyond 2^53`, { name: t.name });
  // Blocks never straddle rows (llama.cpp's rule), so the row, not just the total, must be whole blocks.
  if (t.dims[0] % info.blockSize !== 0) {
    throw new KpcError('GGUF_BAD_TENSOR', `tensor "${t.name}" of type ${info.name} has rows of ${t.dims[0]} weights, not a multiple of its block size ${info.blockSize}`, { name: t.name });
  }
  const byteLength = (elements / info.blockSize) * info.typeSize;
  if (!Number.isSafeInteger(byteLength)) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${t.name}" would take ${byteLength} bytes, beyond 2^53`, { name: t.name });
  if (!Number.isSafeInteger(t.relativeOffset) || t.relativeOffset % alignment !== 0) {
    throw new KpcError('GGUF_BAD_TENSOR', `tensor "${t.name}" is at data offset ${t.relativeOffset}, not a multiple of the alignment ${alignment}`, { name: t.name, offset: t.relativeOffset });
  }
  const offset = dataOffset + t.relativeOffset;
  if (offset + byteLength > size) {
    throw new KpcError('GGUF_TRUNCATED', `tensor "${t.name}" spans bytes ${offset}..${offset + byteLength} but the file has ${size} (a cut-off file, or a wrong offset)`, {
      name: t.name,
      offset,
      byteLength,
      size,
    });
  }
  return { name: t.name, dims: t.dims, type: t.type, typeName: info.name, offset, byteLength, elements };
}

function checkNoOverlap(tensors: readonly GgufTensorInfo[]): void {
  const sorted = [...tensors].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const [prev, cur] = [sorted[i - 1], sorted[i]];
    if (cur.offset < prev.offset + prev.byteLength) {
      throw new KpcError('GGUF_BAD_TENSOR', `tensors "${prev.name}" and "${cur.name}" overlap at byte ${cur.offset}`, { names: [prev.name, cur.name], offset: cur.offset });
    }
  }
}

/** True for 1, 2, 4, 8, … */
export function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** `n` rounded up to a multiple of the power of two `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}
