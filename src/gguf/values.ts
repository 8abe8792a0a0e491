/**
 * GGUF metadata values: the 13 value types of the format, the in-memory form of a value
 * (which keeps its GGUF type, so a file can be rewritten with the same bytes), and
 * small constructors for writing.
 *
 * In-memory forms, by type:
 * - uint8 … int32, float32, float64: `number`; bool: `boolean`; string: `string`.
 * - uint64 / int64 scalars: `number` when it is a safe integer (|v| ≤ 2^53 − 1), else `bigint`.
 * - arrays: {@link GgufArray} `{ itemType, items }`. The reader gives numeric items as
 *   typed arrays (uint8 → Uint8Array, …, float32 → Float32Array, float64 → Float64Array,
 *   uint64 → BigUint64Array, int64 → BigInt64Array), bools as `boolean[]`, strings as
 *   `string[]`, and nested arrays as `GgufArray[]`. The writer also takes plain arrays.
 */

/** GGUF metadata value type ids (`enum gguf_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** One of the {@link GgufType} ids. */
export type GgufTypeId = (typeof GgufType)[keyof typeof GgufType];

/** Type ids whose values are plain `number`s. */
export type GgufNumberTypeId =
  | typeof GgufType.UINT8
  | typeof GgufType.INT8
  | typeof GgufType.UINT16
  | typeof GgufType.INT16
  | typeof GgufType.UINT32
  | typeof GgufType.INT32
  | typeof GgufType.FLOAT32
  | typeof GgufType.FLOAT64;

/** Type ids of 64-bit integers (`number` when safe, else `bigint`). */
export type GgufBigTypeId = typeof GgufType.UINT64 | typeof GgufType.INT64;

/** A metadata value together with its GGUF type. */
export type GgufValue =
  | { readonly type: GgufNumberTypeId; readonly value: number }
  | { readonly type: GgufBigTypeId; readonly value: number | bigint }
  | { readonly type: typeof GgufType.BOOL; readonly value: boolean }
  | { readonly type: typeof GgufType.STRING; readonly value: string }
  | { readonly type: typeof GgufType.ARRAY; readonly value: GgufArray };

/**
 * Items of an array value. The reader returns the typed array matching `itemType` (see
 * the module comment); the writer also accepts plain arrays of the right kind.
 */
export type GgufArrayItems =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigUint64Array
  | BigInt64Array
  | readonly number[]
  | readonly (number | bigint)[]
  | readonly boolean[]
  | readonly string[]
  | readonly GgufArray[];

/** An array value: the type of every item, and the items. */
export interface GgufArray {
  readonly itemType: GgufTypeId;
  readonly items: GgufArrayItems;
}

const NAMES: readonly string[] = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'bool', 'string', 'array', 'uint64', 'int64', 'float64'];

/** Lower-case name of a value type (`'uint32'`), or `'type <id>'` for an unknown id. */
export function ggufTypeName(type: number): string {
  return NAMES[type] ?? `type ${type}`;
}

/** True when `type` is one of the 13 value types. */
export function isGgufType(type: number): type is GgufTypeId {
  return Number.isInteger(type) && type >= 0 && type < NAMES.length;
}

/** Bytes of one fixed-size value of `type`; 0 for string and array (variable size). */
export function ggufFixedSize(type: GgufTypeId): number {
  return FIXED_SIZE[type];
}

const FIXED_SIZE: Record<GgufTypeId, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 0, 9: 0, 10: 8, 11: 8, 12: 8 };

/** Constructors of typed values, for writing: `ggufValue.u32(7)`, `ggufValue.array(GgufType.STRING, ['a'])`. */
export const ggufValue = {
  /** A uint8 value. */
  u8: (value: number): GgufValue => ({ type: GgufType.UINT8, value }),
  /** An int8 value. */
  i8: (value: number): GgufValue => ({ type: GgufType.INT8, value }),
  /** A uint16 value. */
  u16: (value: number): GgufValue => ({ type: GgufType.UINT16, value }),
  /** An int16 value. */
  i16: (value: number): GgufValue => ({ type: GgufType.INT16, value }),
  /** A uint32 value. */
  u32: (value: number): GgufValue => ({ type: GgufType.UINT32, value }),
  /** An int32 value. */
  i32: (value: number): GgufValue => ({ type: GgufType.INT32, value }),
  /** A float32 value (rounded to float32 when written). */
  f32: (value: number): GgufValue => ({ type: GgufType.FLOAT32, value }),
  /** A float64 value. */
  f64: (value: number): GgufValue => ({ type: GgufType.FLOAT64, value }),
  /** A uint64 value. */
  u64: (value: number | bigint): GgufValue => ({ type: GgufType.UINT64, value }),
  /** An int64 value. */
  i64: (value: number | bigint): GgufValue => ({ type: GgufType.INT64, value }),
  /** A bool value. */
  bool: (value: boolean): GgufValue => ({ type: GgufType.BOOL, value }),
  /** A UTF-8 string value. */
  string: (value: string): GgufValue => ({ type: GgufType.STRING, value }),
  /** An array value whose items all have type `itemType`. */
  array: (itemType: GgufTypeId, items: GgufArrayItems): GgufValue => ({ type: GgufType.ARRAY, value: { itemType, items } }),
};

/** A uint64/int64 as the reader returns it: a number when exact, else a bigint. */
export function bigToValue(v: bigint): number | bigint {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}
