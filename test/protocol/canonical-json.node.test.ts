import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import { utf8Encode } from '../../src/crypto/bytes.js';
import { MAX_JSON_DEPTH, canonicalJson, canonicalJsonBytes, parseCanonicalJson } from '../../src/protocol/index.js';
import { expectCode } from './arbitraries.js';

/**
 * Reference: JSON.stringify with keys sorted at every level, written out by hand —
 * an object literal cannot hold the sorted order, since engines list integer-like
 * keys ("0") before the others.
 */
function sortedStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedStringify).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${sortedStringify(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** The same object with keys inserted in reverse order, recursively. */
function reversedKeys(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(reversedKeys);
  if (x === null || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  // defineProperty, not assignment: fast-check generates "__proto__" keys, and `out[k] =` would set the prototype.
  for (const k of Object.keys(x).reverse()) {
    Object.defineProperty(out, k, { value: reversedKeys((x as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

const json = fc.jsonValue({ maxDepth: 5 });

describe('canonicalJson', () => {
  it('is independent of key insertion order', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(reversedKeys(v))).to.equal(canonicalJson(v));
      }),
    );
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 0, y: null }], c: 'x' } })).to.equal('{"a":{"c":"x","d":[1,{"y":null,"z":0}]},"b":1}');
  });

  it('equals JSON.stringify of the key-sorted value (no whitespace, standard escapes)', () => {
    fc.assert(
      fc.property(json, (v) => {
        expect(canonicalJson(v)).to.equal(sortedStringify(v));
      }),
    );
    expect(canonicalJson({ 'é': 1, e: 2, Z: 3, '': 4 })).to.equal('{"":4,"Z":3,"e":2,"é":1}');
    expect(canonicalJson(-0)).to.equal('0');
    expect(canonicalJson(1e21)).to.equal('1e+21');
    expect(canonicalJson('\u2028\ud800"\\')).to.equal('"\u2028\\ud800\\"\\\\"');
  });

  it('round-trips through parseCanonicalJson', () => {
    fc.assert(
      fc.property(json, (v) => {
        const bytes = canonicalJsonBytes(v);
        expect(parseCanonicalJson(bytes)).to.deep.equal(JSON.parse(canonicalJson(v)));
      }),
    );
  });

  it('rejects values JSON cannot carry faithfully', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 0;
    for (let i = 0; i <= MAX_JSON_DEPTH; i++) deep = [deep];
    const bad: unknown[] = [
      undefined,
      NaN,
      Infinity,
      -Infinity,
      () => 1,
      Symbol('s'),
      10n,
      new Date(0),
      new Map(),
      new Uint8Array(1),
      { a: undefined },
      [undefined],
      [1, , 2], // eslint-disable-line no-sparse-arrays
      { [Symbol('k')]: 1 },
      { nested: { x: NaN } },
      cyclic,
      deep,
      Object.create({ inherited: 1 }),
      {
        get boom(): number {
          throw new Error('getter');
        },
      },
    ];
    for (const v of bad) expectCode(() => canonicalJson(v), 'PROTO_BAD_BODY');
    expect(canonicalJson(Object.create(null))).to.equal('{}');
  });
});

describe('parseCanonicalJson', () => {
  it('accepts exactly one spelling per value', () => {
    const bad = [
      '{"b":1,"a":2}', // key order
      '{"a": 1}', // whitespace
      ' 1',
      '{"a":1,"a":1}', // duplicate key
      '1.0', // number form
      '1E3',
      '"\\u0041"', // unnecessary escape
      '\ufeff{}', // BOM
      '{', // not JSON
      '',
      'undefined',
    ];
    for (const text of bad) expectCode(() => parseCanonicalJson(utf8Encode(text)), 'PROTO_BAD_BODY');
    expectCode(() => parseCanonicalJson(new Uint8Array([0x22, 0xff, 0x22])), 'PROTO_BAD_BODY');
    let deep = '0';
    for (let i = 0; i < 20000; i++) deep = `[${deep}]`;
    expectCode(() => parseCanonicalJson(utf8Encode(deep)), 'PROTO_BAD_BODY');
    expect(parseCanonicalJson(utf8Encode('{"a":[1,"x",null,true]}'))).to.deep.equal({ a: [1, 'x', null, true] });
  });

  it('never throws anything but a KpcError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.string({ maxLength: 64 }).map(utf8Encode)), (b) => {
        try {
          parseCanonicalJson(b);
        } catch (err) {
          expectCode(() => {
            throw err;
          }, 'PROTO_BAD_BODY');
        }
      }),
      { numRuns: 2000 },
    );
  });
});
