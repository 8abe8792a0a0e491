/**
 * Quantized-tensor kernels for running GGUF models like llama.cpp: f16/bf16
 * conversion, dequantization and quantization of ggml blocks (F32, F16, BF16, Q8_0,
 * Q4_0, Q4_K, Q6_K) bit for bit as llama.cpp's reference code, llama.cpp's CPU-backend
 * activation quantization, and deterministic float64 dot products / mat-mul.
 * See docs/quantization.md.
 * @packageDocumentation
 */

export {
  /** ggml's numeric tensor type ids. */
  GgmlType,
  /** The layout (block size, bytes per block) of a ggml type id. */
  ggmlTypeInfo,
  /** Types kpc computes with. */
  COMPUTE_TYPES,
  /** Bytes of a tensor of a type and element count. */
  tensorByteLength,
  type GgmlTypeName,
  type GgmlTypeInfo,
} from './types.js';

export {
  /** A ggml type by name or id. */
  type QuantType,
  /** Weights per K-quant super-block (256). */
  QK_K,
  /** Weights per Q8_0 / Q4_0 block (32). */
  QK8_0,
} from './common.js';

export {
  /** f16 bits of a float32 bit pattern (round to nearest even). */
  f32BitsToF16Bits,
  /** float32 bits of an f16 bit pattern (exact). */
  f16BitsToF32Bits,
  /** bf16 bits of a float32 bit pattern (ggml rounding). */
  f32BitsToBf16Bits,
  /** float32 bits of a bf16 bit pattern (exact). */
  bf16BitsToF32Bits,
  /** f16 bits of a number (rounded to float32 first). */
  f32ToF16,
  /** The value of f16 bits. */
  f16ToF32,
  /** bf16 bits of a number (rounded to float32 first). */
  f32ToBf16,
  /** The value of bf16 bits. */
  bf16ToF32,
  /** A number rounded to float32 then f16. */
  roundToF16,
  /** A number rounded to float32 then bf16. */
  roundToBf16,
  /** Bits of a number rounded to float32. */
  f32Bits,
  /** The float32 with the given bits. */
  f32FromBits,
} from './half.js';

export {
  /** ggml blocks → float32, bit for bit as llama.cpp's `dequantize_row_*`. */
  dequantizeRow,
} from './dequantize.js';

export {
  /** float32 → ggml blocks, byte for byte as llama.cpp's reference quantizers. */
  quantizeRow,
  /** {@link quantizeRow} into a caller's buffer. */
  quantizeRowInto,
  /** A whole row-major matrix, row by row, in one buffer. */
  quantizeMatrix,
  /** Types quantizeRow writes. */
  QUANTIZE_TYPES,
} from './quantize.js';

export {
  /** Allocates activation rows in a vec_dot format. */
  createActivationRows,
  /** float activations → a weight type's vec_dot format, as llama.cpp's x86 CPU backend. */
  quantizeActivations,
  /** Values per scale of a vec_dot format. */
  activationBlockSize,
  type ActivationRows,
  type VecDotType,
} from './activations.js';

export {
  /** out = W · x for n activation rows (the forward pass's entry point). */
  quantMatMul,
  /** One weight row · one activation row. */
  quantDot,
  /** The vec_dot format of a weight type. */
  vecDotType,
  type QuantMatrix,
} from './matmul.js';
