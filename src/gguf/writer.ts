/**
 * `writeGguf`: a GGUF v3 (or v2) file from typed metadata and tensors, laid out the way
 * llama.cpp's own writer (gguf.cpp) and scripts/train/gguf_writer.py lay it out: header,
 * zero padding to the alignment, then each tensor's data padded to the alignment, in
 * order, so every offset is the previous offset plus the previous padded size (the only
 * layout llama.cpp's loader accepts).
 */
import { KpcError } from '../errors.js';
import { GgmlType, ggmlTypeInfo, type GgmlTypeInfo, type GgmlTypeName } from '../quant/types.js';
import { DEFAULT_GGUF_LIMITS } from './cursor.js';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMS, alignUp, isPowerOfTwo } from './reader.js';
import { GgufType, ggufTypeName, isGgufType, type GgufArray, type GgufTypeId, type GgufValue } from './values.js';
import { LITTLE_ENDIAN } from '../quant/common.js';

/** One tensor to write. */
export interface GgufTensorSpec {
  /** Name, at most 63 UTF-8 bytes (llama.cpp's GGML_MAX_NAME is 64 with the NUL). */
  name: string;
  /** Dimensions, innermost (ne0) first, 1 to 4 of them. */
  dims: readonly number[];
  /** ggml type id or name (`'F32'`, `GgmlType.Q8_0`). */
  type: number | GgmlTypeName;
  /** The tensor's bytes in ggml's layout for `type`; exactly its byte length. */
  data: Uint8Array;
}

/** What {@link writeGguf} writes. */
export interface GgufWriteSpec {
  /** 3 (default) or 2: the same layout. */
  version?: 2 | 3;
  /**
   * Data alignment, a power of two. Default: the metadata's `general.alignment`, else 32.
   * When given, it replaces a `general.alignment` entry, or adds one if it is not 32.
   */
  alignment?: number;
  /** Entries in the order to write them: a reader's `metadata` map can be passed as is. */
  metadata?: Iterable<readonly [string, GgufValue]>;
  /** Tensors in the order to write them. */
  tensors?: readonly GgufTensorSpec[];
}

/** Longest tensor name llama.cpp loads, in UTF-8 bytes. */
export const GGUF_MAX_TENSOR_NAME_BYTES = 63;

