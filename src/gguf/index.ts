/**
 * GGUF files (llama.cpp's model format): a reader that needs only byte ranges (memory,
 * a Blob/File, or an HTTP host with Range support) and checks every length before it
 * allocates, and a writer whose files llama.cpp loads. See docs/gguf.md.
 *
 * Depends only on the shared errors and the ggml type table (src/quant/types.ts).
 * @packageDocumentation
 */

export {
  /** Reads a GGUF header through a source (or bytes, or a Blob) and checks its layout. */
  readGguf,
  /** Options of `readGguf`: any of the limits, and the size of the first read. */
  type GgufReadOptions,
  /** `'GGUF'` as bytes: the first four of every file. */
  GGUF_MAGIC,
  /** The alignment of a file without `general.alignment` (32). */
  GGUF_DEFAULT_ALIGNMENT,
  /** Most dimensions a tensor may have (4). */
  GGUF_MAX_DIMS,
} from './reader.js';
export {
  /** The limits the reader enforces by default. */
  DEFAULT_GGUF_LIMITS,
  /** Bounds on header size, counts, lengths and nesting. */
  type GgufLimits,
} from './cursor.js';
export {
  /** A parsed header: version, typed metadata getters, tensor infos, `readTensor`. */
  GgufFile,
  /** Name, dims (ne0 first), type, absolute offset and byte length of one tensor. */
  type GgufTensorInfo,
  /** What `GgufFile`'s constructor takes (built by `readGguf`). */
  type GgufFileParts,
} from './file.js';
export {
  /** Writes a whole GGUF file into one buffer. */
  writeGguf,
  /** Writes a GGUF file as parts (header, then each tensor and its padding) to stream out. */
  writeGgufChunks,
  /** Longest tensor name llama.cpp loads (63 UTF-8 bytes). */
  GGUF_MAX_TENSOR_NAME_BYTES,
  /** A tensor to write: name, dims, ggml type, bytes. */
  type GgufTensorSpec,
  /** Version, alignment, metadata entries and tensors to write. */
  type GgufWriteSpec,
} from './writer.js';
export {
  /** The 13 metadata value type ids. */
  GgufType,
  /** Constructors of typed values: `ggufValue.u32(7)`, `ggufValue.array(GgufType.STRING, [...])`. */
  ggufValue,
  /** Name of a value type id (`'uint32'`). */
  ggufTypeName,
  /** True for a known value type id. */
  isGgufType,
  /** A metadata value with its type. */
  type GgufValue,
  /** An array value: item type and items. */
  type GgufArray,
  /** The items of an array value (typed arrays, or plain arrays). */
  type GgufArrayItems,
  /** One of the value type ids. */
  type GgufTypeId,
  /** Value type ids whose values are numbers. */
  type GgufNumberTypeId,
  /** The 64-bit integer type ids (number when safe, else bigint). */
  type GgufBigTypeId,
} from './values.js';
export {
  /** A file in memory (reads are views). */
  BufferSource,
  /** A Blob or File, read by slices. */
  BlobSource,
  /** A source for bytes, a Blob, or a source. */
  toByteSource,
  /** Random access to a file's bytes: `size` and `read(offset, length)`. */
  type ByteSource,
  /** What `toByteSource` accepts. */
  type ByteSourceInput,
  /** Options common to every source (progress). */
  type SourceOptions,
  /** Progress: bytes read so far, and the size when known. */
  type ProgressCallback,
} from './source.js';
export {
  /** A file behind HTTP(S), read with Range requests. */
  HttpSource,
  /** Options of `HttpSource`: fetch, headers, signal, progress. */
  type HttpSourceOptions,
} from './http.js';
