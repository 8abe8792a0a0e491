/**
 * A parsed GGUF header: version, metadata with typed getters, tensor infos, and reads of
 * one tensor's bytes at a time through the file's source.
 */
import { KpcError } from '../errors.js';
import type { GgmlTypeName } from '../quant/types.js';
import type { ByteSource } from './source.js';
import { GgufType, ggufTypeName, type GgufArray, type GgufValue } from './values.js';

/** Where one tensor is and what it holds. */
export interface GgufTensorInfo {
  /** Name, e.g. `blk.0.attn_q.weight`. */
  readonly name: string;
  /** Dimensions, innermost (ne0, the contiguous one) first: a row-major [rows, cols] matrix is `[cols, rows]`. */
  readonly dims: readonly number[];
  /** ggml type id (`GgmlType`). */
  readonly type: number;
  /** ggml type name, e.g. `'Q4_K'`. */
  readonly typeName: GgmlTypeName;
  /** Absolute byte offset of the tensor's data in the file. */
  readonly offset: number;
  /** Bytes of data. */
  readonly byteLength: number;
  /** Number of weights (the product of `dims`). */
  readonly elements: number;
}

/** What {@link GgufFile}'s constructor takes; built by `readGguf`. */
export interface GgufFileParts {
  version: 2 | 3;
  size: number;
  metadata: Map<string, GgufValue>;
  tensors: GgufTensorInfo[];
  alignment: number;
  headerByteLength: number;
  dataOffset: number;
}

const NUMBER_TYPES = new Set<number>([GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32, GgufType.FLOAT32, GgufType.FLOAT64, GgufType.UINT64, GgufType.INT64]);
const INTEGER_TYPES = new Set<number>([GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32, GgufType.UINT64, GgufType.INT64]);

/**
 * A GGUF file whose header has been read. Getters that take a `fallback` return it when
 * the key is absent; without one, an absent key is an error. A key of the wrong type is
 * always an error (`GGUF_BAD_VALUE` naming the key): a broken file should not pass as a
 * default.
 */
export class GgufFile {
  /** Format version: 2 or 3 (the same layout; 3 allowed big-endian files, which kpc does not read). */
  readonly version: 2 | 3;
  /** Bytes in the file. */
  readonly size: number;
  /** Every metadata entry in file order, with its GGUF type. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** Tensor infos in file order. */
  readonly tensors: readonly GgufTensorInfo[];
  /** `general.alignment` (default 32): every tensor's offset from `dataOffset` is a multiple of it. */
  readonly alignment: number;
  /** Bytes from the start of the file to the end of the tensor infos. */
  readonly headerByteLength: number;
  /** Absolute offset of the tensor data section (`headerByteLength` rounded up to `alignment`). */
  readonly dataOffset: number;
  readonly #source: ByteSource;
  readonly #byName: Map<string, GgufTensorInfo>;

  /** Built by `readGguf`; not meant to be called directly. */
  constructor(source: ByteSource, parts: GgufFileParts) {
    this.#source = source;
    this.version = parts.version;
    this.size = parts.size;
    this.metadata = parts.metadata;
    this.tensors = parts.tensors;
    this.alignment = parts.alignment;
    this.headerByteLength = parts.headerByteLength;
    this.dataOffset = parts.dataOffset;
    this.#byName = new Map(parts.tensors.map((t) => [t.name, t]));
  }

  /** The entry for `key` with its type, or undefined. */
  get(key: string): GgufValue | undefined {
    return this.metadata.get(key);
  }

  /** True when the file has metadata `key`. */
  has(key: string): boolean {
    return this.metadata.has(key);
  }

