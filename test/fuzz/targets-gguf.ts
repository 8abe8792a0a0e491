/**
 * Fuzz target of the GGUF reader (src/gguf): valid files from the writer (every value
 * type, nested arrays, every tensor type, several alignments, v2 and v3), mutated by the
 * shared byte mutators and by little-endian corruption of the header's own count,
 * length, type and offset fields, read through a BufferSource whose first read is
 * sometimes tiny (so the grow-and-retry path runs). Every outcome must be success or a
 * GGUF_* rejection; an accepted file must keep every tensor inside the file, aligned and
 * apart, and its metadata must survive a write and a second read.
 */
import { GgmlType, ggmlTypeInfo, type GgmlTypeName } from '../../src/quant/types.js';
import { BufferSource, GgufType, readGguf, writeGguf, type GgufArray, type GgufFile, type GgufReadOptions, type GgufTensorSpec, type GgufTypeId, type GgufValue } from '../../src/gguf/index.js';
import { FuzzViolation, LastInput, check, typedAsync, type CaseOutcome, type FuzzTarget, type TargetInstance } from './engine.js';
import { mutateBytes } from './mutate.js';
import { Rng } from './prng.js';

/** Every code the reader may reject a file with (a BufferSource never fails, so GGUF_SOURCE_FAILED is a bug). */
const GGUF_CODES = ['GGUF_BAD_MAGIC', 'GGUF_BAD_VERSION', 'GGUF_TRUNCATED', 'GGUF_LIMIT', 'GGUF_BAD_VALUE', 'GGUF_UNKNOWN_TENSOR_TYPE', 'GGUF_BAD_TENSOR'] as const;

/** A little-endian field of a valid file: a count, length, type id, dimension or offset. */
interface Field {
  offset: number;
  size: 4 | 8;
}

interface Sample {
  bytes: Uint8Array;
  fields: Field[];
  metadata: [string, GgufValue][];
  tensors: GgufTensorSpec[];
}

const SCALARS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12] as GgufTypeId[];
const WORDS = ['llama', 'general.name', 'tokenizer.ggml.tokens', '', 'ü', '🦊', '\u0000', 'x'.repeat(40)];

function scalar(rng: Rng, type: GgufTypeId): unknown {
  switch (type) {
    case GgufType.UINT8: return rng.int(256);
    case GgufType.INT8: return rng.int(256) - 128;
    case GgufType.UINT16: return rng.int(65536);
    case GgufType.INT16: return rng.int(65536) - 32768;
    case GgufType.UINT32: return rng.u32();
    case GgufType.INT32: return rng.u32() | 0;
    case GgufType.FLOAT32: return Math.fround(rng.pick([0, -0, 1.5, -2, 1e-40, 3.4e38, NaN, Infinity, rng.float()]));
    case GgufType.FLOAT64: return rng.pick([0, -0, Math.PI, 5e-324, 1.7e308, NaN, -Infinity, rng.float()]);
    case GgufType.BOOL: return rng.chance(0.5);
    case GgufType.STRING: return rng.chance(0.5) ? rng.pick(WORDS) : rng.string(rng.size(20)).replace(/[\ud800-\udfff]/g, '');
    case GgufType.UINT64: return rng.pick([0, 1, 2 ** 53 - 1, 2n ** 64n - 1n, 2n ** 53n, rng.u32()]);
    default: return rng.pick([0, -1, -(2 ** 53) + 1, -(2n ** 63n), 2n ** 63n - 1n, rng.u32() | 0]);
  }
}

function array(rng: Rng, depth: number): GgufArray {
  if (depth < 3 && rng.chance(0.2)) return { itemType: GgufType.ARRAY, items: Array.from({ length: rng.size(4) }, () => array(rng, depth + 1)) };
  const itemType = rng.pick(SCALARS);
  const items = Array.from({ length: rng.size(24) }, () => scalar(rng, itemType));
  return { itemType, items: items as GgufArray['items'] };
}

function value(rng: Rng): GgufValue {
  if (rng.chance(0.3)) return { type: GgufType.ARRAY, value: array(rng, 1) };
  const type = rng.pick(SCALARS);
  return { type, value: scalar(rng, type) } as GgufValue;
}

const TYPE_NAMES = Object.keys(GgmlType) as GgmlTypeName[];

function tensor(rng: Rng, index: number): GgufTensorSpec {
  const type = rng.chance(0.5) ? rng.pick(['F32', 'F16', 'Q8_0', 'Q4_K', 'Q6_K'] as GgmlTypeName[]) : rng.pick(TYPE_NAMES);
  const info = ggmlTypeInfo(GgmlType[type])!;
  const dims = [info.blockSize * rng.range(1, 2)];
  for (let n = rng.int(4); n > 0; n--) dims.push(rng.range(1, 3));
  const elements = dims.reduce((a, b) => a * b, 1);
  return { name: `blk.${index}.${rng.pick(['attn_q', 'ffn_up', 'w'])}.weight`, dims, type, data: rng.bytes((elements / info.blockSize) * info.typeSize) };
}

