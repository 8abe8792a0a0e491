/**
 * The ggml tensor types a GGUF file can name: id, block size (weights per block) and
 * bytes per block, as llama.cpp's ggml defines them. The reader needs every type's size
 * to lay a file out (and to name an unknown one in its error); which types kpc can
 * compute with is a separate question ({@link COMPUTE_TYPES}).
 */

/** ggml's numeric tensor type ids (`enum ggml_type`). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;

/** Name of a ggml type, e.g. `'Q4_K'`. */
export type GgmlTypeName = keyof typeof GgmlType;

/** Layout of one ggml type. */
export interface GgmlTypeInfo {
  readonly id: number;
  readonly name: GgmlTypeName;
  /** Weights per block (1 for plain number types). */
  readonly blockSize: number;
  /** Bytes per block. */
  readonly typeSize: number;
}

const LAYOUT: Record<GgmlTypeName, readonly [blockSize: number, typeSize: number]> = {
  F32: [1, 4],
  F16: [1, 2],
  Q4_0: [32, 18],
  Q4_1: [32, 20],
  Q5_0: [32, 22],
  Q5_1: [32, 24],
  Q8_0: [32, 34],
  Q8_1: [32, 36],
  Q2_K: [256, 84],
  Q3_K: [256, 110],
  Q4_K: [256, 144],
  Q5_K: [256, 176],
  Q6_K: [256, 210],
  Q8_K: [256, 292],
  IQ2_XXS: [256, 66],
  IQ2_XS: [256, 74],
  IQ3_XXS: [256, 98],
  IQ1_S: [256, 50],
  IQ4_NL: [32, 18],
  IQ3_S: [256, 110],
  IQ2_S: [256, 82],
  IQ4_XS: [256, 136],
  I8: [1, 1],
  I16: [1, 2],
  I32: [1, 4],
  I64: [1, 8],
  F64: [1, 8],
  IQ1_M: [256, 56],
  BF16: [1, 2],
  TQ1_0: [256, 54],
  TQ2_0: [256, 66],
  MXFP4: [32, 17],
};

const BY_ID = new Map<number, GgmlTypeInfo>(
  (Object.keys(GgmlType) as GgmlTypeName[]).map((name) => {
    const [blockSize, typeSize] = LAYOUT[name];
    return [GgmlType[name], Object.freeze({ id: GgmlType[name], name, blockSize, typeSize })];
  }),
);

/** The layout of type `id`, or undefined for an id ggml does not define. */
export function ggmlTypeInfo(id: number): GgmlTypeInfo | undefined {
  return BY_ID.get(id);
}

/** Types kpc dequantizes and multiplies (a model with any other type is refused by name). */
export const COMPUTE_TYPES: readonly GgmlTypeName[] = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K'];

/**
 * Bytes of a row-major tensor of `elements` weights of type `info`, or undefined when
 * `elements` is not a whole number of blocks.
 */
export function tensorByteLength(info: GgmlTypeInfo, elements: number): number | undefined {
  if (elements % info.blockSize !== 0) return undefined;
  return (elements / info.blockSize) * info.typeSize;
}
