/**
 * writeGguf → readGguf round trips over every value type (nested arrays included), both
 * header versions, every ggml tensor type and several alignments; and the layout the
 * writer produces is the one llama.cpp insists on.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { GgmlType, ggmlTypeInfo, type GgmlTypeName } from '../../src/quant/types.js';
import {
  GgufType,
  readGguf,
  writeGguf,
  writeGgufChunks,
  ggufValue,
  type GgufArray,
  type GgufTensorSpec,
  type GgufTypeId,
  type GgufValue,
} from '../../src/gguf/index.js';

const SCALAR_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12] as GgufTypeId[];
const INT_BOUNDS: Record<number, [number, number]> = { 0: [0, 255], 1: [-128, 127], 2: [0, 65535], 3: [-32768, 32767], 4: [0, 2 ** 32 - 1], 5: [-(2 ** 31), 2 ** 31 - 1] };
const TYPED: Record<number, new (xs: ArrayLike<never>) => ArrayLike<unknown>> = {
  0: Uint8Array, 1: Int8Array, 2: Uint16Array, 3: Int16Array, 4: Uint32Array, 5: Int32Array, 6: Float32Array, 12: Float64Array, 10: BigUint64Array, 11: BigInt64Array,
};

const wellFormed = fc.string({ unit: 'binary', maxLength: 24 }).filter((s) => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));

function scalarArb(type: GgufTypeId): fc.Arbitrary<unknown> {
  if (type in INT_BOUNDS) return fc.integer({ min: INT_BOUNDS[type][0], max: INT_BOUNDS[type][1] });
  switch (type) {
    case GgufType.FLOAT32: return fc.float();
    case GgufType.FLOAT64: return fc.double();
    case GgufType.BOOL: return fc.boolean();
    case GgufType.STRING: return wellFormed;
    case GgufType.UINT64: return fc.oneof(fc.bigInt(0n, 2n ** 64n - 1n), fc.nat({ max: Number.MAX_SAFE_INTEGER }));
    default: return fc.oneof(fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }));
  }
}

/** An array value `depth` levels deep at most; numeric items as plain or typed arrays. */
function arrayArb(depth: number): fc.Arbitrary<GgufArray> {
  const leaf = fc.constantFrom(...SCALAR_TYPES).chain((itemType) =>
    fc.tuple(fc.array(scalarArb(itemType), { maxLength: 12 }), fc.boolean()).map(([xs, typed]): GgufArray => {
      const Ctor = TYPED[itemType];
      const safe = itemType !== GgufType.UINT64 && itemType !== GgufType.INT64 ? xs : xs.map((x) => BigInt(x as number | bigint));
      return { itemType, items: typed && Ctor ? (new Ctor(safe as never[]) as never) : (safe as never) };
    }),
  );
  if (depth <= 1) return leaf;
  const nested = fc.array(arrayArb(depth - 1), { maxLength: 4 }).map((items): GgufArray => ({ itemType: GgufType.ARRAY, items }));
  return fc.oneof(leaf, nested);
}

const valueArb: fc.Arbitrary<GgufValue> = fc.oneof(
  fc.constantFrom(...SCALAR_TYPES).chain((type) => scalarArb(type).map((value) => ({ type, value }) as GgufValue)),
  arrayArb(4).map((value): GgufValue => ({ type: GgufType.ARRAY, value })),
);

const TYPE_NAMES = Object.keys(GgmlType) as GgmlTypeName[];
const tensorArb = (name: string): fc.Arbitrary<GgufTensorSpec> =>
  fc
    .tuple(fc.constantFrom(...TYPE_NAMES), fc.integer({ min: 1, max: 3 }), fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), fc.integer({ min: 0, max: 2 ** 31 }))
    .map(([type, blocks, rest, seed]) => {
      const info = ggmlTypeInfo(GgmlType[type])!;
      const dims = [blocks * info.blockSize, ...rest];
      const elements = dims.reduce((a, b) => a * b, 1);
      const data = new Uint8Array((elements / info.blockSize) * info.typeSize);
      for (let i = 0; i < data.length; i++) data[i] = (seed + i * 2654435761) >>> 24;
      return { name, dims, type, data };
    });

const fileArb = fc.record({
  version: fc.constantFrom(2 as const, 3 as const),
  alignment: fc.option(fc.constantFrom(1, 2, 8, 16, 32, 64, 128, 256), { nil: undefined }),
  metadata: fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => k !== 'general.alignment' && !/[\ud800-\udfff]/.test(k)), valueArb), {
    maxLength: 8,
    selector: ([k]) => k,
  }),
  tensors: fc.integer({ min: 0, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => tensorArb(`t${i}.weight`)))),
});