function sample(rng: Rng): Sample {
  const metadata: [string, GgufValue][] = [];
  const keys = new Set<string>();
  for (let n = rng.range(0, 8); n > 0; n--) {
    const key = rng.chance(0.5) ? rng.pick(['general.architecture', 'general.name', 'llama.block_count', 'tokenizer.ggml.scores']) : `k${rng.int(1000)}`;
    if (!keys.has(key)) metadata.push([key, value(rng)]);
    keys.add(key);
  }
  const tensors = Array.from({ length: rng.range(0, 4) }, (_, i) => tensor(rng, i));
  const alignment = rng.pick([undefined, 1, 8, 16, 32, 64]);
  const bytes = writeGguf({ version: rng.chance(0.5) ? 3 : 2, alignment, metadata, tensors });
  return { bytes, fields: fieldsOf(bytes), metadata: alignment !== undefined && alignment !== 32 ? [...metadata, ['general.alignment', { type: GgufType.UINT32, value: alignment }]] : metadata, tensors };
}

/** The count/length/type/offset fields of a valid file, found by walking it (independently of the reader). */
function fieldsOf(bytes: Uint8Array): Field[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [{ offset: 8, size: 8 }, { offset: 16, size: 8 }];
  let pos = 24;
  const u32 = () => (fields.push({ offset: pos, size: 4 }), (pos += 4), view.getUint32(pos - 4, true));
  const u64 = () => (fields.push({ offset: pos, size: 8 }), (pos += 8), Number(view.getBigUint64(pos - 8, true)));
  const str = () => {
    const n = u64();
    pos += n;
  };
  const walk = (type: number): void => {
    if (type === GgufType.STRING) str();
    else if (type === GgufType.ARRAY) {
      const itemType = u32();
      for (let n = u64(); n > 0; n--) walk(itemType);
    } else pos += [1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8][type];
  };
  const [tensorCount, entryCount] = [Number(view.getBigUint64(8, true)), Number(view.getBigUint64(16, true))];
  for (let i = 0; i < entryCount; i++) {
    str();
    walk(u32());
  }
  for (let i = 0; i < tensorCount; i++) {
    str();
    for (let d = u32(); d > 0; d--) u64();
    u32();
    u64();
  }
  return fields;
}

const TWO_64 = 2n ** 64n;

/** Writes an interesting little-endian value into one field. */
function corruptField(rng: Rng, bytes: Uint8Array, f: Field): Uint8Array {
  const out = bytes.slice();
  const view = new DataView(out.buffer);
  const current = f.size === 4 ? BigInt(view.getUint32(f.offset, true)) : view.getBigUint64(f.offset, true);
  const max = f.size === 4 ? 2n ** 32n - 1n : TWO_64 - 1n;
  const remaining = BigInt(bytes.byteLength - f.offset);
  const pick = rng.pick([0n, 1n, 2n, 3n, 4n, 5n, 13n, current - 1n, current + 1n, current * 2n, current + 32n, remaining, remaining + 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 40n, 2n ** 53n, 2n ** 63n, max, BigInt(rng.u32())]);
  const v = ((pick % (max + 1n)) + max + 1n) % (max + 1n);
  if (f.size === 4) view.setUint32(f.offset, Number(v), true);
  else view.setBigUint64(f.offset, v, true);
  return out;
}

/** Metadata in a comparable form: float32 rounded, 64-bit as bigint, arrays as plain arrays. */
function norm(entries: Iterable<readonly [string, GgufValue]>): unknown {
  const scalar = (t: number, x: unknown) => (t === GgufType.FLOAT32 ? Math.fround(x as number) : t === GgufType.UINT64 || t === GgufType.INT64 ? String(BigInt(x as number)) : x);
  const arr = (a: GgufArray): unknown => [a.itemType, Array.from(a.items as ArrayLike<unknown>, (x) => (a.itemType === GgufType.ARRAY ? arr(x as GgufArray) : scalar(a.itemType, x)))];
  return [...entries].map(([k, v]) => [k, v.type, v.type === GgufType.ARRAY ? arr(v.value) : scalar(v.type, v.value)]);
}

function same(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((x, i) => same(x, b[i]));
}