const UTF8 = new TextEncoder();
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** The whole file in one buffer. For files of gigabytes, write the parts of {@link writeGgufChunks} instead. */
export function writeGguf(spec: GgufWriteSpec): Uint8Array<ArrayBuffer> {
  const chunks = writeGgufChunks(spec);
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  let out: Uint8Array<ArrayBuffer>;
  try {
    out = new Uint8Array(total);
  } catch {
    throw new KpcError('GGUF_LIMIT', `a ${total}-byte file does not fit one buffer: write the parts of writeGgufChunks() instead`, { total });
  }
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The file as consecutive parts: the header with its padding, then each tensor's `data`
 * (the caller's array, not a copy) followed by its padding. Concatenated, they are
 * {@link writeGguf}'s output; a CLI can stream them to disk one by one.
 */
export function writeGgufChunks(spec: GgufWriteSpec): Uint8Array[] {
  const version = spec.version ?? 3;
  if (version !== 2 && version !== 3) throw new KpcError('GGUF_BAD_VERSION', `cannot write GGUF version ${String(version)} (2 or 3)`, { version });
  const { entries, alignment } = withAlignment([...(spec.metadata ?? [])], spec.alignment);
  const tensors = (spec.tensors ?? []).map(checkTensor);
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw new KpcError('GGUF_BAD_TENSOR', `tensor "${t.name}" appears twice`, { name: t.name });
    names.add(t.name);
  }

  const b = new ByteBuilder();
  b.bytes(GGUF_MAGIC);
  b.u32(version);
  b.u64(tensors.length);
  b.u64(entries.length);
  const keys = new Set<string>();
  for (const entry of entries) {
    const [key, value] = Array.isArray(entry) ? entry : [undefined, undefined];
    if (typeof key !== 'string' || key === '') throw new KpcError('GGUF_BAD_VALUE', `metadata key ${JSON.stringify(key)} is not a non-empty string`, { key });
    if (keys.has(key)) throw new KpcError('GGUF_BAD_VALUE', `metadata key "${key}" appears twice`, { key });
    keys.add(key);
    b.string(key, `metadata key "${key}"`);
    writeValue(b, value, `metadata key "${key}"`, 0);
  }
  let offset = 0;
  for (const t of tensors) {
    b.string(t.name, `tensor "${t.name}"`);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(t.info.id);
    b.u64(offset);
    offset += alignUp(t.data.byteLength, alignment);
  }
  b.pad(alignment);

  const chunks = [b.result()];
  const zeros = new Uint8Array(alignment - 1);
  for (const t of tensors) {
    chunks.push(t.data);
    const pad = alignUp(t.data.byteLength, alignment) - t.data.byteLength;
    if (pad > 0) chunks.push(zeros.subarray(0, pad));
  }
  return chunks;
}

function withAlignment(entries: (readonly [string, GgufValue])[], requested: number | undefined): { entries: (readonly [string, GgufValue])[]; alignment: number } {
  const at = entries.findIndex((e) => Array.isArray(e) && e[0] === 'general.alignment');
  if (requested === undefined) {
    if (at < 0) return { entries, alignment: GGUF_DEFAULT_ALIGNMENT };
    const v = entries[at][1];
    if (v?.type !== GgufType.UINT32 || !isPowerOfTwo(v.value)) {
      throw new KpcError('GGUF_BAD_VALUE', 'metadata key "general.alignment" must be a uint32 power of two', { key: 'general.alignment' });
    }
    return { entries, alignment: v.value };
  }
  if (!isPowerOfTwo(requested) || requested > 0x8000_0000) throw new KpcError('GGUF_BAD_VALUE', `alignment ${requested} is not a power of two up to 2^31`, { alignment: requested });
  const entry = ['general.alignment', { type: GgufType.UINT32, value: requested }] as const;
  if (at >= 0) entries[at] = entry;
  else if (requested !== GGUF_DEFAULT_ALIGNMENT) entries.push(entry);
  return { entries, alignment: requested };
}

interface CheckedTensor {
  name: string;
  dims: readonly number[];
  info: GgmlTypeInfo;
  data: Uint8Array;
}

function checkTensor(t: GgufTensorSpec): CheckedTensor {
  const name = t?.name;
  const bad = (why: string) => new KpcError('GGUF_BAD_TENSOR', `tensor "${String(name)}": ${why}`, { name });
  if (typeof name !== 'string' || LONE_SURROGATE.test(name)) throw bad('the name is not a well-formed string');
  if (UTF8.encode(name).byteLength > GGUF_MAX_TENSOR_NAME_BYTES) throw bad(`the name is longer than ${GGUF_MAX_TENSOR_NAME_BYTES} UTF-8 bytes`);
  const id = typeof t.type === 'string' ? (GgmlType as Record<string, number>)[t.type] : t.type;
  const info = typeof id === 'number' ? ggmlTypeInfo(id) : undefined;
  if (info === undefined) throw new KpcError('GGUF_UNKNOWN_TENSOR_TYPE', `tensor "${name}" has unknown ggml type ${String(t.type)}`, { name, type: t.type });
  const dims = t.dims;
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > GGUF_MAX_DIMS) throw bad(`needs 1 to ${GGUF_MAX_DIMS} dimensions`);
  if (!dims.every((d) => Number.isSafeInteger(d) && d > 0)) throw bad(`dimensions ${dims.join('×')} are not positive integers`);
  const elements = dims.reduce((a: number, d: number) => a * d, 1);
  if (!Number.isSafeInteger(elements)) throw bad('has more than 2^53 elements');
  if (dims[0] % info.blockSize !== 0) throw bad(`rows of ${dims[0]} are not a multiple of ${info.name}'s block size ${info.blockSize}`);
  const byteLength = (elements / info.blockSize) * info.typeSize;
  if (!(t.data instanceof Uint8Array) || t.data.byteLength !== byteLength) {
    throw bad(`data must be a Uint8Array of ${byteLength} bytes (${dims.join('×')} ${info.name}), got ${t.data instanceof Uint8Array ? t.data.byteLength : typeof t.data}`);
  }
  return { name, dims, info, data: t.data };
}

