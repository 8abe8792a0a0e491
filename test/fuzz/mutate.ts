/**
 * Mutators shared by the fuzz targets: byte-level (bit flips, truncation, extension,
 * splices, length-field corruption, duplicated segments…), text-level and JSON-level.
 * Each returns the mutated value and a label naming what was done.
 */
import type { Rng } from './prng.js';

/** A length or count field of a valid sample, so corrupting it is a targeted mutation. */
export interface LengthField {
  /** Byte offset in the sample. */
  offset: number;
  /** Width in bytes, big-endian. */
  size: 1 | 2 | 4 | 8;
}

/** Options of {@link mutateBytes}. */
export interface MutateOptions {
  /** Other valid samples, for crossover splices. */
  others?: readonly Uint8Array[];
  /** Length/count fields of `bytes` (offsets valid for the unmutated sample). */
  lengthFields?: readonly LengthField[];
}

/** A mutated input and the names of the edits applied. */
export interface Mutated<T> {
  value: T;
  label: string;
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff];

function readBE(a: Uint8Array, off: number, size: number): number {
  let v = 0;
  for (let i = 0; i < size && off + i < a.length; i++) v = v * 256 + a[off + i];
  return v;
}

function writeBE(a: Uint8Array, off: number, size: number, value: number): void {
  let v = Math.max(0, Math.floor(value));
  for (let i = size - 1; i >= 0; i--) {
    if (off + i < a.length) a[off + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** Values a decoder is likely to get wrong for a field of `size` bytes currently holding `current`. */
function interestingValue(rng: Rng, size: number, current: number): number {
  const max = size >= 7 ? Number.MAX_SAFE_INTEGER : 2 ** (8 * size) - 1;
  const v = rng.pick([
    0, 1, 2, current - 1, current + 1, current + rng.range(2, 64), current * 2, Math.floor(current / 2),
    max, max - 1, 2 ** (8 * size - 1), 2 ** (8 * size - 1) - 1, rng.int(max + 1),
    size >= 7 ? 2 ** 53 : max, 65535, 65536, 0x7fffffff, 0xffffffff,
  ]);
  return Math.min(max, Math.max(0, v));
}

type ByteOp = (rng: Rng, a: Uint8Array, opts: MutateOptions) => Uint8Array;

const BYTE_OPS: Record<string, ByteOp> = {
  bitflip(rng, a) {
    if (a.length === 0) return a;
    const out = a.slice();
    for (let n = rng.range(1, 8); n > 0; n--) out[rng.int(out.length)] ^= 1 << rng.int(8);
    return out;
  },
  byte(rng, a) {
    if (a.length === 0) return a;
    const out = a.slice();
    for (let n = rng.range(1, 4); n > 0; n--) out[rng.int(out.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.int(256);
    return out;
  },
  truncate(rng, a) {
    // Biased towards the end, where signatures and trailing fields live.
    const at = rng.chance(0.5) ? Math.max(0, a.length - 1 - rng.int(80)) : rng.int(a.length + 1);
    return a.slice(0, at);
  },
  extend(rng, a) {
    const tail = rng.chance(0.3) && a.length > 0 ? a.slice(rng.int(a.length)) : rng.bytes(rng.range(1, 64));
    const out = new Uint8Array(a.length + tail.length);
    out.set(a);
    out.set(tail, a.length);
    return out;
  },
  insert(rng, a) {
    const at = rng.int(a.length + 1);
    const ins = rng.bytes(rng.range(1, 16));
    const out = new Uint8Array(a.length + ins.length);
    out.set(a.subarray(0, at));
    out.set(ins, at);
    out.set(a.subarray(at), at + ins.length);
    return out;
  },
  delete(rng, a) {
    if (a.length === 0) return a;
    const at = rng.int(a.length);
    const n = rng.range(1, Math.min(32, a.length - at));
    const out = new Uint8Array(a.length - n);
    out.set(a.subarray(0, at));
    out.set(a.subarray(at + n), at);
    return out;
  },
  splice(rng, a, opts) {
    const others = opts.others ?? [];
    const b = others.length > 0 ? rng.pick(others) : a;
    const cutA = rng.int(a.length + 1);
    const cutB = rng.int(b.length + 1);
    if (rng.chance(0.5)) {
      // Prefix of one valid sample, suffix of another (crossover).
      const out = new Uint8Array(cutA + (b.length - cutB));
      out.set(a.subarray(0, cutA));
      out.set(b.subarray(cutB), cutA);
      return out;
    }
    // Overwrite a region of `a` with a region of `b`.
    const n = Math.min(rng.range(1, 64), a.length - cutA, b.length - cutB);
    const out = a.slice();
    out.set(b.subarray(cutB, cutB + n), cutA);
    return out;
  },
  length(rng, a, opts) {
    const fields = (opts.lengthFields ?? []).filter((f) => f.offset + f.size <= a.length);
    const f: LengthField = fields.length > 0 ? rng.pick(fields) : { offset: a.length >= 4 ? rng.int(a.length - 3) : 0, size: rng.pick([1, 2, 4] as const) };
    const out = a.slice();
    writeBE(out, f.offset, f.size, interestingValue(rng, f.size, readBE(a, f.offset, f.size)));
    return out;
  },
  duplicate(rng, a) {
    if (a.length === 0) return a;
    const from = rng.int(a.length);
    const n = rng.range(1, Math.min(128, a.length - from));
    const seg = a.subarray(from, from + n);
    const at = rng.chance(0.5) ? from + n : rng.int(a.length + 1);
    const out = new Uint8Array(a.length + n);
    out.set(a.subarray(0, at));
    out.set(seg, at);
    out.set(a.subarray(at), at + n);
    return out;
  },
  int(rng, a) {
    if (a.length < 2) return a;
    const size = rng.pick([2, 4, 8] as const);
    const at = rng.int(Math.max(1, a.length - size + 1));
    const out = a.slice();
    writeBE(out, at, size, interestingValue(rng, size, readBE(a, at, size)));
    return out;
  },
  random(rng, a) {
    return rng.bytes(rng.chance(0.5) ? a.length : rng.size(Math.max(8, a.length * 2)));
  },
};

const BYTE_WEIGHTS: readonly (readonly [number, string])[] = [
  [14, 'bitflip'], [10, 'byte'], [10, 'truncate'], [6, 'extend'], [6, 'insert'], [6, 'delete'],
  [8, 'splice'], [10, 'length'], [8, 'duplicate'], [6, 'int'], [2, 'random'],
];

/** 1–3 stacked byte-level edits of a valid sample. */
export function mutateBytes(rng: Rng, bytes: Uint8Array, opts: MutateOptions = {}): Mutated<Uint8Array> {
  let a = bytes;
  const names: string[] = [];
  const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
  for (let i = 0; i < n; i++) {
    const name = rng.weighted(BYTE_WEIGHTS);
    a = BYTE_OPS[name](rng, a, opts);
    names.push(name);
  }
  return { value: a, label: names.join('+') };
}

/** Edits of a text (base64, JSON): characters from its own alphabet or anywhere. */
export function mutateText(rng: Rng, text: string, alphabet: string): Mutated<string> {
  let s = text;
  const names: string[] = [];
  const n = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
  const ch = () => (rng.chance(0.8) ? alphabet[rng.int(alphabet.length)] : rng.string(1));
  for (let i = 0; i < n; i++) {
    const op = rng.pick(['char', 'insert', 'delete', 'truncate', 'extend', 'duplicate', 'case', 'pad']);
    const at = rng.int(s.length + 1);
    switch (op) {
      case 'char':
        if (s.length > 0) s = s.slice(0, Math.min(at, s.length - 1)) + ch() + s.slice(Math.min(at, s.length - 1) + 1);
        break;
      case 'insert':
        s = s.slice(0, at) + ch() + s.slice(at);
        break;
      case 'delete':
        s = s.slice(0, at) + s.slice(at + rng.range(1, 4));
        break;
      case 'truncate':
        s = s.slice(0, at);
        break;
      case 'extend':
        for (let k = rng.range(1, 8); k > 0; k--) s += ch();
        break;
      case 'duplicate': {
        const seg = s.slice(at, at + rng.range(1, 32));
        s = s.slice(0, at) + seg + s.slice(at);
        break;
      }
      case 'case':
        if (s.length > 0) {
          const i2 = Math.min(at, s.length - 1);
          const c = s[i2];
          s = s.slice(0, i2) + (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) + s.slice(i2 + 1);
        }
        break;
      case 'pad':
        s = rng.chance(0.5) ? s.replace(/=+$/, '') : s + rng.pick(['=', '==', ' ', '\n', '\u0000']);
        break;
    }
    names.push(`text:${op}`);
  }
  return { value: s, label: names.join('+') };
}

/** A JSON value as produced by JSON.parse. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** `o[k] = v` as JSON.parse does it: an own property even for `__proto__`. */
function setOwn(o: { [k: string]: Json }, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

/** A random JSON value, at most `depth` levels deep. */
export function randomJson(rng: Rng, depth = 2): Json {
  const kind = rng.int(depth > 0 ? 8 : 6);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -0, 1, -1, 0.5, 2 ** 31, 2 ** 32, 2 ** 32 - 1, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), 1e308, 5e-324, rng.int(100)]);
    case 3:
      return rng.string(rng.size(40));
    case 4:
      return rng.pick(['', 'accept', 'skip', 'final', 'proposal', 'vote', 'cert', 'READY', 'publish', 'subscribe', '0'.repeat(64), 'ab'.repeat(64), '0'.repeat(32)]);
    case 5:
      return rng.int(2 ** 16);
    case 6: {
      const arr: Json[] = [];
      for (let n = rng.size(5); n > 0; n--) arr.push(randomJson(rng, depth - 1));
      return arr;
    }
    default: {
      const obj: { [k: string]: Json } = {};
      for (let n = rng.size(5); n > 0; n--) {
        const k = rng.chance(0.7) ? rng.pick(['t', 'v', 'key', 'sig', 'slot', 'type', 'topic', 'topics', 'data', 'id', '__proto__']) : rng.string(rng.range(1, 8));
        setOwn(obj, k, randomJson(rng, depth - 1));
      }
      return obj;
    }
  }
}

function containers(v: Json, out: (Json[] | { [k: string]: Json })[] = []): (Json[] | { [k: string]: Json })[] {
  if (typeof v === 'object' && v !== null) {
    out.push(v);
    for (const c of Array.isArray(v) ? v : Object.values(v)) containers(c, out);
  }
  return out;
}

function tweak(rng: Rng, v: Json): Json {
  if (typeof v === 'number') return rng.pick([v + 1, v - 1, -v, v * 2, v + 0.5, 2 ** 53, -1, 0, 1e21, Number.MAX_SAFE_INTEGER + 2]);
  if (typeof v === 'string') {
    if (v.length === 0) return rng.string(rng.range(1, 8));
    const at = rng.int(v.length);
    return rng.pick([
      v.slice(0, at),
      v + v.slice(at),
      v.slice(0, at) + rng.string(1) + v.slice(at + 1),
      v.toUpperCase(),
      v + rng.string(rng.range(1, 4)),
    ]);
  }
  if (typeof v === 'boolean') return !v;
  return randomJson(rng, 1);
}

/** One structural edit somewhere inside `value` (a deep copy is edited). */
export function mutateJson(rng: Rng, value: Json): Mutated<Json> {
  const root = JSON.parse(JSON.stringify(value)) as Json;
  const nodes = containers(root);
  if (nodes.length === 0) return { value: tweak(rng, root), label: 'json:tweak-root' };
  const node = rng.pick(nodes);
  const keys: (string | number)[] = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
  const set = (k: string | number, v: Json) => (Array.isArray(node) ? (node[k as number] = v) : setOwn(node, k as string, v));
  const get = (k: string | number) => (node as Record<string | number, Json>)[k];
  const op = keys.length === 0 ? 'add' : rng.pick(['tweak', 'tweak', 'replace', 'delete', 'add', 'dup', 'wrap', 'null']);
  const k = keys.length > 0 ? rng.pick(keys) : 0;
  switch (op) {
    case 'tweak':
      set(k, tweak(rng, get(k)));
      break;
    case 'replace':
      set(k, randomJson(rng, 2));
      break;
    case 'delete':
      if (Array.isArray(node)) node.splice(k as number, 1);
      else delete node[k as string];
      break;
    case 'add':
      if (Array.isArray(node)) node.splice(rng.int(node.length + 1), 0, randomJson(rng, 1));
      else setOwn(node, rng.chance(0.5) ? rng.pick(['extra', 'sig', 'key', 't', 'v', '__proto__']) : rng.string(rng.range(1, 6)), randomJson(rng, 1));
      break;
    case 'dup':
      if (Array.isArray(node)) node.splice(k as number, 0, JSON.parse(JSON.stringify(get(k))) as Json);
      else set(k, [get(k), get(k)]);
      break;
    case 'wrap':
      set(k, rng.chance(0.5) ? [get(k)] : { v: get(k) });
      break;
    case 'null':
      set(k, null);
      break;
  }
  return { value: root, label: `json:${op}` };
}

/** Deeply nested JSON text (`[[[…]]]` or `{"a":{"a":…}}`), which recursive code may not survive. */
export function deepJsonText(rng: Rng, depth: number): string {
  const arr = rng.chance(0.5);
  return arr ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
