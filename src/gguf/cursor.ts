/**
 * Little-endian decoding of the header's primitives and metadata values from the bytes
 * loaded so far. When a value runs past what is loaded, the cursor throws
 * {@link OutOfBytes} with the position it needs; the reader then loads more (or reports
 * truncation / a limit) and decodes that item again. Every length is checked against the
 * limits and against the bytes it implies *before* anything is allocated for it.
 */
import { KpcError } from '../errors.js';
import { GgufType, bigToValue, ggufFixedSize, ggufTypeName, isGgufType, type GgufArray, type GgufArrayItems, type GgufTypeId, type GgufValue } from './values.js';
import { LITTLE_ENDIAN } from '../quant/common.js';

/** Limits on what a header may ask the reader to hold. */
export interface GgufLimits {
  /** Bytes from the start of the file to the end of the tensor infos. Default 256 MiB. */
  maxHeaderBytes: number;
  /** Tensor infos. Default 1 000 000. */
  maxTensors: number;
  /** Metadata key/value pairs. Default 1 000 000. */
  maxMetadataEntries: number;
  /** Items of one array (nested arrays count separately). Default 16 777 216. */
  maxArrayLength: number;
  /** UTF-8 bytes of one string (key, value, array item or tensor name). Default 64 MiB. */
  maxStringBytes: number;
  /** Arrays inside arrays: 1 allows a plain array, 2 an array of arrays. Default 4. */
  maxNestingDepth: number;
  /** `general.alignment`. Default 1 MiB (llama.cpp writes 32; a larger one only pads). */
  maxAlignment: number;
}

/** The defaults: a real model's header (a 256k-token vocabulary, ~10 MB) fits well inside them. */
export const DEFAULT_GGUF_LIMITS: Readonly<GgufLimits> = Object.freeze({
  maxHeaderBytes: 256 * 1024 * 1024,
  maxTensors: 1_000_000,
  maxMetadataEntries: 1_000_000,
  maxArrayLength: 16 * 1024 * 1024,
  maxStringBytes: 64 * 1024 * 1024,
  maxNestingDepth: 4,
  maxAlignment: 1024 * 1024,
});

/** Thrown inside a decode when the loaded bytes end before `end`; never escapes the reader. */
export class OutOfBytes {
  constructor(
    /** Absolute position the decode needs bytes up to. */
    readonly end: number,
    /** What was being decoded, for a truncation message. */
    readonly what: string,
  ) {}
}

const TWO_32 = 0x1_0000_0000;
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Smallest encoding of one array item of each type: a string is at least its 8-byte length, an array 12 bytes. */
function minItemBytes(type: GgufTypeId): number {
  if (type === GgufType.STRING) return 8;
  if (type === GgufType.ARRAY) return 12;
  return ggufFixedSize(type);
}

/** Reads primitives at `pos` from the loaded prefix `bytes` of the file. */
export class Cursor {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;

