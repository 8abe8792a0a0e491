/**
 * Quantizing a GGUF file, as `kpc-model quantize` does: which type each tensor gets
 * (llama.cpp's llama-quantize rules for the llama architecture, without an importance
 * matrix), then each row quantized by src/quant's reference quantizers. The result is a
 * GGUF that llama.cpp and kpc read alike.
 */
import { KpcError } from '../errors.js';
import type { GgufFile, GgufTensorInfo } from '../gguf/file.js';
import { GgufType, ggufValue, type GgufValue } from '../gguf/values.js';
import type { GgufTensorSpec } from '../gguf/writer.js';
import { dequantizeRow, quantizeRowInto } from '../quant/index.js';
import { GgmlType, ggmlTypeInfo, type GgmlTypeName } from '../quant/types.js';
import { OUTPUT, TOKEN_EMBD } from './tensor-names.js';

/** The file types `kpc-model quantize` writes, by llama.cpp's names. */
export type FileType = 'F32' | 'F16' | 'BF16' | 'Q8_0' | 'Q4_0' | 'Q4_K_M';

/** `general.file_type` values (llama.cpp's `enum llama_ftype`). */
export const FILE_TYPE_IDS: Readonly<Record<FileType, number>> = Object.freeze({ F32: 0, F16: 1, Q4_0: 2, Q8_0: 7, Q4_K_M: 15, BF16: 32 });

/** llama.cpp's choice of which attn_v / ffn_down layers get more bits in Q4_K_M. */
function useMoreBits(i: number, n: number): boolean {
  return i < n / 8 || i >= (7 * n) / 8 || (i - n / 8) % 3 === 2;
}

/**
 * The type tensor `t` gets in a file of type `ftype`. One-dimensional tensors (norms)
 * stay F32. The output matrix — or the embedding when it doubles as the output — gets
 * Q6_K in the 4-bit files, as llama-quantize gives it; K-quant rows must be a whole
 * number of 256-weight blocks, and a tensor whose rows are not falls back to Q8_0.
 */
export function tensorTypeFor(t: GgufTensorInfo, ftype: FileType, layers: number, tiedOutput: boolean): GgmlTypeName {
  if (t.dims.length < 2) return 'F32';
  if (ftype === 'F32' || ftype === 'F16' || ftype === 'BF16' || ftype === 'Q8_0') return ftype;
  const isOutput = t.name === OUTPUT || (tiedOutput && t.name === TOKEN_EMBD);
  const kOk = t.dims[0] % 256 === 0;
  let type: GgmlTypeName;
  if (isOutput) type = 'Q6_K';
  else if (ftype === 'Q4_0') type = 'Q4_0';
  else {
    const m = /^blk\.(\d+)\.(attn_v|ffn_down)\.weight$/.exec(t.name);
    type = m && useMoreBits(Number(m[1]), layers) ? 'Q6_K' : 'Q4_K';
  }
  return (type === 'Q6_K' || type === 'Q4_K') && !kOk ? 'Q8_0' : type;
}

/** What {@link quantizeModel} reports per tensor. */
export interface QuantizedTensorReport {
  readonly name: string;
  readonly from: GgmlTypeName;
  readonly to: GgmlTypeName;
  readonly bytes: number;
}

/**
 * The tensors and metadata of `file` quantized to `ftype`: metadata is copied with
 * `general.file_type` (and `general.quantization_version` for quantized files) set.
 * Tensors are read one at a time through the file's source.
 */
export async function quantizeModel(
  file: GgufFile,
  ftype: FileType,
  onTensor?: (report: QuantizedTensorReport) => void,
): Promise<{ metadata: [string, GgufValue][]; tensors: GgufTensorSpec[] }> {
  if (!Object.hasOwn(FILE_TYPE_IDS, ftype)) throw new KpcError('INFER_BAD_INPUT', `unknown file type ${String(ftype)} (${Object.keys(FILE_TYPE_IDS).join(', ')})`);
  const layers = file.getInteger('llama.block_count', 0);
  const tied = !file.findTensor(OUTPUT);
  const metadata: [string, GgufValue][] = [];
  for (const [k, v] of file.metadata) {
    if (k === 'general.file_type' || k === 'general.quantization_version') continue;
    metadata.push([k, v]);
  }
  metadata.push(['general.file_type', ggufValue.u32(FILE_TYPE_IDS[ftype])]);
  if (ftype !== 'F32' && ftype !== 'F16' && ftype !== 'BF16') metadata.push(['general.quantization_version', { type: GgufType.UINT32, value: 2 }]);
  const tensors: GgufTensorSpec[] = [];
  for (const t of file.tensors) {
    const to = tensorTypeFor(t, ftype, layers, tied);
    const src = await file.readTensor(t);
    let data: Uint8Array;
    if (to === t.typeName) data = new Uint8Array(src);
    else {
      const cols = t.dims[0];
      const rows = t.elements / cols;
      const srcRow = src.byteLength / rows;
      const info = ggmlTypeInfo(GgmlType[to])!;
      const dstRow = (cols / info.blockSize) * info.typeSize;
      data = new Uint8Array(rows * dstRow);
      const row = new Float32Array(cols);
      for (let r = 0; r < rows; r++) {
        dequantizeRow(t.type, src, r * srcRow, cols, row, 0);
        quantizeRowInto(to, row, 0, cols, data, r * dstRow);
      }
    }
    tensors.push({ name: t.name, dims: t.dims, type: to, data });
    onTensor?.({ name: t.name, from: t.typeName, to, bytes: data.byteLength });
  }
  return { metadata, tensors };
}
