/**
 * A byte-range source over a local file (Node), so a CLI reads a multi-gigabyte GGUF
 * one tensor at a time instead of loading it whole.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { KpcError } from '../src/errors.js';
import type { ByteSource } from '../src/gguf/source.js';

/** Random access to a file through one open handle. Call {@link NodeFileSource.close} when done. */
export class NodeFileSource implements ByteSource {
  /** Bytes in the file. */
  readonly size: number;
  readonly #handle: FileHandle;

  private constructor(handle: FileHandle, size: number) {
    this.#handle = handle;
    this.size = size;
  }

  /** Opens `path` for reading. */
  static async open(path: string): Promise<NodeFileSource> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new KpcError('GGUF_SOURCE_FAILED', `cannot open ${path}: ${(err as Error).message}`, { path });
    }
    const { size } = await handle.stat();
    return new NodeFileSource(handle, size);
  }

  /** The bytes [offset, offset + length), fewer where the file ends first. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    const end = Math.min(this.size, offset + length);
    if (offset > this.size) throw new KpcError('GGUF_SOURCE_FAILED', `read at byte ${offset} is past the end of the file`, { offset });
    const out = new Uint8Array(end - offset);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await this.#handle.read(out, done, out.length - done, offset + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === out.length ? out : out.subarray(0, done);
  }

  /** Closes the file. */
  close(): Promise<void> {
    return this.#handle.close();
  }
}
