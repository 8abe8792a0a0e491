/**
 * Canonical JSON: one byte string per value, so signed and hashed JSON is stable.
 *
 * Object keys are sorted by UTF-16 code units (JavaScript's default sort), strings
 * and numbers are written exactly as `JSON.stringify` writes them (both are fully
 * specified by ECMAScript, so every engine agrees), and there is no whitespace. For
 * the values accepted here this matches RFC 8785 (JCS).
 *
 * Values JSON cannot carry faithfully are rejected rather than dropped or coerced,
 * because a silent change between what the caller meant and what was signed is the
 * kind of bug a signature cannot catch: `undefined`, functions, symbols, bigints,
 * NaN and ±Infinity, class instances (Date, Map, typed arrays…), and nesting deeper
 * than {@link MAX_JSON_DEPTH} (which also catches cycles).
 */
import { utf8Decode, utf8Encode } from '../crypto/bytes.js';
import { KpcError } from '../errors.js';

/** Deepest nesting of arrays/objects accepted. Message bodies need 4 or so. */
export const MAX_JSON_DEPTH = 32;

/** A value canonical JSON can carry. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

function bad(message: string, path: string): KpcError {
  return new KpcError('PROTO_BAD_BODY', `${message} at ${path || '(root)'}`, { path });
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function write(value: unknown, depth: number, path: string): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw bad('non-finite number', path);
      return JSON.stringify(value); // -0 becomes "0", as in JCS
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_JSON_DEPTH) throw bad('nesting too deep (or cyclic)', path);
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (let i = 0; i < value.length; i++) {
          // `i in value` is false for holes, which JSON.stringify would turn into null.
          if (!(i in value)) throw bad('sparse array', `${path}[${i}]`);
          parts.push(write(value[i], depth + 1, `${path}[${i}]`));
        }
        return `[${parts.join(',')}]`;
      }
      if (!isPlainObject(value)) throw bad('not a plain object', path);
      if (Object.getOwnPropertySymbols(value).length > 0) throw bad('symbol key', path);
      const keys = Object.keys(value).sort();
      const parts: string[] = [];
      for (const k of keys) {
        parts.push(`${JSON.stringify(k)}:${write((value as Record<string, unknown>)[k], depth + 1, `${path}.${k}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      // undefined, function, symbol, bigint
      throw bad(`${typeof value} is not JSON`, path);
  }
}

/**
 * The canonical JSON text of `value`.
 * @throws KpcError `PROTO_BAD_BODY` if `value` is not faithfully representable.
 */
export function canonicalJson(value: unknown): string {
  try {
    return write(value, 0, '');
  } catch (err) {
    if (err instanceof KpcError) throw err;
    // e.g. a throwing getter or a Proxy trap: still a typed error.
    throw new KpcError('PROTO_BAD_BODY', `value cannot be serialized: ${String(err)}`);
  }
}

/** UTF-8 bytes of {@link canonicalJson}`(value)`. */
export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalJson(value));
}

/**
 * Parses UTF-8 JSON `bytes` and insists they are the canonical encoding of the
 * result, so a receiver accepts exactly one byte string per value.
 * @throws KpcError `PROTO_BAD_BODY` on malformed UTF-8, malformed JSON, or a
 * non-canonical spelling (whitespace, key order, escapes, number form, BOM).
 */
export function parseCanonicalJson(bytes: Uint8Array): JsonValue {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch (err) {
    throw new KpcError('PROTO_BAD_BODY', `body is not UTF-8 JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const again = canonicalJsonBytes(value);
  if (again.length !== bytes.length || !again.every((b, i) => b === bytes[i])) {
    throw new KpcError('PROTO_BAD_BODY', 'body JSON is not in canonical form');
  }
  return value as JsonValue;
}
