/**
 * Byte-range sources: where a GGUF file's bytes come from. The reader asks for the header
 * in a few growing reads and for one tensor at a time, so a file behind HTTP or in a
 * user-picked `File` is never loaded whole. An HTTP host is in ./http.ts.
 */
import { KpcError } from '../errors.js';

/** Called after each read with the bytes read so far through the source, and its size when known. */
export type ProgressCallback = (bytesRead: number, size: number | undefined) => void;

/** Random access to the bytes of one file. */
export interface ByteSource {
  /** Total bytes; `undefined` until known (an {@link HttpSource} learns it from its first response). */
  readonly size: number | undefined;
  /**
   * The bytes `[offset, offset + length)`, fewer only where the file ends first (so
   * `offset + length` may pass the end of a source whose size is not known yet).
   * Rejects with `GGUF_SOURCE_FAILED` when the bytes cannot be had. The result may share
   * memory with the source (a {@link BufferSource}): do not write to it.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** Options common to every source. */
export interface SourceOptions {
  /** Progress: bytes read so far through this source. */
  onProgress?: ProgressCallback;
}

/** Refuses an offset or length that is not a non-negative safe integer (a caller bug, not a bad file). */
export function checkReadArgs(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new KpcError('GGUF_SOURCE_FAILED', `invalid read range: offset ${offset}, length ${length}`, { offset, length });
  }
}

/** The end of a read of `length` at `offset` in a source of `size` bytes; refuses a start past the end. */
export function clampedEnd(offset: number, length: number, size: number): number {
  if (offset > size) {
    throw new KpcError('GGUF_SOURCE_FAILED', `read at byte ${offset} is past the end of a ${size}-byte source`, { offset, size });
  }
  return Math.min(size, offset + length);
}

/** Counts bytes read and reports them to an optional callback. */
export class ProgressCounter {
  /** Bytes read so far. */
  bytesRead = 0;
  readonly #onProgress?: ProgressCallback;

  constructor(onProgress?: ProgressCallback) {
    this.#onProgress = onProgress;
  }

  /** Records `n` more bytes read from a source of `size` bytes. */
  add(n: number, size: number | undefined): void {
    this.bytesRead += n;
    this.#onProgress?.(this.bytesRead, size);
  }
}

/** A file already in memory. Reads are views into it, not copies. */
export class BufferSource implements ByteSource {
  /** The whole file. */
  readonly bytes: Uint8Array;
  readonly #progress: ProgressCounter;

  constructor(bytes: Uint8Array | ArrayBuffer, options: SourceOptions = {}) {
    this.bytes = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
    this.#progress = new ProgressCounter(options.onProgress);
  }

  /** Bytes in the buffer. */
  get size(): number {
    return this.bytes.byteLength;
  }

  /** The bytes `[offset, offset + length)` (fewer at the end), as a view into the buffer. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArgs(offset, length);
    const out = this.bytes.subarray(offset, clampedEnd(offset, length, this.size));
    this.#progress.add(out.byteLength, this.size);
    return out;
  }
}

/**
 * A `Blob` or `File` (e.g. from `<input type="file">`, or Node's `fs.openAsBlob(path)`):
 * each read slices the blob, so only the requested bytes are loaded.
 */
export class BlobSource implements ByteSource {
  readonly #blob: Blob;
  readonly #progress: ProgressCounter;

  constructor(blob: Blob, options: SourceOptions = {}) {
    this.#blob = blob;
    this.#progress = new ProgressCounter(options.onProgress);
  }

  /** Bytes in the blob. */
  get size(): number {
    return this.#blob.size;
  }

  /** The bytes `[offset, offset + length)` (fewer at the end). */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadArgs(offset, length);
    const end = clampedEnd(offset, length, this.size);
    let out: Uint8Array;
    try {
      out = new Uint8Array(await this.#blob.slice(offset, end).arrayBuffer());
    } catch (err) {
      // A File that changed or vanished on disk after it was picked fails here (NotReadableError).
      throw new KpcError('GGUF_SOURCE_FAILED', `reading bytes ${offset}..${end} of the blob failed: ${describe(err)}`, { offset, end });
    }
    if (out.byteLength !== end - offset) {
      throw new KpcError('GGUF_SOURCE_FAILED', `short read from the blob: ${out.byteLength} of ${end - offset} bytes at ${offset}`, { offset, end });
    }
    this.#progress.add(out.byteLength, this.size);
    return out;
  }
}

/** Anything {@link toByteSource} turns into a source. */
export type ByteSourceInput = ByteSource | Uint8Array | ArrayBuffer | Blob;

/** A source for `input`: sources pass through; bytes become a {@link BufferSource}, blobs a {@link BlobSource}. */
export function toByteSource(input: ByteSourceInput): ByteSource {
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) return new BufferSource(input);
  if (typeof Blob !== 'undefined' && input instanceof Blob) return new BlobSource(input);
  if (typeof input === 'object' && input !== null && typeof (input as ByteSource).read === 'function') return input as ByteSource;
  throw new KpcError('GGUF_SOURCE_FAILED', 'not a byte source: expected a ByteSource, Uint8Array, ArrayBuffer or Blob');
}

/** A short description of a caught value, for messages. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
