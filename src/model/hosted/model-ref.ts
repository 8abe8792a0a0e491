/**
 * A model reference: what a cluster agrees on (through consensus) so that every node
 * fetches the same bytes — the file's URLs and size, the SHA-256 of its header (the
 * model id) and, when the host publishes one, the manifest's URL and SHA-256 (which
 * pins every tensor's hash).
 */
import { KpcError } from '../../errors.js';

/** What the cluster agrees on to run a hosted GGUF model. */
export interface ModelRef {
  /** Where the GGUF is: mirrors of the same bytes, tried in order. */
  readonly urls: readonly string[];
  /** Bytes in the file. */
  readonly size: number;
  /** SHA-256 of the header bytes, hex: the model id. */
  readonly modelId: string;
  /** The manifest listing every tensor's SHA-256; absent for an unverified model. */
  readonly manifest?: { readonly url: string; readonly sha256: string };
  /** Display name. */
  readonly name?: string;
}

/** Most URLs one reference may list. */
export const MAX_REF_URLS = 8;
/** Longest URL accepted. */
export const MAX_URL_LENGTH = 2048;

const HEX64 = /^[0-9a-f]{64}$/;

function bad(message: string): KpcError {
  return new KpcError('MODEL_BAD_MANIFEST', `model reference: ${message}`);
}

function checkUrl(u: unknown): string {
  if (typeof u !== 'string' || u.length === 0 || u.length > MAX_URL_LENGTH) throw bad(`a URL must be a string of 1–${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    // Relative URLs are fine between tabs of one site; they resolve against any http(s) base.
    parsed = new URL(u, 'https://kpc.invalid/');
  } catch {
    throw bad(`"${u.slice(0, 80)}" is not a URL`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw bad(`only http(s) URLs are fetched, not ${parsed.protocol}`);
  return u;
}

/**
 * Checks a reference received from anywhere (a proposal, an attribute, storage).
 * @throws KpcError `MODEL_BAD_MANIFEST`
 */
export function checkModelRef(value: unknown): ModelRef {
  const o = value as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw bad('must be an object');
  if (!Array.isArray(o.urls) || o.urls.length === 0 || o.urls.length > MAX_REF_URLS) throw bad(`urls must list 1–${MAX_REF_URLS} URLs`);
  const urls = o.urls.map(checkUrl);
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size <= 0) throw bad('size must be a positive integer');
  if (typeof o.modelId !== 'string' || !HEX64.test(o.modelId)) throw bad('modelId must be 64 lowercase hex digits');
  let manifest: ModelRef['manifest'];
  if (o.manifest !== undefined) {
    const m = o.manifest as Record<string, unknown>;
    if (typeof m !== 'object' || m === null) throw bad('manifest must be {url, sha256}');
    if (typeof m.sha256 !== 'string' || !HEX64.test(m.sha256)) throw bad('manifest.sha256 must be 64 lowercase hex digits');
    manifest = { url: checkUrl(m.url), sha256: m.sha256 };
  }
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name.length > 256)) throw bad('name must be a string of at most 256 characters');
  return {
    urls, size: o.size, modelId: o.modelId,
    ...(manifest ? { manifest } : {}),
    ...(typeof o.name === 'string' ? { name: o.name } : {}),
  };
}

/** True when `value` looks like a model reference (has `urls` and `modelId`), checked or not. */
export function isModelRefLike(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'urls' in value && 'modelId' in value;
}