/** What every accepted file must satisfy, recomputed here from the infos and the type table. */
async function checkAccepted(file: GgufFile, input: Uint8Array, rng: Rng): Promise<void> {
  check(file.size === input.byteLength, 'size differs from the input');
  const a = file.alignment;
  check(a > 0 && (a & (a - 1)) === 0, `alignment ${a} is not a power of two`);
  check(file.headerByteLength <= file.dataOffset && file.dataOffset < file.headerByteLength + a && file.dataOffset % a === 0, 'data offset is not the aligned end of the header');
  const spans = file.tensors.map((t) => {
    const info = ggmlTypeInfo(t.type);
    check(info !== undefined && info.name === t.typeName, `tensor "${t.name}" has an unknown type ${t.type}`);
    check(t.dims.length >= 1 && t.dims.length <= 4 && t.dims.every((d) => Number.isSafeInteger(d) && d > 0), `tensor "${t.name}" has bad dims`);
    check(t.dims[0] % info.blockSize === 0 && t.byteLength === (t.elements / info.blockSize) * info.typeSize, `tensor "${t.name}" has an inconsistent byte length`);
    check(t.offset >= file.dataOffset && (t.offset - file.dataOffset) % a === 0, `tensor "${t.name}" is not aligned in the data section`);
    check(t.offset + t.byteLength <= input.byteLength, `ACCEPTED A TENSOR PAST THE END: "${t.name}"`);
    return [t.offset, t.offset + t.byteLength] as const;
  });
  spans.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < spans.length; i++) check(spans[i][0] >= spans[i - 1][1], 'ACCEPTED OVERLAPPING TENSORS');
  if (file.tensors.length > 0) {
    const t = rng.pick(file.tensors);
    const data = await file.readTensor(t);
    check(data.byteLength === t.byteLength && data.every((b, i) => b === input[t.offset + i]), `readTensor("${t.name}") returned other bytes`);
  }
  // What the reader hands out must be writable, and read back the same.
  const again = await readGguf(writeGguf({ metadata: file.metadata }));
  check(same(norm(again.metadata), norm(file.metadata)), 'metadata changed through a write and a read');
}

const gguf: FuzzTarget = {
  name: 'gguf',
  decoder: 'readGguf through a BufferSource (src/gguf/reader.ts, cursor.ts)',
  codes: GGUF_CODES,
  testCases: 5000,
  async prepare(): Promise<TargetInstance<unknown>> {
    const poolRng = new Rng(0x6767_7566); // 'gguf'
    const pool = Array.from({ length: 24 }, () => sample(poolRng));
    const others = pool.map((s) => s.bytes);
    const last = new LastInput();
    return {
      last,
      newSession: () => undefined,
      async runCase(rng): Promise<CaseOutcome> {
        const s = rng.pick(pool);
        const kind = rng.weighted([[5, 'valid'], [35, 'field'], [45, 'bytes'], [8, 'field+bytes'], [4, 'random'], [3, 'limits']] as const);
        let input = s.bytes;
        let label: string = kind;
        if (kind === 'field' || kind === 'field+bytes') {
          for (let n = rng.range(1, 2); n > 0; n--) input = corruptField(rng, input, rng.pick(s.fields));
        }
        if (kind === 'bytes' || kind === 'field+bytes') {
          const m = mutateBytes(rng, input, { others });
          [input, label] = [m.value, `${kind === 'bytes' ? '' : 'field+'}${m.label}`];
        }
        if (kind === 'random') {
          const head = rng.chance(0.7) ? s.bytes.subarray(0, rng.range(4, 24)) : new Uint8Array(0);
          input = new Uint8Array([...head, ...rng.bytes(rng.size(200))]);
        }
        const options: GgufReadOptions = { firstReadBytes: rng.pick([16, 17, 40, 100, 1000, 65536]) };
        if (kind === 'limits') {
          Object.assign(options, rng.pick([{ maxHeaderBytes: rng.range(0, 400) }, { maxArrayLength: rng.int(8) }, { maxStringBytes: rng.int(8) }, { maxNestingDepth: rng.int(3) }, { maxTensors: rng.int(3) }, { maxMetadataEntries: rng.int(3) }]));
        }
        last.set(label, input);
        const r = await typedAsync(GGUF_CODES, () => readGguf(new BufferSource(input), options));
        if (!r.ok) {
          if (kind === 'valid') throw new FuzzViolation(`a valid file was refused: ${r.code}: ${r.error.message}`);
          return { outcome: r.code, mutation: label };
        }
        await checkAccepted(r.value, input, rng);
        if (kind === 'valid') {
          check(same(norm(r.value.metadata), norm(s.metadata)), 'a valid file read back other metadata');
          for (const [i, t] of s.tensors.entries()) {
            const data = await r.value.readTensor(t.name);
            check(r.value.tensors[i].name === t.name && data.every((b, j) => b === t.data[j]), `a valid file read back other bytes for "${t.name}"`);
          }
        }
        return { outcome: `ok:${r.value.tensors.length > 0 ? 'tensors' : 'metadata'}`, mutation: label };
      },
    };
  },
};

export const GGUF_TARGETS: readonly FuzzTarget[] = [gguf];
