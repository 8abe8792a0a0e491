/**
 * The model manifest: a small JSON file beside a GGUF that lists the SHA-256 of its
 * header and of every tensor's bytes, so a node that fetches one tensor by `Range`
 * can check exactly those bytes before it runs on them, whatever host served them.
 *
 * ```json
 * { "format": "kpc-model-manifest", "version": 1, "size": 3967136,
 *   "header": { "length": 2208, "sha256": "…" },
 *   "tensors": [ { "name": "token_embd.weight", "offset": 2240, "length": 557056, "sha256": "…" }, … ] }
 * ```
 *
 * Offsets are absolute (from the start of the file). The header hash is the model id
 * (decision D21). A cluster agrees on a manifest by its own SHA-256 (of the bytes as
 * served), so one agreed reference pins every tensor of the file.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8Decode, utf8Encode } from '../../crypto/bytes.js';
import { KpcError } from '../../errors.js';
import type { GgufFile } from '../../gguf/file.js';
import { readGguf } from '../../gguf/reader.js';
import { toByteSource, type ByteSourceInput } from '../../gguf/source.js';

/** `format` of a manifest. */
export const MANIFEST_FORMAT = 'kpc-model-manifest';
/** Largest manifest accepted, bytes (a 1000-tensor model's is ~150 KB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Most tensors a manifest may list. */
export const MAX_MANIFEST_TENSORS = 65536;

/** One tensor's place in the file and the hash of its bytes. */
export interface ManifestTensor {
  readonly name: string;
  /** Absolute byte offset in the file. */
  readonly offset: number;
  /** Bytes. */
  readonly length: number;
  /** SHA-256 of the bytes, lowercase hex. */
  readonly sha256: string;
}

/** A GGUF file's manifest (see the module comment). */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: 1;
  /** Bytes in the file. */
  readonly size: number;
  /** The header: bytes [0, length) and their SHA-256 (the model id). */
  readonly header: { readonly length: number; readonly sha256: string };
  /** Every tensor, in file order. */
  readonly tensors: readonly ManifestTensor[];
}

/** SHA-256 of bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}

/**
 * Builds the manifest of a GGUF file by reading it once, tensor by tensor (never whole).
 * @param input - the file: bytes, a Blob/File (Node: `fs.openAsBlob`), or a ByteSource
 * @param onTensor - called after each tensor is hashed (progress)
 */
export async function buildManifest(input: ByteSourceInput, onTensor?: (done: number, total: number) => void): Promise<ModelManifest> {
  const source = toByteSource(input);
  const file = await readGguf(source);
  const header = await source.read(0, file.headerByteLength);
  const tensors: ManifestTensor[] = [];
  for (const t of file.tensors) {
    tensors.push({ name: t.name, offset: t.offset, length: t.byteLength, sha256: sha256Hex(await file.readTensor(t)) });
    onTensor?.(tensors.length, file.tensors.length);
  }
  tensors.sort((a, b) => a.offset - b.offset);
  return { format: MANIFEST_FORMAT, version: 1, size: file.size, header: { length: file.headerByteLength, sha256: sha256Hex(header) }, tensors };
}

/** The manifest as the file kpc writes (one tensor per line, so diffs and eyes can read it). */
export function encodeManifest(m: ModelManifest): string {
  const head = JSON.stringify({ format: m.format, version: m.version, size: m.size, header: m.header });
  const lines = m.tensors.map((t) => '    ' + JSON.stringify({ name: t.name, offset: t.offset, length: t.length, sha256: t.sha256 }));
  return `${head.slice(0, -1)},\n  "tensors": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

function bad(message: string, detail?: Record<string, unknown>): KpcError {
  return new KpcError('MODEL_BAD_MANIFEST', message, detail);
}

const HEX64 = /^[0-9a-f]{64}$/;

function count(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${field} must be a non-negative integer`, { field });
  return v;
}

function hash(v: unknown, field: string): string {
  if (typeof v !== 'string' || !HEX64.test(v)) throw bad(`${field} must be 64 lowercase hex digits`, { field });
  return v;
}

