import { describe, it } from 'node:test';
import { expect } from 'chai';
import { isKpcError } from '../../src/errors.js';
import { PRE_TOKENIZER_NAMES, tokenizerFromMetadata } from '../../src/tokenizer/index.js';
import { getter, kjvMetadata, tinyBpeMetadata } from './helpers.js';

/** The KpcError code `fn` throws. */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isKpcError(e)) return e.code;
    throw e;
  }
  return undefined;
}

const build = (meta: Record<string, unknown>) => () => tokenizerFromMetadata(getter(meta));

describe('tokenizer metadata', () => {
  it('refuses tokenizer models and pre-tokenizers it does not implement, naming them', () => {
    expect(codeOf(build(kjvMetadata({ 'tokenizer.ggml.model': 't5' })))).to.equal('TOKENIZER_UNSUPPORTED');
    expect(() => build(kjvMetadata({ 'tokenizer.ggml.model': 'bert' }))()).to.throw(/'bert'/);
    expect(codeOf(build(tinyBpeMetadata('deepseek-llm')))).to.equal('TOKENIZER_UNSUPPORTED');
    expect(() => build(tinyBpeMetadata('nonsense'))()).to.throw(/'nonsense'/);
    // llama.cpp's name for GPT-2's pre-tokenizer is "gpt-2"; "gpt2" is unknown to it too
    expect(codeOf(build(tinyBpeMetadata('gpt2')))).to.equal('TOKENIZER_UNSUPPORTED');
    expect(PRE_TOKENIZER_NAMES).to.include.members(['default', 'gpt-2', 'llama-bpe', 'smollm', 'qwen2']);
  });

  it('uses the default pre-tokenizer when the file names none', () => {
    const tok = tokenizerFromMetadata(getter(tinyBpeMetadata(undefined)));
    expect(tok.pre).to.equal('default');
    expect(tok.decode(tok.encode('12345678'))).to.equal('12345678');
  });

  it('refuses missing, ragged or mistyped arrays and duplicate tokens', () => {
    const bad = (extra: Record<string, unknown>) => codeOf(build(kjvMetadata(extra)));
    expect(bad({ 'tokenizer.ggml.tokens': undefined })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.tokens': [] })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.tokens': [1, 2, 3] })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.scores': new Float32Array(10) })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.token_type': new Int32Array(2047) })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.scores': 'nope' })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.add_bos_token': 1 })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.bos_token_id': -3 })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(bad({ 'tokenizer.ggml.model': undefined })).to.equal('TOKENIZER_BAD_VOCAB');
    const tokens = (kjvMetadata()['tokenizer.ggml.tokens'] as string[]).slice();
    tokens[10] = tokens[11];
    expect(bad({ 'tokenizer.ggml.tokens': tokens })).to.equal('TOKENIZER_BAD_VOCAB');
    expect(codeOf(build(tinyBpeMetadata('gpt-2', { 'tokenizer.ggml.merges': undefined })))).to.equal('TOKENIZER_BAD_VOCAB');
  });

  it('accepts plain number arrays, and a bigint id', () => {
    const m = kjvMetadata();
    const tok = tokenizerFromMetadata(
      getter({
        ...m,
        'tokenizer.ggml.scores': Array.from(m['tokenizer.ggml.scores'] as Float32Array),
        'tokenizer.ggml.token_type': Array.from(m['tokenizer.ggml.token_type'] as Int32Array),
        'tokenizer.ggml.eos_token_id': 2n,
      }),
    );
    expect(tok.eos).to.equal(2);
    expect(tok.encode('Jesus wept.')).to.deep.equal(tokenizerFromMetadata(getter(m)).encode('Jesus wept.'));
  });

  it("keeps llama.cpp's defaults for absent or out-of-range special ids", () => {
    const m = kjvMetadata();
    for (const k of ['bos_token_id', 'eos_token_id', 'unknown_token_id', 'add_bos_token', 'add_eos_token', 'add_space_prefix']) {
      delete m[`tokenizer.ggml.${k}`];
    }
    const tok = tokenizerFromMetadata(getter({ ...m, 'tokenizer.ggml.eos_token_id': 99999 }));
    expect([tok.bos, tok.eos, tok.unk, tok.addBos, tok.addEos, tok.addSpacePrefix]).to.deep.equal([1, 2, 0, true, false, true]);
    // BPE: BOS and EOS default to 11 when the vocabulary has it
    const bpe = tokenizerFromMetadata(getter(tinyBpeMetadata('gpt-2', { 'tokenizer.ggml.bos_token_id': undefined, 'tokenizer.ggml.eos_token_id': undefined })));
    expect([bpe.bos, bpe.eos, bpe.unk]).to.deep.equal([11, 11, null]);
  });

  it('refuses an add-BOS rule without a BOS token, as llama.cpp', () => {
    const m = tinyBpeMetadata('llama-bpe', { 'tokenizer.ggml.tokens': ['a', 'b'], 'tokenizer.ggml.token_type': undefined, 'tokenizer.ggml.bos_token_id': undefined, 'tokenizer.ggml.eos_token_id': undefined });
    expect(codeOf(build(m))).to.equal('TOKENIZER_BAD_VOCAB');
    expect(codeOf(build({ ...m, 'tokenizer.ggml.add_bos_token': false }))).to.equal(undefined);
    const noBos = tokenizerFromMetadata(getter({ ...m, 'tokenizer.ggml.add_bos_token': false }));
    expect(codeOf(() => noBos.encode('a', { addBos: true }))).to.equal('TOKENIZER_BAD_VOCAB');
  });

  it('recognizes end-of-turn tokens by their text and makes them control tokens', () => {
    const m = tinyBpeMetadata('llama-bpe');
    const tokens = m['tokenizer.ggml.tokens'] as string[];
    const types = Int32Array.from(m['tokenizer.ggml.token_type'] as Int32Array);
    const eot = tokens.indexOf('<|eot_id|>');
    types[eot] = 1; // a converter that typed it as normal text
    const tok = tokenizerFromMetadata(getter({ ...m, 'tokenizer.ggml.token_type': types }));
    expect(tok.eot).to.equal(eot);
    expect(tok.isControl(eot)).to.equal(true);
    expect(tok.isEog(eot)).to.equal(true);
    expect(tok.isEog(tokens.indexOf('<|end_of_text|>'))).to.equal(true);
    expect(tok.isEog(tokens.indexOf('a'))).to.equal(false);
  });

  it('renames an empty token so it never matches, as llama.cpp', () => {
    const m = kjvMetadata();
    const tokens = (m['tokenizer.ggml.tokens'] as string[]).slice();
    tokens[1000] = '';
    const tok = tokenizerFromMetadata(getter({ ...m, 'tokenizer.ggml.tokens': tokens }));
    expect(tok.tokenText(1000)).to.equal('[EMPTY_1000]');
  });
});
