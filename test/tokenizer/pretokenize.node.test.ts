import { describe, it } from 'node:test';
import { expect } from 'chai';
import fc from 'fast-check';
import { preTokenizer } from '../../src/tokenizer/pre-types.js';
import { collapse, collapsePattern, splitWords } from '../../src/tokenizer/pretokenize.js';
import { codePoints } from '../../src/tokenizer/unicode.js';

/** Words of `text` under pre-tokenizer `name`. */
function split(name: string, text: string): string[] {
  const pre = preTokenizer(name);
  if (pre === undefined) throw new Error(`no pre-tokenizer ${name}`);
  return splitWords(text, pre.splitters);
}

// Expected splits below were worked out by hand from each pattern (leftmost alternative
// wins) and llama.cpp's character classes; comments note the non-obvious steps.
describe('pre-tokenizers', () => {
  it('gpt-2: contractions (case-sensitive), letters, digit runs, punctuation', () => {
    expect(split('gpt-2', 'Hello world')).to.deep.equal(['Hello', ' world']);
    // 'LL is not a contraction for GPT-2: the apostrophe is punctuation, LL letters
    expect(split('gpt-2', "I'm don't you'll WE'LL")).to.deep.equal(['I', "'m", ' don', "'t", ' you', "'ll", ' WE', "'", 'LL']);
    expect(split('gpt-2', 'abc 12345 6')).to.deep.equal(['abc', ' 12345', ' 6']);
    expect(split('gpt-2', '3.14')).to.deep.equal(['3', '.', '14']);
    expect(split('gpt-2', '¡Hola!')).to.deep.equal(['¡', 'Hola', '!']);
  });

  it('gpt-2: whitespace runs leave their last space to the next word', () => {
    expect(split('gpt-2', 'a   b')).to.deep.equal(['a', '  ', ' b']);
    expect(split('gpt-2', 'a  ')).to.deep.equal(['a', '  ']); // at the end the run stays whole
    expect(split('gpt-2', 'a\n\nb')).to.deep.equal(['a', '\n', '\n', 'b']); // only a space prefixes a word
    expect(split('gpt-2', ' \tx')).to.deep.equal([' ', '\t', 'x']);
    expect(split('gpt-2', '')).to.deep.equal([]);
  });

  it('gpt-2: marks are not letters; whitespace is Unicode White_Space, not JavaScript\'s \\s', () => {
    expect(split('gpt-2', 'café')).to.deep.equal(['café']);
    expect(split('gpt-2', 'cafe\u0301')).to.deep.equal(['cafe', '\u0301']);
    // U+0085 is White_Space (JavaScript's \s lacks it): the run " \u0085" keeps its last char
    expect(split('gpt-2', 'a \u0085b')).to.deep.equal(['a', ' ', '\u0085', 'b']);
    // U+FEFF is a format character (JavaScript's \s has it): it joins the space as "other"
    expect(split('gpt-2', 'a \ufeffb')).to.deep.equal(['a', ' \ufeff', 'b']);
    expect(split('gpt-2', 'a\u00a0b')).to.deep.equal(['a', '\u00a0', 'b']);
    expect(split('gpt-2', 'x 😀😀 y')).to.deep.equal(['x', ' 😀😀', ' y']);
  });

  it('llama-bpe (Llama 3): case-insensitive contractions, digits by three, newline runs', () => {
    expect(split('llama-bpe', 'Hello world')).to.deep.equal(['Hello', ' world']);
    expect(split('llama-bpe', "I'M DON'T we'Ll")).to.deep.equal(['I', "'M", ' DON', "'T", ' we', "'Ll"]);
    expect(split('llama-bpe', '1234567')).to.deep.equal(['123', '456', '7']);
    expect(split('llama-bpe', 'abc 12345')).to.deep.equal(['abc', ' ', '123', '45']); // a space never prefixes digits
    expect(split('llama-bpe', 'a   b')).to.deep.equal(['a', '  ', ' b']);
    expect(split('llama-bpe', 'a\n\nb')).to.deep.equal(['a', '\n\n', 'b']);
    expect(split('llama-bpe', 'a  \n  b')).to.deep.equal(['a', '  \n', ' ', ' b']); // up to the last line break
    expect(split('llama-bpe', 'hello!!\n\nworld')).to.deep.equal(['hello', '!!\n\n', 'world']);
    expect(split('llama-bpe', 'hello, world')).to.deep.equal(['hello', ',', ' world']);
    expect(split('llama-bpe', 'hello,world')).to.deep.equal(['hello', ',world']); // one non-letter may lead a word
    expect(split('llama-bpe', '$100')).to.deep.equal(['$', '100']);
    expect(split('llama-bpe', "'hello")).to.deep.equal(["'hello"]);
    expect(split('llama-bpe', '\tx')).to.deep.equal(['\tx']);
    expect(split('llama-bpe', ' \u0085x')).to.deep.equal([' ', '\u0085x']);
    expect(split('llama-bpe', 'end ')).to.deep.equal(['end', ' ']);
  });

  it('qwen2 (general regex path): single digits, letters after one leading non-letter', () => {
    expect(split('qwen2', 'abc 12345')).to.deep.equal(['abc', ' ', '1', '2', '3', '4', '5']);
    expect(split('qwen2', "I'M")).to.deep.equal(['I', "'M"]);
    expect(split('qwen2', 'a\n\nb')).to.deep.equal(['a', '\n\n', 'b']);
    expect(split('qwen2', 'naïve café')).to.deep.equal(['naïve', ' café']);
    expect(split('qwen2', '你好，世界')).to.deep.equal(['你好', '，世界']);
    expect(split('qwen2', 'hi 😀😀 there')).to.deep.equal(['hi', ' 😀😀', ' there']);
    // U+3000 collapses to a whitespace stand-in, which still may lead a word
    expect(split('qwen2', 'a\u3000b')).to.deep.equal(['a', '\u3000b']);
    expect(split('qwen2', 'x  \n')).to.deep.equal(['x', '  \n']);
  });

  it('smollm: digits one by one, then GPT-2 inside each piece', () => {
    expect(split('smollm', 'abc 12345')).to.deep.equal(['abc', ' ', '1', '2', '3', '4', '5']);
    expect(split('smollm', 'x2y')).to.deep.equal(['x', '2', 'y']);
    expect(split('smollm', "it's 42!")).to.deep.equal(['it', "'s", ' ', '4', '2', '!']);
  });

  it('default: punctuation runs, GPT-2, digit runs, then groups of three ASCII digits', () => {
    expect(split('default', 'Hello, world! a+b=c')).to.deep.equal(['Hello', ',', ' world', '!', ' a', '+', 'b', '=', 'c']);
    expect(split('default', '12345678')).to.deep.equal(['123', '456', '78']);
    expect(split('default', 'x 1234')).to.deep.equal(['x', ' ', '123', '4']);
    expect(split('default', 'a~b')).to.deep.equal(['a', '~', 'b']);
  });

  it('collapses text and patterns as llama.cpp does', () => {
    expect(collapse(codePoints('aé 1٣\u00a0😀\u0301\u200b'))).to.equal('a\xd2 1\xd1\x0b\xd5\xd4\xd0');
    expect(collapsePattern(String.raw`[^\s\p{L}\p{N}]+|\p{N}`)).to.equal('[^\\s\xd2A-Za-z\xd10-9]+|[\xd10-9]');
    expect(collapsePattern(String.raw`\p{P}`)).to.equal('[\xd3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}]');
  });

  it('never loses or reorders a character', () => {
    for (const name of ['gpt-2', 'llama-bpe', 'qwen2', 'smollm', 'default', 'falcon', 'tekken', 'gpt-4o']) {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
          const words = split(name, s);
          return words.join('') === s && words.every((w) => w.length > 0);
        }),
        { numRuns: 200 },
      );
    }
  });
});
