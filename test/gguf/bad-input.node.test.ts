/**
 * Every kind of bad GGUF input gets its typed KpcError, without a large allocation:
 * files are hand-built byte by byte (the writer refuses to make them).
 */
import { expect } from 'chai';
import { describe, it } from 'node:test';
import { KpcError } from '../../src/errors.js';
import { GgmlType } from '../../src/quant/types.js';
import { GgufType, readGguf, writeGguf, ggufValue, type GgufReadOptions } from '../../src/gguf/index.js';

/** A little-endian byte builder for hand-made files. */
class Raw {
  readonly parts: number[] = [];
  u8(...bs: number[]): this {
    this.parts.push(...bs);
    return this;
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.parts.push((v >>> (8 * i)) & 0xff);
    return this;
  }
  u64(v: number | bigint): this {
    let b = BigInt.asUintN(64, BigInt(v));
    for (let i = 0; i < 8; i++, b >>= 8n) this.parts.push(Number(b & 0xffn));
    return this;
  }
  str(s: string | number[]): this {
    const bytes = typeof s === 'string' ? [...new TextEncoder().encode(s)] : s;
    return this.u64(bytes.length).u8(...bytes);
  }
  pad(alignment = 32): this {
    while (this.parts.length % alignment !== 0) this.parts.push(0);
    return this;
  }
  zeros(n: number): this {
    for (let i = 0; i < n; i++) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  bytes(): Uint8Array {
    return new Uint8Array(this.parts);
  }
}

/** Magic, version and counts. */
function head(tensors: number | bigint, entries: number | bigint, version = 3): Raw {
  return new Raw().u8(0x47, 0x47, 0x55, 0x46).u32(version).u64(tensors).u64(entries);
}

/** A file with one metadata entry written by `entry` (key then type then value). */
function withEntry(entry: (r: Raw) => Raw): Uint8Array {
  return entry(head(0, 1)).bytes();
}

/** A tensor info. */
function tensorInfo(r: Raw, name: string, dims: (number | bigint)[], type: number, offset: number | bigint): Raw {
  r.str(name).u32(dims.length);
  for (const d of dims) r.u64(d);
  return r.u32(type).u64(offset);
}

/** A file of tensors (no metadata), data section padded to 32 and `dataBytes` long. */
function withTensors(infos: [string, (number | bigint)[], number, number | bigint][], dataBytes: number): Uint8Array {
  const r = head(infos.length, 0);
  for (const [name, dims, type, offset] of infos) tensorInfo(r, name, dims, type, offset);
  return r.pad().zeros(dataBytes).bytes();
}

async function failure(input: Uint8Array, options?: GgufReadOptions): Promise<KpcError> {
  try {
    await readGguf(input, options);
  } catch (err) {
    if (err instanceof KpcError) return err;
    throw new Error(`expected a KpcError, got ${String(err)}`);
  }
  throw new Error('expected the file to be refused');
}

async function code(input: Uint8Array, options?: GgufReadOptions): Promise<string> {
  return (await failure(input, options)).code;
}

const F32 = GgmlType.F32;

describe('GGUF reader: bad input is a typed error', () => {
  it('wrong magic', async () => {
    expect(await code(new TextEncoder().encode('GGML\x03\0\0\0'))).to.equal('GGUF_BAD_MAGIC');
    expect(await code(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 0]))).to.equal('GGUF_BAD_MAGIC');
  });

  it('a file too short for the header, and a header cut anywhere', async () => {
    expect(await code(new Uint8Array(0))).to.equal('GGUF_TRUNCATED');
    expect(await code(new Uint8Array([0x47, 0x47]))).to.equal('GGUF_TRUNCATED');
    const whole = writeGguf({
      metadata: [['general.name', ggufValue.string('x')], ['a', ggufValue.array(GgufType.ARRAY, [{ itemType: GgufType.STRING, items: ['p', 'q'] }])]],
      tensors: [{ name: 'w', dims: [2], type: 'F32', data: new Uint8Array(8) }],
    });
    const file = await readGguf(whole);
    const dataEnd = file.tensors[0].offset + file.tensors[0].byteLength;
    for (let cut = 0; cut < dataEnd; cut++) expect(await code(whole.subarray(0, cut)), `cut at ${cut}`).to.equal('GGUF_TRUNCATED');
  });

  it('unknown versions; a byte-swapped version says big-endian', async () => {
    expect(await code(head(0, 0, 1).bytes())).to.equal('GGUF_BAD_VERSION');
    expect(await code(head(0, 0, 4).bytes())).to.equal('GGUF_BAD_VERSION');
    expect(await code(head(0, 0, 0).bytes())).to.equal('GGUF_BAD_VERSION');
    for (const v of [0x02000000, 0x03000000]) {
      const err = await failure(head(0, 0, v).bytes());
      expect(err.code).to.equal('GGUF_BAD_VERSION');
      expect(err.message).to.include('big-endian GGUF is not supported');
    }
  });

