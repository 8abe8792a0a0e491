import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { tokenizerFromMetadata } from '../../src/tokenizer/index.js';
import { type SpmFixture, fixture, getter, kjvTokenizer, streamed } from './helpers.js';

/** A hand-made SentencePiece vocabulary: [text, score, type] after <unk> <s> </s>. */
function handmade(entries: [string, number, number][], extra: Record<string, unknown> = {}) {
  const all: [string, number, number][] = [['<unk>', 0, 2], ['<s>', 0, 3], ['</s>', 0, 3], ...entries];
  return tokenizerFromMetadata(
    getter({
      'tokenizer.ggml.model': 'llama',
      'tokenizer.ggml.tokens': all.map((e) => e[0]),
      'tokenizer.ggml.scores': Float32Array.from(all, (e) => e[1]),
      'tokenizer.ggml.token_type': Int32Array.from(all, (e) => e[2]),
      'tokenizer.ggml.add_space_prefix': false,
      ...extra,
    }),
  );
}

const fx = fixture<SpmFixture>('kjv-spm.json');
const tok = kjvTokenizer();

describe('SentencePiece tokenizer (tokenizer.ggml.model = llama)', () => {
  it('reads the model rules from the metadata', () => {
    expect(tok.model).to.equal('llama');
    expect(tok.vocabSize).to.equal(2048);
    expect([tok.bos, tok.eos, tok.unk]).to.deep.equal([1, 2, 0]);
    expect(tok.addBos).to.equal(true);
    expect(tok.addEos).to.equal(false);
    expect(tok.addSpacePrefix).to.equal(true);
    expect(tok.isControl(1)).to.equal(true);
    expect(tok.isControl(3)).to.equal(false); // <0x00>, a byte token
    expect(tok.tokenText(3)).to.equal('<0x00>');
    expect(tok.isEog(2)).to.equal(true);
  });

  it("gives sentencepiece's ids on the whole corpus (Unicode, emoji, CJK, spaces, newlines, tabs, digits, empty)", () => {
    for (const c of fx.cases) {
      expect(tok.encode(c.text, { addBos: false }), JSON.stringify(c.text)).to.deep.equal(c.ids);
    }
  });

  it('adds BOS by the model rule, and EOS when asked', () => {
    const text = 'In the beginning';
    const ids = fx.cases.find((c) => c.text === 'In the beginning God created the heaven and the earth.')!;
    expect(tok.encode(ids.text)).to.deep.equal([1, ...ids.ids]);
    expect(tok.encode('')).to.deep.equal([1]);
    expect(tok.encode('', { addBos: false })).to.deep.equal([]);
    expect(tok.encode(text, { addEos: true }).at(-1)).to.equal(2);
    expect(kjvTokenizer({ 'tokenizer.ggml.add_eos_token': true }).encode('').at(-1)).to.equal(2);
  });

  it('merges the highest score first, ties to the leftmost pair', () => {
    const tok = handmade([['a', -1, 1], ['b', -1, 1], ['c', -1, 1], ['ab', -3, 1], ['bc', -2, 1], ['aa', -5, 1]]);
    expect(tok.encode('abc', { addBos: false })).to.deep.equal([3, 7]); // bc outscores ab
    expect(tok.encode('aaa', { addBos: false })).to.deep.equal([8, 3]); // equal scores: leftmost
    expect(tok.encode('aaaaa', { addBos: false })).to.deep.equal([8, 8, 3]);
  });

  it('honours add_space_prefix = false (no prefix, nothing stripped when decoding)', () => {
    const tok = kjvTokenizer({ 'tokenizer.ggml.add_space_prefix': false });
    const ids = tok.encode('Jesus wept.', { addBos: false });
    expect(tok.tokenText(ids[0]).startsWith('\u2581')).to.equal(false);
    expect(tok.decode(tok.encode(' x', { addBos: false }))).to.equal(' x');
  });

  it('can merge into a byte token spelled out in the text, as llama.cpp (sentencepiece would not)', () => {
    const pieces: [string, number, number][] = [['<0x41>', 0, 6], ['<', -1, 1], ['0', -1, 1], ['x', -1, 1], ['4', -1, 1], ['1', -1, 1], ['>', -1, 1]];
    const merges: [string, number, number][] = [['<0', -2, 1], ['<0x', -3, 1], ['<0x4', -4, 1], ['<0x41', -5, 1]];
    const tok = handmade([...pieces, ...merges]);
    expect(tok.encode('<0x41>', { addBos: false })).to.deep.equal([3]);
    expect(tok.decode([3])).to.equal('A');
  });

  it('falls back to byte tokens for characters with no piece', () => {
    // U+4E2D is not in the KJV vocabulary: its UTF-8 bytes E4 B8 AD become <0xE4> <0xB8> <0xAD>
    const ids = tok.encode('中', { addBos: false });
    const bytes = ids.filter((id) => /^<0x[0-9A-F]{2}>$/.test(tok.tokenText(id))).map((id) => tok.tokenText(id));
    expect(bytes).to.deep.equal(['<0xE4>', '<0xB8>', '<0xAD>']);
    expect(tok.decode(ids)).to.equal('中');
  });

  it('emits the unknown token for a character when the vocabulary has no byte tokens', () => {
    const meta = fixture<SpmFixture>('kjv-spm.json').vocab;
    const keep = meta.tokens.map((t) => !/^<0x[0-9A-F]{2}>$/.test(t));
    const noBytes = kjvTokenizer({
      'tokenizer.ggml.tokens': meta.tokens.filter((_, i) => keep[i]),
      'tokenizer.ggml.scores': Float32Array.from(meta.scores.filter((_, i) => keep[i])),
      'tokenizer.ggml.token_type': Int32Array.from(meta.token_type.filter((_, i) => keep[i])),
    });
    const ids = noBytes.encode('a中b', { addBos: false });
    expect(ids.filter((id) => id === 0)).to.have.length(1);
    expect(noBytes.decode(ids)).to.equal('ab'); // <unk> renders only with special
    expect(noBytes.decode(ids, { special: true })).to.equal('a<unk>b');
  });

  it('treats control-token text as text unless parseSpecial, with a space prefix after each special token', () => {
    const plain = tok.encode('<s>hi', { addBos: false });
    expect(plain).to.not.include(1);
    expect(tok.decode(plain)).to.equal('<s>hi');
    const parsed = tok.encode('<s>hi</s>hi', { addBos: false, parseSpecial: true });
    expect(parsed[0]).to.equal(1);
    // the fragment after a special token gets the space prefix, like the text's start
    expect(parsed.slice(1, parsed.indexOf(2))).to.deep.equal(tok.encode('hi', { addBos: false }));
    expect(parsed.slice(parsed.indexOf(2) + 1)).to.deep.equal(tok.encode('hi', { addBos: false }));
    expect(tok.decode(parsed, { special: true })).to.equal('<s> hi</s> hi');
  });

  it('decodes as llama.cpp detokenize: ▁ is a space, the prefix space is removed, control tokens dropped', () => {
    for (const c of fx.cases) {
      // a literal U+2581 in the input decodes to a space, as in sentencepiece and llama.cpp
      expect(tok.decode(c.ids), JSON.stringify(c.text)).to.equal(c.text.replaceAll('\u2581', ' '));
    }
    const ids = tok.encode('Jesus wept.');
    // with BOS first (not removed), llama.cpp keeps the leading space: BOS took the strip
    expect(tok.decode(ids)).to.equal(' Jesus wept.');
    expect(tok.decode(ids, { removeSpecial: true })).to.equal(' Jesus wept.');
    expect(tok.decode(ids.slice(1))).to.equal('Jesus wept.');
    expect(tok.decode(ids.slice(1), { stripLeadingSpace: false })).to.equal(' Jesus wept.');
    expect(tok.decode(ids, { special: true })).to.equal('<s> Jesus wept.');
    expect(tok.decode([...ids.slice(1), 2])).to.equal('Jesus wept.');
  });

  it('round-trips any string without BOS, decoded at once or token by token', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
        const ids = tok.encode(s, { addBos: false });
        const want = s.replaceAll('\u2581', ' ');
        return tok.decode(ids) === want && streamed(tok, ids) === want;
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a leading U+FEFF and replaces lone surrogates by U+FFFD (as UTF-8 would)', () => {
    expect(tok.decode(tok.encode('\ufeffx', { addBos: false }))).to.equal('\ufeffx');
    expect(tok.decode(tok.encode('a\ud800b', { addBos: false }))).to.equal('a\ufffdb');
  });

  it('encodes a long text linearly enough (merge queue, not rescans)', () => {
    const text = fx.cases.map((c) => c.text).join('\n').repeat(20); // ~100 kB
    const t0 = performance.now();
    const ids = tok.encode(text, { addBos: false });
    const ms = performance.now() - t0;
    expect(tok.decode(ids)).to.equal(text.replaceAll('\u2581', ' '));
    expect(ms).to.be.below(5000);
  });
});
