import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { tokenizerFromMetadata } from '../../src/tokenizer/index.js';
import { type BpeFixture, fixture, getter, streamed, tinyBpe } from './helpers.js';

const fx = fixture<BpeFixture>('tiny-bpe.json');
const id = (t: string) => {
  const i = fx.tokens.indexOf(t);
  if (i < 0) throw new Error(`no token ${t}`);
  return i;
};

/** A hand-made vocabulary: the 256 byte characters are not needed for these words. */
function handmade(tokens: string[], merges: string[], pre = 'gpt-2') {
  return tokenizerFromMetadata(
    getter({
      'tokenizer.ggml.model': 'gpt2',
      'tokenizer.ggml.pre': pre,
      'tokenizer.ggml.tokens': tokens,
      'tokenizer.ggml.merges': merges,
      'tokenizer.ggml.add_bos_token': false, // no BOS in these vocabularies
    }),
  );
}

describe('byte-level BPE tokenizer (tokenizer.ggml.model = gpt2)', () => {
  it('merges the lowest-ranked pair first', () => {
    const tok = handmade(['a', 'b', 'c', 'ab', 'bc', 'abc'], ['b c', 'a b', 'a bc']);
    // (b,c) outranks (a,b): a + bc, then (a,bc) → abc
    expect(tok.encode('abc')).to.deep.equal([5]);
    const tok2 = handmade(['a', 'b', 'c', 'ab', 'bc', 'abc'], ['a b', 'b c', 'ab c']);
    expect(tok2.encode('abc')).to.deep.equal([5]);
    const tok3 = handmade(['a', 'b', 'c', 'ab', 'bc'], ['a b', 'b c']);
    expect(tok3.encode('abc')).to.deep.equal([3, 2]); // ab, then (ab,c) has no merge
  });

  it('breaks rank ties by position: the leftmost pair merges first', () => {
    const tok = handmade(['a', 'aa'], ['a a']);
    expect(tok.encode('aaa')).to.deep.equal([1, 0]);
    expect(tok.encode('aaaaa')).to.deep.equal([1, 1, 0]);
  });

  it('keeps the first rank of a merge listed twice (as llama.cpp)', () => {
    const tok = handmade(['a', 'b', 'c', 'ab', 'bc'], ['a b', 'b c', 'a b']);
    expect(tok.encode('abc')).to.deep.equal([3, 2]);
  });

  it('encodes words of the fixture vocabulary', () => {
    const tok = tinyBpe('gpt-2');
    expect(tok.encode(' the')).to.deep.equal([id('Ġthe')]);
    expect(tok.encode('And')).to.deep.equal([id('And')]);
    expect(tok.encode('the the')).to.deep.equal([id('th'), id('e'), id('Ġthe')]);
    // bytes of characters outside every merge are the byte tokens: é is C3 A9 → Ã ©
    expect(tok.encode('é')).to.deep.equal([id('Ã'), id('©')]);
    expect(tok.tokenBytes(id('Ġthe'))).to.deep.equal(new TextEncoder().encode(' the'));
  });

  it('BOS follows the pre-tokenizer default and add_bos_token; llama-bpe adds it', () => {
    expect(tinyBpe('gpt-2').addBos).to.equal(false);
    expect(tinyBpe('gpt-2').encode('x')).to.deep.equal([id('x')]);
    expect(tinyBpe('llama-bpe').addBos).to.equal(true);
    expect(tinyBpe('llama-bpe').encode('x')).to.deep.equal([id('<|begin_of_text|>'), id('x')]);
    expect(tinyBpe('gpt-2', { 'tokenizer.ggml.add_bos_token': true }).encode('x')[0]).to.equal(id('<|begin_of_text|>'));
    expect(tinyBpe('llama-bpe').encode('x', { addBos: false })).to.deep.equal([id('x')]);
  });

  it('Llama 3 ignores merges for a word that is a token as a whole', () => {
    // "ab" is a token but no merge makes it: gpt-2 spells it a, b; llama-bpe takes the token
    const tokens = ['a', 'b', 'ab'];
    expect(handmade(tokens, ['x y'], 'gpt-2').encode('ab')).to.deep.equal([0, 1]);
    expect(handmade(tokens, ['x y'], 'llama-bpe').encode('ab', { addBos: false })).to.deep.equal([2]);
  });

  it('splits out special tokens: control ones only with parseSpecial, user-defined always', () => {
    const tok = tinyBpe('llama-bpe');
    const eot = id('<|eot_id|>');
    const parsed = tok.encode('hi<|eot_id|>there', { addBos: false, parseSpecial: true });
    expect(parsed).to.include(eot);
    expect(tok.decode(parsed)).to.equal('hithere');
    expect(tok.decode(parsed, { special: true })).to.equal('hi<|eot_id|>there');
    const plain = tok.encode('hi<|eot_id|>there', { addBos: false });
    expect(plain).to.not.include(eot);
    expect(tok.decode(plain)).to.equal('hi<|eot_id|>there');
    // <tool> is user-defined: split out even without parseSpecial, and always rendered
    const tool = tok.encode('a<tool>b', { addBos: false });
    expect(tool).to.deep.equal([id('a'), id('<tool>'), id('b')]);
    expect(tok.decode(tool)).to.equal('a<tool>b');
    expect(tok.isEog(eot)).to.equal(true);
    expect(tok.eot).to.equal(eot);
  });

  it('round-trips any string (pre-tokenizers without space cleaning)', () => {
    for (const pre of ['qwen2', 'smollm', 'tekken']) {
      const tok = tinyBpe(pre);
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 50 }), (s) => {
          const ids = tok.encode(s, { addBos: false });
          return tok.decode(ids) === s && streamed(tok, ids) === s;
        }),
        { numRuns: 150 },
      );
    }
  });

  it('cleans spaces before punctuation and some contractions when the pre-tokenizer says so (gpt-2, llama3)', () => {
    const tok = tinyBpe('gpt-2');
    const enc = (s: string) => tok.encode(s);
    expect(tok.decode(enc('Hello , world ! Yes . No ? a , b'))).to.equal('Hello, world! Yes. No? a, b');
    expect(tok.decode(enc("it ' s"))).to.equal("it's");
    expect(tok.decode(enc("we 're they 've he 's I 'm"))).to.equal("we're they've he's I'm");
    expect(tok.decode(enc("don 't I 'd we 'll"))).to.equal("don 't I 'd we 'll"); // llama.cpp keeps these
    expect(tok.decode(enc("a ' b"))).to.equal("a'b");
    expect(tinyBpe('qwen2').decode(enc('Hello , world !'))).to.equal('Hello , world !');
    // and plain text is untouched
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z\n]{0,30}$/), (s) => tok.decode(tok.encode(s)) === s),
      { numRuns: 100 },
    );
  });

  it('decodes a character split across byte-level tokens only once complete', () => {
    const tok = tinyBpe('gpt-2');
    const ids = tok.encode('😀'); // F0 9F 98 80, four byte tokens
    expect(ids).to.have.length(4);
    const d = tok.createStreamDecoder();
    expect(ids.slice(0, 3).map((i) => d.push(i))).to.deep.equal(['', '', '']);
    expect(d.push(ids[3])).to.equal('😀');
    expect(d.flush()).to.equal('');
  });
});