  it('counts past the file or past the limits, without allocating for them', async () => {
    expect(await code(head(2n ** 40n, 0).bytes())).to.equal('GGUF_LIMIT');
    expect(await code(head(0, 2n ** 40n).bytes())).to.equal('GGUF_LIMIT');
    expect(await code(head(2n ** 64n - 1n, 0).bytes())).to.equal('GGUF_LIMIT');
    expect(await code(head(1000, 0).bytes())).to.equal('GGUF_TRUNCATED');
    expect(await code(head(0, 1000).bytes())).to.equal('GGUF_TRUNCATED');
    expect(await code(head(0, 3).bytes(), { maxMetadataEntries: 2 })).to.equal('GGUF_LIMIT');
    expect(await code(head(3, 0).bytes(), { maxTensors: 2 })).to.equal('GGUF_LIMIT');
  });

  it('array and string lengths past the file or past the limits, without allocating for them', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const hugeArray = withEntry((r) => r.str('a').u32(GgufType.ARRAY).u32(GgufType.FLOAT64).u64(2n ** 40n));
    expect(await code(hugeArray)).to.equal('GGUF_LIMIT');
    expect(await code(hugeArray, { maxArrayLength: 2 ** 50 })).to.equal('GGUF_TRUNCATED');
    const hugeStrings = withEntry((r) => r.str('a').u32(GgufType.ARRAY).u32(GgufType.STRING).u64(2n ** 30n));
    expect(await code(hugeStrings, { maxArrayLength: 2 ** 31 })).to.equal('GGUF_TRUNCATED');
    const nestedEmpty = withEntry((r) => r.str('a').u32(GgufType.ARRAY).u32(GgufType.ARRAY).u64(2n ** 24n));
    expect(await code(nestedEmpty)).to.equal('GGUF_TRUNCATED');
    const hugeString = withEntry((r) => r.str('a').u32(GgufType.STRING).u64(2n ** 40n));
    expect(await code(hugeString)).to.equal('GGUF_LIMIT');
    expect(await code(hugeString, { maxStringBytes: 2 ** 50 })).to.equal('GGUF_TRUNCATED');
    expect(await code(withEntry((r) => r.u64(2n ** 63n).zeros(16)))).to.equal('GGUF_LIMIT');
    expect(await code(withEntry((r) => r.str('a').u32(GgufType.STRING).str('four')), { maxStringBytes: 3 })).to.equal('GGUF_LIMIT');
    expect(await code(withEntry((r) => r.str('a').u32(GgufType.ARRAY).u32(GgufType.UINT8).u64(3).u8(1, 2, 3)), { maxArrayLength: 2 })).to.equal('GGUF_LIMIT');
    expect(process.memoryUsage().arrayBuffers - before).to.be.lessThan(64 * 1024 * 1024);
  });

  it('a header longer than maxHeaderBytes', async () => {
    const big = writeGguf({ metadata: [['tokens', ggufValue.array(GgufType.STRING, Array.from({ length: 5000 }, (_, i) => `token-${i}`))]] });
    expect(await code(big, { maxHeaderBytes: 4096 })).to.equal('GGUF_LIMIT');
    expect((await readGguf(big, { maxHeaderBytes: big.byteLength })).getStringArray('tokens')).to.have.length(5000);
  });

  it('arrays nested deeper than maxNestingDepth', async () => {
    const nest = (depth: number) =>
      withEntry((r) => {
        r.str('deep').u32(GgufType.ARRAY);
        for (let d = 1; d < depth; d++) r.u32(GgufType.ARRAY).u64(1);
        return r.u32(GgufType.UINT8).u64(0);
      });
    expect((await readGguf(nest(4))).getArray('deep').itemType).to.equal(GgufType.ARRAY);
    expect(await code(nest(5))).to.equal('GGUF_LIMIT');
    expect(await code(nest(2), { maxNestingDepth: 1 })).to.equal('GGUF_LIMIT');
    expect(await code(nest(100_000))).to.equal('GGUF_LIMIT');
  });

  it('bool bytes other than 0 and 1', async () => {
    expect(await code(withEntry((r) => r.str('b').u32(GgufType.BOOL).u8(2)))).to.equal('GGUF_BAD_VALUE');
    expect(await code(withEntry((r) => r.str('b').u32(GgufType.ARRAY).u32(GgufType.BOOL).u64(3).u8(0, 1, 0xff)))).to.equal('GGUF_BAD_VALUE');
  });

  it('unknown metadata value types, as a value and as an item type', async () => {
    const err = await failure(withEntry((r) => r.str('k').u32(13).u8(0)));
    expect(err.code).to.equal('GGUF_BAD_VALUE');
    expect(err.message).to.include('"k"');
    expect(await code(withEntry((r) => r.str('k').u32(GgufType.ARRAY).u32(0xffffffff).u64(0)))).to.equal('GGUF_BAD_VALUE');
  });

  it('strings that are not UTF-8: keys, values, array items, tensor names', async () => {
    const bad = [0x61, 0xc3, 0x28];
    expect(await code(withEntry((r) => r.str(bad).u32(GgufType.UINT8).u8(1)))).to.equal('GGUF_BAD_VALUE');
    expect(await code(withEntry((r) => r.str('k').u32(GgufType.STRING).str([0xed, 0xa0, 0x80])))).to.equal('GGUF_BAD_VALUE');
    expect(await code(withEntry((r) => r.str('k').u32(GgufType.ARRAY).u32(GgufType.STRING).u64(1).str([0xff])))).to.equal('GGUF_BAD_VALUE');
    const r = head(1, 0).str([0xfe]).u32(1).u64(1).u32(F32).u64(0);
    expect(await code(r.pad().zeros(32).bytes())).to.equal('GGUF_BAD_VALUE');
  });

  it('empty and duplicate keys', async () => {
    expect(await code(withEntry((r) => r.str('').u32(GgufType.UINT8).u8(1)))).to.equal('GGUF_BAD_VALUE');
    const dup = head(0, 2).str('k').u32(GgufType.UINT8).u8(1).str('k').u32(GgufType.UINT8).u8(2).bytes();
    const err = await failure(dup);
    expect(err.code).to.equal('GGUF_BAD_VALUE');
    expect(err.message).to.include('"k"');
  });

  it('general.alignment of the wrong type or not a power of two', async () => {
    expect(await code(withEntry((r) => r.str('general.alignment').u32(GgufType.UINT64).u64(32)))).to.equal('GGUF_BAD_VALUE');
    expect(await code(withEntry((r) => r.str('general.alignment').u32(GgufType.UINT32).u32(0)))).to.equal('GGUF_BAD_VALUE');
    expect(await code(withEntry((r) => r.str('general.alignment').u32(GgufType.UINT32).u32(48)))).to.equal('GGUF_BAD_VALUE');
    // A power of two past the limit (1 MiB) would only make copies pad a gigabyte (found by the fuzzer).
    expect(await code(withEntry((r) => r.str('general.alignment').u32(GgufType.UINT32).u32(2 ** 30)))).to.equal('GGUF_LIMIT');
  });

  it('an unknown tensor type, named with its tensor', async () => {
    for (const type of [4, 31, 1000]) {
      const err = await failure(withTensors([['blk.0.ffn_up.weight', [32], type, 0]], 64));
      expect(err.code).to.equal('GGUF_UNKNOWN_TENSOR_TYPE');
      expect(err.message).to.include('"blk.0.ffn_up.weight"').and.include(String(type));
    }
  });

  it('dimension counts other than 1..4, zero or absurd dimensions', async () => {
    for (const dims of [[], [1, 1, 1, 1, 1]]) expect(await code(withTensors([['t', dims, F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(head(1, 0).str('t').u32(0xffffffff).zeros(64).bytes())).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['t', [4, 0], F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['t', [2n ** 60n], F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['t', [2n ** 64n - 1n], F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['t', [2 ** 30, 2 ** 30, 2 ** 30], F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
  });

  it('rows that are not a whole number of blocks', async () => {
    expect(await code(withTensors([['q', [16, 2], GgmlType.Q8_0, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    // 32 weights in all, but rows of 16: blocks would straddle rows.
    expect(await code(withTensors([['q', [16, 2], GgmlType.Q4_0, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['k', [128], GgmlType.Q4_K, 0]], 256))).to.equal('GGUF_BAD_TENSOR');
  });

  it('tensor offsets that are not aligned', async () => {
    expect(await code(withTensors([['t', [4], F32, 4]], 64))).to.equal('GGUF_BAD_TENSOR');
    expect(await code(withTensors([['t', [4], F32, 2n ** 63n]], 64))).to.equal('GGUF_BAD_TENSOR');
  });

  it('tensor data past the end of the file', async () => {
    expect(await code(withTensors([['t', [4], F32, 0]], 15))).to.equal('GGUF_TRUNCATED');
    expect(await code(withTensors([['t', [4], F32, 64]], 64))).to.equal('GGUF_TRUNCATED');
    expect(await code(withTensors([['t', [4], F32, 2n ** 52n]], 64))).to.equal('GGUF_TRUNCATED');
    // The data section itself starts past the end.
    expect(await code(head(1, 0).str('t').u32(1).u64(4).u32(F32).u64(0).bytes())).to.equal('GGUF_TRUNCATED');
  });

  it('overlapping tensors, named', async () => {
    const err = await failure(withTensors([['a', [16], F32, 0], ['b', [4], F32, 32]], 128));
    expect(err.code).to.equal('GGUF_BAD_TENSOR');
    expect(err.message).to.include('"a"').and.include('"b"');
    expect(await code(withTensors([['a', [4], F32, 0], ['b', [4], F32, 0]], 64))).to.equal('GGUF_BAD_TENSOR');
    // Out of order but disjoint is fine.
    const ok = await readGguf(withTensors([['a', [4], F32, 32], ['b', [4], F32, 0]], 64));
    expect(ok.tensors.map((t) => t.offset - ok.dataOffset)).to.deep.equal([32, 0]);
  });

  it('duplicate tensor names', async () => {
    const err = await failure(withTensors([['w', [4], F32, 0], ['w', [4], F32, 32]], 64));
    expect(err.code).to.equal('GGUF_BAD_TENSOR');
    expect(err.message).to.include('"w"');
  });

  it('readTensor of a name the file does not have', async () => {
    const file = await readGguf(withTensors([['w', [4], F32, 0]], 32));
    await file.readTensor('nope').then(
      () => expect.fail('resolved'),
      (err: KpcError) => expect(err.code).to.equal('GGUF_BAD_TENSOR'),
    );
    // An info is looked up by name: a doctored one cannot direct the read elsewhere.
    const t = file.tensors[0];
    expect(await file.readTensor({ ...t, offset: 0 })).to.deep.equal(await file.readTensor(t));
  });

  it('refuses invalid limits', async () => {
    expect(await code(head(0, 0).bytes(), { maxTensors: -1 })).to.equal('GGUF_LIMIT');
    expect(await code(head(0, 0).bytes(), { maxArrayLength: 1.5 })).to.equal('GGUF_LIMIT');
  });
});

describe('GGUF writer: bad input is a typed error', () => {
  const writeCode = (spec: Parameters<typeof writeGguf>[0]): string => {
    try {
      writeGguf(spec);
    } catch (err) {
      if (err instanceof KpcError) return err.code;
      throw err;
    }
    return 'ok';
  };
  const t = (over: object) => ({ tensors: [{ name: 't', dims: [4], type: 'F32' as const, data: new Uint8Array(16), ...over }] });

  it('values out of range or of the wrong kind', () => {
    expect(writeCode({ metadata: [['k', ggufValue.u8(256)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.i32(1.5)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.u64(-1)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.u64(2 ** 60)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.i64(2n ** 63n)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.string('\ud800')]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.array(GgufType.UINT16, [1, 70000])]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', { type: 13, value: 1 } as never]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', ggufValue.u8(1)], ['k', ggufValue.u8(2)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['', ggufValue.u8(1)]] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [42 as never] })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['k', null as never]] })).to.equal('GGUF_BAD_VALUE');
    let deep = ggufValue.array(GgufType.UINT8, []);
    for (let i = 0; i < 4; i++) deep = ggufValue.array(GgufType.ARRAY, [deep.value as never]);
    expect(writeCode({ metadata: [['k', deep]] })).to.equal('GGUF_LIMIT');
  });

  it('bad versions and alignments', () => {
    expect(writeCode({ version: 1 as never })).to.equal('GGUF_BAD_VERSION');
    expect(writeCode({ alignment: 48 })).to.equal('GGUF_BAD_VALUE');
    expect(writeCode({ metadata: [['general.alignment', ggufValue.u64(32)]] })).to.equal('GGUF_BAD_VALUE');
  });

  it('bad tensors', () => {
    expect(writeCode(t({ data: new Uint8Array(15) }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ type: 4 }))).to.equal('GGUF_UNKNOWN_TENSOR_TYPE');
    expect(writeCode(t({ type: 'Q4_2' }))).to.equal('GGUF_UNKNOWN_TENSOR_TYPE');
    expect(writeCode(t({ dims: [] }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ dims: [4, 0] }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ dims: [4, 1, 1, 1, 1] }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ type: 'Q8_0', dims: [16, 2], data: new Uint8Array(34) }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ name: 'x'.repeat(64) }))).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode({ tensors: [...t({}).tensors, ...t({}).tensors] })).to.equal('GGUF_BAD_TENSOR');
    expect(writeCode(t({ name: 'x'.repeat(63) }))).to.equal('ok');
  });
});