/** A comparable form: float32 rounded, 64-bit ints as bigint, arrays as plain arrays. */
function norm(v: GgufValue): unknown {
  return v.type === GgufType.ARRAY ? { type: 9, value: normArray(v.value) } : { type: v.type, value: normScalar(v.type, v.value) };
}
function normArray(a: GgufArray): unknown {
  return { itemType: a.itemType, items: Array.from(a.items as ArrayLike<unknown>, (x) => (a.itemType === GgufType.ARRAY ? normArray(x as GgufArray) : normScalar(a.itemType, x))) };
}
function normScalar(type: number, x: unknown): unknown {
  if (type === GgufType.FLOAT32) return Math.fround(x as number);
  if (type === GgufType.UINT64 || type === GgufType.INT64) return BigInt(x as number | bigint);
  return x;
}

/** The reader's promised in-memory forms: typed arrays per item type, numbers for safe 64-bit scalars. */
function checkForms(v: GgufValue): void {
  if (v.type === GgufType.UINT64 || v.type === GgufType.INT64) {
    expect(typeof v.value === 'number').to.equal(typeof v.value === 'number' ? Number.isSafeInteger(v.value) : false);
    if (typeof v.value === 'bigint') expect(v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < -BigInt(Number.MAX_SAFE_INTEGER)).to.equal(true);
  }
  if (v.type !== GgufType.ARRAY) return;
  const walk = (a: GgufArray): void => {
    const Ctor = TYPED[a.itemType];
    if (Ctor) expect(a.items).to.be.instanceOf(Ctor);
    else expect(Array.isArray(a.items)).to.equal(true);
    if (a.itemType === GgufType.ARRAY) (a.items as GgufArray[]).forEach(walk);
  };
  walk(v.value);
}

