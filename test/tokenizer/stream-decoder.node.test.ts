import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import type { DecodeOptions, Tokenizer } from '../../src/tokenizer/index.js';
import { kjvTokenizer, streamed, tinyBpe } from './helpers.js';

const options: fc.Arbitrary<DecodeOptions> = fc.record(
  { special: fc.boolean(), removeSpecial: fc.boolean(), stripLeadingSpace: fc.boolean() },
  { requiredKeys: [] },
);

/** Random token sequences, biased towards the tokens the decoding rules look at. */
function ids(tok: Tokenizer, interesting: string[]): fc.Arbitrary<number[]> {
  const hot = interesting.flatMap((s) => tok.encode(s, { addBos: false, parseSpecial: true }));
  const special = [tok.bos, tok.eos].filter((x): x is number => x !== null);
  return fc.array(
    fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: tok.vocabSize - 1 }), weight: 2 },
      { arbitrary: fc.constantFrom(...hot), weight: 5 },
      { arbitrary: fc.constantFrom(...special), weight: 1 },
    ),
    { maxLength: 40 },
  );
}

describe('stream decoder', () => {
  it('outputs exactly what decode does, for any ids and options (SentencePiece)', () => {
    const tok = kjvTokenizer();
    fc.assert(
      fc.property(ids(tok, [' ', 'a', '中', '😀', 'é', '\n', '<s>']), options, (xs, o) => streamed(tok, xs, o) === tok.decode(xs, o)),
      { numRuns: 400 },
    );
  });

  it('outputs exactly what decode does, for any ids and options (GPT-2 with space cleaning)', () => {
    for (const pre of ['gpt-2', 'llama-bpe']) {
      const tok = tinyBpe(pre, { 'tokenizer.ggml.add_eos_token': true });
      expect(tok.addEos).to.equal(true);
      const hot = [' ', "'", 's', 'm', 're', 've', 't', 'd', 'll', '.', ',', '!', '?', 'a', '  ', '😀', 'é', '<|eot_id|>'];
      fc.assert(
        fc.property(ids(tok, hot), options, (xs, o) => streamed(tok, xs, o) === tok.decode(xs, o)),
        { numRuns: 400 },
      );
    }
  });

  it('never splits a character: no U+FFFD appears for well-formed text', () => {
    const tok = kjvTokenizer();
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => {
        const d = tok.createStreamDecoder();
        const parts = tok.encode(s, { addBos: false }).map((id) => d.push(id));
        parts.push(d.flush());
        return parts.every((p) => !p.includes('\ufffd') || s.includes('\ufffd'));
      }),
      { numRuns: 300 },
    );
  });

  it('releases text as soon as it is final', () => {
    const tok = tinyBpe('gpt-2');
    const d = tok.createStreamDecoder();
    const say = (s: string) => tok.encode(s).map((id) => d.push(id)).join('');
    // text ending in two ordinary bytes is final; " ," and " w" are not (a space may go)
    expect(say('Hello')).to.equal('Hello');
    expect(say(' ,')).to.equal('');
    expect(say(' w')).to.equal('');
    expect(say('orld')).to.equal(', world');
    expect(say(" '")).to.equal('');
    expect(d.flush()).to.equal(" '");
    // after flush, a new stream starts
    expect(say('ab')).to.equal('ab');
  });

  it('holds back an EOS that removeSpecial may drop, and emits it if more follows', () => {
    const tok = kjvTokenizer({ 'tokenizer.ggml.add_eos_token': true });
    const d = tok.createStreamDecoder({ removeSpecial: true, special: true });
    expect(d.push(2)).to.equal('');
    expect(d.push(tok.encode('a', { addBos: false, addEos: false })[0])).to.equal('</s> a');
    expect(d.push(2)).to.equal('');
    expect(d.flush()).to.equal('');
  });

  it('rejects ids outside the vocabulary', () => {
    const tok = kjvTokenizer();
    expect(() => tok.createStreamDecoder().push(5000)).to.throw(/outside the vocabulary/);
    expect(() => tok.decode([1, -1])).to.throw(/outside the vocabulary/);
    expect(() => tok.tokenText(2048)).to.throw(/outside the vocabulary/);
  });
});
