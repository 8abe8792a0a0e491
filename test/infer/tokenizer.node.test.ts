import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { BOS, EOS, PAD, StreamDecoder, decode, encode } from '../../src/infer/index.js';

/** Decodes token by token, flushing at the end. */
function streamed(tokens: number[]): string {
  const d = new StreamDecoder();
  let s = '';
  for (const t of tokens) s += d.push(t);
  return s + d.flush();
}

describe('byte-level tokenizer', () => {
  it('encodes UTF-8 bytes after BOS', () => {
    expect(encode('Aπ')).to.deep.equal([BOS, 0x41, 0xcf, 0x80]);
    expect(encode('Aπ', false)).to.deep.equal([0x41, 0xcf, 0x80]);
    expect(encode('')).to.deep.equal([BOS]);
    expect(encode('😀', false)).to.deep.equal([0xf0, 0x9f, 0x98, 0x80]);
  });

  it('round-trips every well-formed string (astral characters and a leading U+FEFF included)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => decode(encode(s)) === s && streamed(encode(s)) === s));
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => decode(encode('\ufeff' + s)) === '\ufeff' + s));
  });

  it('drops special tokens when decoding', () => {
    expect(decode([BOS, 0x68, EOS, 0x69, PAD])).to.equal('hi');
    expect(streamed([BOS, 0x68, PAD, 0x69, EOS])).to.equal('hi');
  });

  it('holds back an incomplete character until its last byte', () => {
    const d = new StreamDecoder();
    expect(d.push(0xf0)).to.equal('');
    expect(d.push(0x9f)).to.equal('');
    expect(d.push(0x98)).to.equal('');
    expect(d.push(0x80)).to.equal('😀');
    expect(d.push(0xcf)).to.equal('');
    expect(d.flush()).to.equal('\ufffd'); // an unfinished sequence at the end
    expect(d.push(0x41)).to.equal('A'); // usable again after flush
  });

  it('streaming equals one-shot decoding for any bytes, malformed ones included', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x80, 0xbf, 0xc0, 0xe0, 0xed, 0xf0, 0xf4, 0xff, BOS, EOS))), (tokens) => {
        return streamed(tokens) === decode(tokens);
      }),
      { numRuns: 500 },
    );
  });

  it('maps a lone surrogate to U+FFFD', () => {
    expect(encode('\ud800', false)).to.deep.equal([0xef, 0xbf, 0xbd]);
  });
});