  constructor(
    bytes: Uint8Array,
    /** Absolute position of the next byte to decode. */
    public pos: number,
    readonly limits: Readonly<GgufLimits>,
  ) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throws {@link OutOfBytes} unless `n` more bytes are loaded. */
  need(n: number, what: string): void {
    if (this.pos + n > this.#bytes.byteLength) throw new OutOfBytes(this.pos + n, what);
  }

  /** A uint8. */
  u8(what: string): number {
    this.need(1, what);
    return this.#view.getUint8(this.pos++);
  }

  /** A uint32. */
  u32(what: string): number {
    this.need(4, what);
    const v = this.#view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /**
   * A uint64 as a number, for counts and sizes: exact below 2^53, and above it still
   * larger than any limit, which is all a count is compared with.
   */
  u64(what: string): number {
    this.need(8, what);
    const lo = this.#view.getUint32(this.pos, true);
    const hi = this.#view.getUint32(this.pos + 4, true);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** A length-prefixed UTF-8 string of at most `maxStringBytes`. */
  string(what: string): string {
    const length = this.u64(`the length of ${what}`);
    if (length > this.limits.maxStringBytes) {
      throw new KpcError('GGUF_LIMIT', `${what} is ${length} bytes long, over the limit of ${this.limits.maxStringBytes} (maxStringBytes)`, { length, at: this.pos - 8 });
    }
    this.need(length, what);
    const at = this.pos;
    this.pos += length;
    try {
      return UTF8.decode(this.#bytes.subarray(at, at + length));
    } catch {
      throw new KpcError('GGUF_BAD_VALUE', `${what} is not valid UTF-8`, { at });
    }
  }

  /** One metadata value of `type` (`depth` arrays deep) for `where` (e.g. `key "general.name"`). */
  value(type: number, where: string, depth = 0): GgufValue {
    switch (type) {
      case GgufType.UINT8:
      case GgufType.INT8:
      case GgufType.UINT16:
      case GgufType.INT16:
      case GgufType.UINT32:
      case GgufType.INT32:
      case GgufType.FLOAT32:
      case GgufType.FLOAT64:
        return { type, value: this.#number(type, where) };
      case GgufType.UINT64:
      case GgufType.INT64:
        return { type, value: this.#big(type, where) };
      case GgufType.BOOL:
        return { type, value: this.#bool(where) };
      case GgufType.STRING:
        return { type, value: this.string(`the string value of ${where}`) };
      case GgufType.ARRAY:
        return { type, value: this.#array(where, depth + 1) };
      default:
        throw new KpcError('GGUF_BAD_VALUE', `${where} has unknown value type ${type}`, { type, at: this.pos - 4 });
    }
  }

  #number(type: GgufTypeId, where: string): number {
    const size = ggufFixedSize(type);
    this.need(size, `the value of ${where}`);
    const v = this.#view;
    const p = this.pos;
    this.pos += size;
    switch (type) {
      case GgufType.UINT8: return v.getUint8(p);
      case GgufType.INT8: return v.getInt8(p);
      case GgufType.UINT16: return v.getUint16(p, true);
      case GgufType.INT16: return v.getInt16(p, true);
      case GgufType.UINT32: return v.getUint32(p, true);
      case GgufType.INT32: return v.getInt32(p, true);
      case GgufType.FLOAT32: return v.getFloat32(p, true);
      default: return v.getFloat64(p, true);
    }
  }

  #big(type: GgufTypeId, where: string): number | bigint {
    this.need(8, `the value of ${where}`);
    const v = type === GgufType.UINT64 ? this.#view.getBigUint64(this.pos, true) : this.#view.getBigInt64(this.pos, true);
    this.pos += 8;
    return bigToValue(v);
  }

  #bool(where: string): boolean {
    const b = this.u8(`the value of ${where}`);
    // llama.cpp reads any non-zero byte as true; anything but 0/1 is a corrupt byte here.
    if (b > 1) throw new KpcError('GGUF_BAD_VALUE', `${where} has bool byte ${b}, expected 0 or 1`, { at: this.pos - 1, byte: b });
    return b === 1;
  }

  #array(where: string, depth: number): GgufArray {
    if (depth > this.limits.maxNestingDepth) {
      throw new KpcError('GGUF_LIMIT', `${where} nests arrays ${depth} deep, over the limit of ${this.limits.maxNestingDepth} (maxNestingDepth)`, { at: this.pos });
    }
    const itemType = this.u32(`the item type of ${where}`);
    const count = this.u64(`the length of ${where}`);
    if (!isGgufType(itemType)) {
      throw new KpcError('GGUF_BAD_VALUE', `${where} is an array of unknown value type ${itemType}`, { type: itemType, at: this.pos - 12 });
    }
    if (count > this.limits.maxArrayLength) {
      throw new KpcError('GGUF_LIMIT', `${where} has ${count} items, over the limit of ${this.limits.maxArrayLength} (maxArrayLength)`, { count, at: this.pos - 8 });
    }
    // Before allocating: the items take at least this many bytes, which must be there.
    this.need(count * minItemBytes(itemType), `the ${count} ${ggufTypeName(itemType)} items of ${where}`);
    return { itemType, items: this.#items(itemType, count, where, depth) };
  }

  #items(type: GgufTypeId, count: number, where: string, depth: number): GgufArrayItems {
    switch (type) {
      case GgufType.UINT8: return this.#typed(Uint8Array, count);
      case GgufType.INT8: return this.#typed(Int8Array, count);
      case GgufType.UINT16: return this.#typed(Uint16Array, count);
      case GgufType.INT16: return this.#typed(Int16Array, count);
      case GgufType.UINT32: return this.#typed(Uint32Array, count);
      case GgufType.INT32: return this.#typed(Int32Array, count);
      case GgufType.FLOAT32: return this.#typed(Float32Array, count);
      case GgufType.FLOAT64: return this.#typed(Float64Array, count);
      case GgufType.UINT64: return this.#typed(BigUint64Array, count);
      case GgufType.INT64: return this.#typed(BigInt64Array, count);
      case GgufType.BOOL: {
        const out: boolean[] = [];
        for (let i = 0; i < count; i++) out.push(this.#bool(`item ${i} of ${where}`));
        return out;
      }
      case GgufType.STRING: {
        const out: string[] = [];
        for (let i = 0; i < count; i++) out.push(this.string(`item ${i} of ${where}`));
        return out;
      }
      default: {
        const out: GgufArray[] = [];
        for (let i = 0; i < count; i++) out.push(this.#array(`item ${i} of ${where}`, depth + 1));
        return out;
      }
    }
  }

  /** `count` fixed-size numbers, copied into a fresh (hence aligned) typed array. */
  #typed<T extends TypedArrayLike>(Ctor: TypedArrayCtor<T>, count: number): T {
    const size = Ctor.BYTES_PER_ELEMENT;
    const start = this.pos;
    this.pos += count * size;
    // A copy made here, not by slice(): a source may hand out Node Buffers, whose slice()
    // is a view into a larger buffer at some offset, not a fresh array at offset 0.
    const copy = new Uint8Array(count * size);
    copy.set(this.#bytes.subarray(start, start + count * size));
    if (LITTLE_ENDIAN || size === 1) return new Ctor(copy.buffer, 0, count);
    return swapped(Ctor, copy, count);
  }
}

type TypedArrayLike = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array | BigUint64Array | BigInt64Array;

interface TypedArrayCtor<T> {
  readonly BYTES_PER_ELEMENT: number;
  new (buffer: ArrayBuffer, byteOffset: number, length: number): T;
}

/** On a big-endian host: reverse each element's bytes so the typed array reads little-endian data. */
function swapped<T>(Ctor: TypedArrayCtor<T>, copy: Uint8Array, count: number): T {
  const size = Ctor.BYTES_PER_ELEMENT;
  for (let i = 0; i < count; i++) copy.subarray(i * size, (i + 1) * size).reverse();
  return new Ctor(copy.buffer as ArrayBuffer, 0, count);
}
