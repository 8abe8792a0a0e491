import { expect } from 'chai';
import fc from 'fast-check';
import { describe, it } from 'node:test';
import {
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../src/crypto/index.js';
import { KpcError } from '../../src/errors.js';
import { codeOf } from '../helpers/errors.js';


describe('hex', () => {
  it('round-trips and matches Node Buffer (oracle)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const hex = toHex(b);
        expect(hex).to.equal(Buffer.from(b).toString('hex'));
        expect(fromHex(hex)).to.deep.equal(b);
        expect(fromHex(hex.toUpperCase())).to.deep.equal(b);
      }),
    );
  });

  it('rejects odd lengths, prefixes, whitespace and non-hex chars', () => {
    for (const bad of ['a', 'abc', '0x00', ' 00', '00 ', 'zz', 'g0', '0\u0660', '１２']) {
      expect(codeOf(() => fromHex(bad)), bad).to.equal('CRYPTO_BAD_ENCODING');
    }
    expect(codeOf(() => fromHex(42 as unknown as string))).to.equal('CRYPTO_BAD_ENCODING');
    expect(fromHex('')).to.deep.equal(new Uint8Array(0));
  });
});

describe('base64', () => {
  it('round-trips and matches Node Buffer (oracle)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const text = toBase64(b);
        expect(text).to.equal(Buffer.from(b).toString('base64'));
        expect(fromBase64(text)).to.deep.equal(b);
      }),
    );
  });

  it('accepts exactly the canonical form', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 24 }), (s) => {
        let decoded: Uint8Array | undefined;
        try {
          decoded = fromBase64(s);
        } catch (err) {
          expect(err).to.be.instanceOf(KpcError);
          return;
        }
        // Whatever is accepted must be exactly what the encoder writes.
        expect(toBase64(decoded)).to.equal(s);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects bad length, bad chars, misplaced padding, non-zero padding bits, url alphabet', () => {
    for (const bad of ['A', 'AA', 'AAA', 'AA=A', '=AAA', 'A===', 'QR==', 'QUF=', 'AA==AAAA', '-_8=', 'AA A', 'AAÀA', 'AA\n=']) {
      expect(codeOf(() => fromBase64(bad)), JSON.stringify(bad)).to.equal('CRYPTO_BAD_ENCODING');
    }
    expect(fromBase64('QQ==')).to.deep.equal(new Uint8Array([0x41]));
    expect(fromBase64('QUE=')).to.deep.equal(new Uint8Array([0x41, 0x41]));
    expect(fromBase64('')).to.deep.equal(new Uint8Array(0));
  });
});

describe('concatBytes / equalBytes', () => {
  it('concatenates in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 6 }), (parts) => {
        const joined = concatBytes(...parts);
        expect(Array.from(joined)).to.deep.equal(parts.flatMap((p) => Array.from(p)));
      }),
    );
  });

  it('equalBytes agrees with element-wise comparison', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (a, b) => {
        const same = a.length === b.length && a.every((x, i) => x === b[i]);
        expect(equalBytes(a, b)).to.equal(same);
        expect(equalBytes(a, Uint8Array.from(a))).to.equal(true);
      }),
    );
    expect(equalBytes(new Uint8Array(1), [0] as unknown as Uint8Array)).to.equal(false);
  });
});

describe('utf8', () => {
  it('round-trips well-formed text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(utf8Decode(utf8Encode(s))).to.equal(s);
        expect(Array.from(utf8Encode(s))).to.deep.equal(Array.from(Buffer.from(s, 'utf8')));
      }),
    );
  });

  it('rejects malformed UTF-8 and keeps a BOM', () => {
    for (const bad of [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]]) {
      expect(codeOf(() => utf8Decode(new Uint8Array(bad))), String(bad)).to.equal('CRYPTO_BAD_ENCODING');
    }
    expect(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41]))).to.equal('\ufeffA');
  });
});