/**
 * Parses and checks a manifest: shape, hex, sizes, and tensors sorted by offset,
 * non-overlapping, after the header and within the file. Anything else is
 * KpcError `MODEL_BAD_MANIFEST`; nothing from the network is trusted further.
 */
export function parseManifest(input: string | Uint8Array): ModelManifest {
  const bytes = typeof input === 'string' ? utf8Encode(input) : input;
  if (bytes.length > MAX_MANIFEST_BYTES) throw bad(`the manifest is ${bytes.length} bytes; at most ${MAX_MANIFEST_BYTES} are read`);
  let raw: unknown;
  try {
    raw = JSON.parse(typeof input === 'string' ? input : utf8Decode(bytes));
  } catch {
    throw bad('the manifest is not JSON');
  }
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== MANIFEST_FORMAT) throw bad(`not a ${MANIFEST_FORMAT} file`);
  if (o.version !== 1) throw bad(`manifest version ${String(o.version)} is not supported (1 is)`);
  const size = count(o.size, 'size');
  const h = o.header as Record<string, unknown>;
  if (typeof h !== 'object' || h === null) throw bad('header must be an object');
  const header = { length: count(h.length, 'header.length'), sha256: hash(h.sha256, 'header.sha256') };
  if (header.length > size) throw bad('the header is longer than the file');
  if (!Array.isArray(o.tensors) || o.tensors.length > MAX_MANIFEST_TENSORS) throw bad(`tensors must be an array of at most ${MAX_MANIFEST_TENSORS}`);
  const tensors: ManifestTensor[] = [];
  let end = header.length;
  for (const [i, v] of (o.tensors as unknown[]).entries()) {
    const t = v as Record<string, unknown>;
    if (typeof t !== 'object' || t === null || typeof t.name !== 'string' || t.name.length === 0 || t.name.length > 256) {
      throw bad(`tensors[${i}] needs a name of 1–256 characters`, { index: i });
    }
    const offset = count(t.offset, `tensors[${i}].offset`);
    const length = count(t.length, `tensors[${i}].length`);
    if (offset < end || offset + length > size) throw bad(`tensor "${t.name}" overlaps another, the header, or the end of the file`, { index: i });
    end = offset + length;
    tensors.push({ name: t.name, offset, length, sha256: hash(t.sha256, `tensors[${i}].sha256`) });
  }
  return { format: MANIFEST_FORMAT, version: 1, size, header, tensors };
}

/**
 * Checks that a manifest describes this file: same size, header length and tensors
 * (names, offsets, lengths). The hashes are checked as bytes arrive.
 * @throws KpcError `MODEL_BAD_MANIFEST` naming the first difference
 */
export function checkManifestMatches(m: ModelManifest, file: GgufFile): void {
  if (m.size !== file.size) throw bad(`the manifest is for a ${m.size}-byte file; this one has ${file.size} bytes`);
  if (m.header.length !== file.headerByteLength) throw bad(`the manifest's header is ${m.header.length} bytes; this file's is ${file.headerByteLength}`);
  if (m.tensors.length !== file.tensors.length) throw bad(`the manifest lists ${m.tensors.length} tensors; the file has ${file.tensors.length}`);
  const byName = new Map(m.tensors.map((t) => [t.name, t]));
  for (const t of file.tensors) {
    const e = byName.get(t.name);
    if (!e || e.offset !== t.offset || e.length !== t.byteLength) throw bad(`tensor "${t.name}" is not where the manifest says`, { name: t.name });
  }
}

/**
 * Where a model's manifest is by convention: the GGUF's URL with `.manifest.json`
 * appended to its path (query and fragment kept), e.g.
 * `https://host/m.gguf?download=1` → `https://host/m.gguf.manifest.json?download=1`.
 */
export function manifestUrlFor(modelUrl: string): string {
  const cut = modelUrl.search(/[?#]/);
  return cut < 0 ? `${modelUrl}.manifest.json` : `${modelUrl.slice(0, cut)}.manifest.json${modelUrl.slice(cut)}`;
}