describe('GGUF round trips', () => {
  it('reads back what it writes: every value type, nested arrays, v2/v3, alignments, every tensor type', async () => {
    await fc.assert(
      fc.asyncProperty(fileArb, async (spec) => {
        const bytes = writeGguf(spec);
        const file = await readGguf(bytes);
        const alignment = spec.alignment ?? 32;
        expect(file.version).to.equal(spec.version);
        expect(file.alignment).to.equal(alignment);
        expect(file.size).to.equal(bytes.byteLength);
        const expected = spec.metadata.map(([k, v]) => [k, norm(v)]);
        if (spec.alignment !== undefined && spec.alignment !== 32) expected.push(['general.alignment', { type: GgufType.UINT32, value: alignment }]);
        expect([...file.metadata].map(([k, v]) => [k, norm(v)])).to.deep.equal(expected);
        for (const v of file.metadata.values()) checkForms(v);

        // llama.cpp's layout: data starts at the aligned end of the header; tensors packed in order.
        expect(file.dataOffset % alignment).to.equal(0);
        expect(file.dataOffset - file.headerByteLength).to.be.lessThan(alignment);
        let next = file.dataOffset;
        expect(file.tensors.map((t) => t.name)).to.deep.equal(spec.tensors.map((t) => t.name));
        for (const [i, t] of file.tensors.entries()) {
          const want = spec.tensors[i];
          expect(t.offset).to.equal(next);
          expect(t.dims).to.deep.equal(want.dims);
          expect(t.typeName).to.equal(want.type);
          expect(t.type).to.equal(GgmlType[want.type as GgmlTypeName]);
          expect(t.elements).to.equal(want.dims.reduce((a, b) => a * b, 1));
          expect(t.byteLength).to.equal(want.data.byteLength);
          expect(await file.readTensor(t)).to.deep.equal(want.data);
          next = t.offset + Math.ceil(t.byteLength / alignment) * alignment;
        }
        expect(bytes.byteLength).to.equal(spec.tensors.length > 0 ? next : file.dataOffset);

        // What was read copies exactly: the same entries and tensors write the same bytes.
        const tensors = await Promise.all(file.tensors.map(async (t) => ({ name: t.name, dims: t.dims, type: t.type, data: await file.readTensor(t) })));
        expect(writeGguf({ version: file.version, metadata: file.metadata, tensors })).to.deep.equal(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps 64-bit integers exact: numbers up to 2^53, bigints beyond', async () => {
    const values: [string, GgufValue][] = [
      ['u.small', ggufValue.u64(2 ** 53 - 1)],
      ['u.big', ggufValue.u64(2n ** 64n - 1n)],
      ['i.small', ggufValue.i64(-(2 ** 53) + 1)],
      ['i.big', ggufValue.i64(-(2n ** 63n))],
      ['u.arr', ggufValue.array(GgufType.UINT64, [0n, 2n ** 64n - 1n])],
    ];
    const file = await readGguf(writeGguf({ metadata: values }));
    expect(file.get('u.small')?.value).to.equal(2 ** 53 - 1);
    expect(file.get('u.big')?.value).to.equal(2n ** 64n - 1n);
    expect(file.get('i.small')?.value).to.equal(-(2 ** 53) + 1);
    expect(file.get('i.big')?.value).to.equal(-(2n ** 63n));
    expect(Array.from(file.getArray('u.arr').items as BigUint64Array)).to.deep.equal([0n, 2n ** 64n - 1n]);
  });

  it('float32 arrays keep their exact bits, NaN payloads included', async () => {
    const bits = new Uint32Array([0x7fc00001, 0xff800000, 0x80000000, 0x00000001, 0x3f800000]);
    const file = await readGguf(writeGguf({ metadata: [['f', ggufValue.array(GgufType.FLOAT32, new Float32Array(bits.buffer))]] }));
    expect(Array.from(new Uint32Array((file.getArray('f').items as Float32Array).buffer))).to.deep.equal(Array.from(bits));
  });

  it('typed getters return values, fallbacks for absent keys, and name the key otherwise', async () => {
    const file = await readGguf(
      writeGguf({
        metadata: [
          ['s', ggufValue.string('llama')],
          ['n', ggufValue.f32(0.5)],
          ['i', ggufValue.u32(7)],
          ['b', ggufValue.bool(true)],
          ['strs', ggufValue.array(GgufType.STRING, ['a', 'b'])],
          ['nums', ggufValue.array(GgufType.INT32, [1, -2])],
          ['bigs', ggufValue.array(GgufType.INT64, [3n, -4n])],
          ['huge', ggufValue.u64(2n ** 60n)],
        ],
      }),
    );
    expect(file.getString('s')).to.equal('llama');
    expect(file.getNumber('n')).to.equal(0.5);
    expect(file.getInteger('i')).to.equal(7);
    expect(file.getBoolean('b')).to.equal(true);
    expect(file.getStringArray('strs')).to.deep.equal(['a', 'b']);
    expect(Array.from(file.getNumberArray('nums'))).to.deep.equal([1, -2]);
    expect(Array.from(file.getNumberArray('bigs'))).to.deep.equal([3, -4]);
    expect(file.getString('absent', undefined)).to.equal(undefined);
    expect(file.getNumber('absent', 32)).to.equal(32);
    const failure = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err as { code: string; message: string };
      }
      throw new Error('expected a throw');
    };
    expect(failure(() => file.getString('absent'))).to.include({ code: 'GGUF_BAD_VALUE' }).and.have.property('message').that.includes('"absent"');
    expect(failure(() => file.getString('n', 'x')).message).to.include('"n"').and.include('float32');
    expect(failure(() => file.getInteger('n')).code).to.equal('GGUF_BAD_VALUE');
    expect(failure(() => file.getNumber('huge')).code).to.equal('GGUF_BAD_VALUE');
    expect(failure(() => file.getStringArray('nums')).message).to.include('array of int32');
  });

  it('writes the chunks that concatenate to the file, sharing the tensor bytes', () => {
    const data = new Uint8Array(4 * 3).fill(9);
    const spec = { tensors: [{ name: 'a', dims: [3], type: 'F32' as const, data }, { name: 'b', dims: [3], type: 'F32' as const, data }] };
    const chunks = writeGgufChunks(spec);
    expect(chunks[1]).to.equal(data);
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let at = 0;
    for (const c of chunks) joined.set(c, (at += c.byteLength) - c.byteLength);
    expect(joined).to.deep.equal(writeGguf(spec));
  });

  it('replaces or adds general.alignment when an alignment is given', async () => {
    const withEntry = await readGguf(writeGguf({ alignment: 64, metadata: [['general.alignment', ggufValue.u32(32)], ['x', ggufValue.u8(1)]] }));
    expect([...withEntry.metadata.keys()]).to.deep.equal(['general.alignment', 'x']);
    expect(withEntry.alignment).to.equal(64);
    const fromEntry = await readGguf(writeGguf({ metadata: [['general.alignment', ggufValue.u32(8)]], tensors: [{ name: 't', dims: [1], type: 'I8', data: new Uint8Array(1) }] }));
    expect(fromEntry.alignment).to.equal(8);
    expect(fromEntry.dataOffset % 8).to.equal(0);
  });
});