const INT_RANGE: Partial<Record<GgufTypeId, readonly [number, number]>> = {
  [GgufType.UINT8]: [0, 0xff],
  [GgufType.INT8]: [-0x80, 0x7f],
  [GgufType.UINT16]: [0, 0xffff],
  [GgufType.INT16]: [-0x8000, 0x7fff],
  [GgufType.UINT32]: [0, 0xffff_ffff],
  [GgufType.INT32]: [-0x8000_0000, 0x7fff_ffff],
};
const BIG_RANGE = {
  [GgufType.UINT64]: [0n, 2n ** 64n - 1n],
  [GgufType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
} as const;
const TYPED: Partial<Record<GgufTypeId, new (length: number) => ArrayBufferView>> = {
  [GgufType.UINT8]: Uint8Array,
  [GgufType.INT8]: Int8Array,
  [GgufType.UINT16]: Uint16Array,
  [GgufType.INT16]: Int16Array,
  [GgufType.UINT32]: Uint32Array,
  [GgufType.INT32]: Int32Array,
  [GgufType.FLOAT32]: Float32Array,
  [GgufType.FLOAT64]: Float64Array,
  [GgufType.UINT64]: BigUint64Array,
  [GgufType.INT64]: BigInt64Array,
};

function writeValue(b: ByteBuilder, v: GgufValue, where: string, depth: number): void {
  if (typeof v !== 'object' || v === null || !isGgufType(v.type)) {
    throw new KpcError('GGUF_BAD_VALUE', `${where}: not a GGUF value ({ type, value } with a known type)`, { where });
  }
  b.u32(v.type);
  if (v.type === GgufType.ARRAY) writeArray(b, v.value, where, depth + 1);
  else writeScalar(b, v.type, v.value, where);
}

function writeArray(b: ByteBuilder, a: GgufArray, where: string, depth: number): void {
  if (depth > DEFAULT_GGUF_LIMITS.maxNestingDepth) {
    throw new KpcError('GGUF_LIMIT', `${where}: arrays nested ${depth} deep, more than readers accept by default (${DEFAULT_GGUF_LIMITS.maxNestingDepth})`, { where });
  }
  if (typeof a !== 'object' || a === null || !isGgufType(a.itemType) || typeof a.items?.length !== 'number') {
    throw new KpcError('GGUF_BAD_VALUE', `${where}: not an array value ({ itemType, items })`, { where });
  }
  const { itemType, items } = a;
  b.u32(itemType);
  b.u64(items.length);
  if (LITTLE_ENDIAN && TYPED[itemType] !== undefined && items instanceof TYPED[itemType]) {
    const t = items as ArrayBufferView;
    b.bytes(new Uint8Array(t.buffer, t.byteOffset, t.byteLength));
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as unknown;
    if (itemType === GgufType.ARRAY) writeArray(b, item as GgufArray, `item ${i} of ${where}`, depth + 1);
    else writeScalar(b, itemType, item, `item ${i} of ${where}`);
  }
}

function writeScalar(b: ByteBuilder, type: GgufTypeId, value: unknown, where: string): void {
  const bad = (expected: string) =>
    new KpcError('GGUF_BAD_VALUE', `${where}: ${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value) ?? String(value)} is not ${expected}`, { where, type });
  const range = INT_RANGE[type];
  if (range !== undefined) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) throw bad(`a ${ggufTypeName(type)}`);
    b.int(type, value);
  } else if (type === GgufType.FLOAT32 || type === GgufType.FLOAT64) {
    if (typeof value !== 'number') throw bad('a number');
    b.float(type, value);
  } else if (type === GgufType.UINT64 || type === GgufType.INT64) {
    const big = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    const [lo, hi] = BIG_RANGE[type];
    if (big === undefined || big < lo || big > hi) throw bad(`a ${ggufTypeName(type)} (a bigint, or a number up to 2^53)`);
    b.big(type, big);
  } else if (type === GgufType.BOOL) {
    if (typeof value !== 'boolean') throw bad('a boolean');
    b.u8(value ? 1 : 0);
  } else if (type === GgufType.STRING) {
    if (typeof value !== 'string') throw bad('a string');
    b.string(value, where);
  } else {
    throw bad(`a ${ggufTypeName(type)}`);
  }
}

/** A growable little-endian byte buffer. */
class ByteBuilder {
  #buf = new Uint8Array(4096);
  #view = new DataView(this.#buf.buffer);
  #len = 0;

  /** Reserves `n` bytes and returns where they start. Take the view only after: it may grow. */
  #room(n: number): number {
    if (this.#len + n > this.#buf.byteLength) {
      const grown = new Uint8Array(Math.max(this.#len + n, this.#buf.byteLength * 2));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
      this.#view = new DataView(grown.buffer);
    }
    const at = this.#len;
    this.#len += n;
    return at;
  }

  bytes(src: Uint8Array): void {
    const at = this.#room(src.byteLength);
    this.#buf.set(src, at);
  }
  u8(v: number): void {
    const at = this.#room(1);
    this.#view.setUint8(at, v);
  }
  u32(v: number): void {
    const at = this.#room(4);
    this.#view.setUint32(at, v, true);
  }
  u64(v: number): void {
    const at = this.#room(8);
    this.#view.setBigUint64(at, BigInt(v), true);
  }
  int(type: GgufTypeId, v: number): void {
    const size = type <= GgufType.INT8 ? 1 : type <= GgufType.INT16 ? 2 : 4;
    const at = this.#room(size);
    if (size === 1) this.#view.setUint8(at, v & 0xff);
    else if (size === 2) this.#view.setUint16(at, v & 0xffff, true);
    else this.#view.setUint32(at, v >>> 0, true);
  }
  float(type: GgufTypeId, v: number): void {
    const at = this.#room(type === GgufType.FLOAT32 ? 4 : 8);
    if (type === GgufType.FLOAT32) this.#view.setFloat32(at, v, true);
    else this.#view.setFloat64(at, v, true);
  }
  big(type: GgufTypeId, v: bigint): void {
    const at = this.#room(8);
    if (type === GgufType.UINT64) this.#view.setBigUint64(at, v, true);
    else this.#view.setBigInt64(at, v, true);
  }
  string(s: string, where: string): void {
    if (LONE_SURROGATE.test(s)) throw new KpcError('GGUF_BAD_VALUE', `${where}: a string with a lone surrogate has no UTF-8 form`, { where });
    const bytes = UTF8.encode(s);
    this.u64(bytes.byteLength);
    this.bytes(bytes);
  }
  pad(alignment: number): void {
    this.#room(alignUp(this.#len, alignment) - this.#len);
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
