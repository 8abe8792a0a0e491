/**
 * A local GGUF file as a byte-range source: Node's file-backed Blob (`fs.openAsBlob`)
 * read through src/gguf's BlobSource, so a multi-gigabyte file is read one tensor at a
 * time, never whole.
 */
import { openAsBlob, statSync } from 'node:fs';
import { KpcError } from '../src/errors.js';
import { BlobSource } from '../src/gguf/source.js';

/** Opens `path`; a missing or unreadable file is `GGUF_SOURCE_FAILED` naming it. */
export async function openFileSource(path: string): Promise<BlobSource> {
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    return new BlobSource(await openAsBlob(path));
  } catch (err) {
    throw new KpcError('GGUF_SOURCE_FAILED', `cannot open ${path}: ${(err as Error).message}`, { path });
  }
}