  /** A string value. */
  getString(key: string): string;
  getString<D>(key: string, fallback: D): string | D;
  getString(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== GgufType.STRING) throw wrongType(key, v, 'a string');
    return v.value;
  }

  /** A numeric value of any numeric type (a 64-bit one only when it fits a number exactly). */
  getNumber(key: string): number;
  getNumber<D>(key: string, fallback: D): number | D;
  getNumber(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (!NUMBER_TYPES.has(v.type)) throw wrongType(key, v, 'a number');
    if (typeof v.value !== 'number') throw new KpcError('GGUF_BAD_VALUE', `metadata key "${key}" is ${String(v.value)}, beyond 2^53: read it with get()`, { key });
    return v.value;
  }

  /** An integer value (of an integer type, exactly representable). */
  getInteger(key: string): number;
  getInteger<D>(key: string, fallback: D): number | D;
  getInteger(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (!INTEGER_TYPES.has(v.type)) throw wrongType(key, v, 'an integer');
    return this.getNumber(key);
  }

  /** A bool value. */
  getBoolean(key: string): boolean;
  getBoolean<D>(key: string, fallback: D): boolean | D;
  getBoolean(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== GgufType.BOOL) throw wrongType(key, v, 'a bool');
    return v.value;
  }

  /** An array value (`{ itemType, items }`). */
  getArray(key: string): GgufArray;
  getArray<D>(key: string, fallback: D): GgufArray | D;
  getArray(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== GgufType.ARRAY) throw wrongType(key, v, 'an array');
    return v.value;
  }

  /** An array of strings (e.g. `tokenizer.ggml.tokens`). */
  getStringArray(key: string): readonly string[];
  getStringArray<D>(key: string, fallback: D): readonly string[] | D;
  getStringArray(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== GgufType.ARRAY || v.value.itemType !== GgufType.STRING) throw wrongType(key, v, 'an array of strings');
    return v.value.items as readonly string[];
  }

  /**
   * An array of numbers of any numeric item type (e.g. `tokenizer.ggml.scores`), as
   * stored (a Float32Array for float32 items, …); 64-bit items are converted to a
   * Float64Array and must each fit a number exactly.
   */
  getNumberArray(key: string): ArrayLike<number>;
  getNumberArray<D>(key: string, fallback: D): ArrayLike<number> | D;
  getNumberArray(key: string, ...fallback: unknown[]): unknown {
    const v = this.#entry(key, fallback);
    if (v === undefined) return fallback[0];
    if (v.type !== GgufType.ARRAY || !NUMBER_TYPES.has(v.value.itemType)) throw wrongType(key, v, 'an array of numbers');
    const items = v.value.items;
    if (!(items instanceof BigInt64Array || items instanceof BigUint64Array)) return items as ArrayLike<number>;
    const out = new Float64Array(items.length);
    for (let i = 0; i < items.length; i++) {
      const n = Number(items[i]);
      if (!Number.isSafeInteger(n)) throw new KpcError('GGUF_BAD_VALUE', `item ${i} of metadata key "${key}" is beyond 2^53: read it with get()`, { key, index: i });
      out[i] = n;
    }
    return out;
  }

  /** The info of tensor `name`, or undefined. */
  findTensor(name: string): GgufTensorInfo | undefined {
    return this.#byName.get(name);
  }

  /**
   * The bytes of one tensor, read through the source (only that range is requested).
   * The tensor is looked up by name in this file, so an info from elsewhere cannot
   * direct a read; a name the file does not have is a `GGUF_BAD_TENSOR`.
   */
  async readTensor(tensor: GgufTensorInfo | string): Promise<Uint8Array> {
    const name = typeof tensor === 'string' ? tensor : tensor?.name;
    const info = this.#byName.get(name);
    if (info === undefined) throw new KpcError('GGUF_BAD_TENSOR', `the file has no tensor "${String(name)}"`, { name });
    const bytes = await this.#source.read(info.offset, info.byteLength);
    if (bytes.byteLength !== info.byteLength) {
      throw new KpcError('GGUF_SOURCE_FAILED', `short read of tensor "${info.name}": ${bytes.byteLength} of ${info.byteLength} bytes`, { name: info.name });
    }
    return bytes;
  }

  #entry(key: string, fallback: unknown[]): GgufValue | undefined {
    const v = this.metadata.get(key);
    if (v === undefined && fallback.length === 0) throw new KpcError('GGUF_BAD_VALUE', `metadata key "${key}" is missing`, { key });
    return v;
  }
}

function wrongType(key: string, v: GgufValue, expected: string): KpcError {
  const actual = v.type === GgufType.ARRAY ? `an array of ${ggufTypeName(v.value.itemType)}` : `a ${ggufTypeName(v.type)}`;
  return new KpcError('GGUF_BAD_VALUE', `metadata key "${key}" is ${actual}, expected ${expected}`, { key, type: v.type });
}
