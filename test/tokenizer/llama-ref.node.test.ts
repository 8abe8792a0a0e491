/**
 * Our tokenizers against llama.cpp itself (node-llama-cpp, through the repo's pinned
 * reference, scripts/llama-ref/: installed on first use, never skipped).
 *
 * - the KJV model (models/kjv-llama-3m/model-f32.gguf): the sentencepiece corpus, encoded
 *   and decoded (with and without BOS, with and without `special`);
 * - the tiny byte-level BPE vocabulary under every pre-tokenizer family we support, each
 *   written as a vocabulary-only GGUF: hand-picked tricky strings and random ones, with
 *   and without special-token parsing, and random id sequences decoded.
 */
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect } from 'chai';
import fc from 'fast-check';
import { ensureLlamaRef } from '../../scripts/llama-ref/install.mjs';
import { type Tokenizer, tokenizerFromMetadata } from '../../src/tokenizer/index.js';
import { type BpeFixture, type SpmFixture, fixture, getter, kjvTokenizer, tinyBpeMetadata } from './helpers.js';

const KJV = fileURLToPath(new URL('../../models/kjv-llama-3m/model-f32.gguf', import.meta.url));

/** The parts of node-llama-cpp this test uses. */
interface NlcModel {
  tokenize(text: string, specialTokens?: boolean): number[];
  detokenize(tokens: readonly number[], specialTokens?: boolean): string;
  readonly tokens: { shouldPrependBosToken: boolean };
  readonly fileInfo: { metadata: { tokenizer?: { ggml?: { tokens?: readonly string[] } } } };
  dispose(): Promise<void>;
}
interface NlcLlama {
  loadModel(o: Record<string, unknown>): Promise<NlcModel>;
  dispose(): Promise<void>;
}

/** A GGUF v3 file with metadata only (strings, u32, i32 arrays, string arrays). */
function metadataGguf(kv: [string, string | number | string[] | number[]][]): Uint8Array {
  const parts: number[] = [];
  const u32 = (v: number) => parts.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
  const u64 = (v: number) => (u32(v), u32(0));
  const str = (s: string) => {
    const b = new TextEncoder().encode(s);
    u64(b.length);
    for (const x of b) parts.push(x);
  };
  for (const x of new TextEncoder().encode('GGUF')) parts.push(x);
  u32(3);
  u64(0);
  u64(kv.length);
  for (const [k, v] of kv) {
    str(k);
    if (typeof v === 'string') (u32(8), str(v));
    else if (typeof v === 'number') (u32(4), u32(v));
    else if (typeof v[0] === 'string') (u32(9), u32(8), u64(v.length), (v as string[]).forEach(str));
    else (u32(9), u32(5), u64(v.length), (v as number[]).forEach(u32));
  }
  return Uint8Array.from(parts);
}

const TRICKY = [
  "I'm don't you'll WE'LL", 'abc 12345 6', '3.14', '¡Hola!', 'a   b', 'a  ', 'a\n\nb', ' \tx', 'cafe\u0301', 'a \u0085b', 'a \ufeffb',
  'a\u00a0b', 'x 😀😀 y', "I'M DON'T we'Ll", '1234567', 'a  \n  b', 'hello!!\n\nworld', 'hello,world', '$100', "'hello", ' \u0085x',
  'end ', '你好，世界', 'a\u3000b', 'x  \n', 'Hello, world! a+b=c', '12345678', 'x 1234', 'a~b', 'hi<|eot_id|>there', 'a<tool>b',
  "Hello , world ! it ' s", "we 're they 've", '\r\n\r\n', '١٢٣ ٤', 'x\u2028y', 'e\u0301\u0301\u0301', '\u0000\u0007', '',
];

describe('tokenizers against llama.cpp', () => {
  let llama: NlcLlama;
  let dir: string;

  before(async () => {
    const nlc = await import(pathToFileURL(await ensureLlamaRef()).href);
    llama = await nlc.getLlama({
      gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false,
      logLevel: nlc.LlamaLogLevel.error,
      logger() {}, // a vocabulary-only load logs a (harmless) missing-tensor error
    });
    dir = mkdtempSync(join(tmpdir(), 'kpc-tok-'));
  });
  after(async () => {
    await llama?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Compares encoding (both parse modes) and decoding (both render modes) of `text`. */
  function same(ours: Tokenizer, ref: NlcModel, text: string): boolean {
    for (const parseSpecial of [false, true]) {
      const want = Array.from(ref.tokenize(text, parseSpecial));
      expect(ours.encode(text, { addBos: false, parseSpecial }), JSON.stringify(text)).to.deep.equal(want);
      for (const special of [false, true]) {
        expect(ours.decode(want, { special }), JSON.stringify(text)).to.equal(ref.detokenize(want, special));
      }
    }
    return true;
  }

  it('the KJV model: same ids and text as llama.cpp on the sentencepiece corpus', async () => {
    const ref = await llama.loadModel({ modelPath: KJV, vocabOnly: true });
    try {
      const fx = fixture<SpmFixture>('kjv-spm.json');
      expect(ref.fileInfo.metadata.tokenizer?.ggml?.tokens, 'the GGUF vocabulary changed: regenerate fixtures/kjv-spm.json').to.deep.equal(fx.vocab.tokens);
      const tok = kjvTokenizer();
      expect(tok.addBos).to.equal(ref.tokens.shouldPrependBosToken);
      for (const c of fx.cases) {
        same(tok, ref, c.text);
        const withBos = [1, ...c.ids, 2];
        for (const special of [false, true]) expect(tok.decode(withBos, { special })).to.equal(ref.detokenize(withBos, special));
      }
      fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => same(tok, ref, s)), { numRuns: 200 });
    } finally {
      await ref.dispose();
    }
  });

  const bpe = fixture<BpeFixture>('tiny-bpe.json');
  for (const pre of [undefined, 'gpt-2', 'llama-bpe', 'qwen2', 'smollm', 'falcon', 'starcoder', 'tekken', 'gpt-4o', 'stablelm2', 'chatglm-bpe']) {
    it(`byte-level BPE, pre-tokenizer ${pre ?? '(none: default)'}: same ids and text as llama.cpp`, async () => {
      const meta = tinyBpeMetadata(pre);
      const kv: [string, string | number | string[] | number[]][] = [
        ['general.architecture', 'llama'],
        ['llama.context_length', 64], ['llama.embedding_length', 64], ['llama.block_count', 1],
        ['llama.feed_forward_length', 64], ['llama.attention.head_count', 4],
        ['tokenizer.ggml.model', 'gpt2'],
        ['tokenizer.ggml.tokens', bpe.tokens], ['tokenizer.ggml.token_type', bpe.token_type], ['tokenizer.ggml.merges', bpe.merges],
        ['tokenizer.ggml.bos_token_id', meta['tokenizer.ggml.bos_token_id'] as number],
        ['tokenizer.ggml.eos_token_id', meta['tokenizer.ggml.eos_token_id'] as number],
      ];
      if (pre !== undefined) kv.push(['tokenizer.ggml.pre', pre]);
      const path = join(dir, `bpe-${pre ?? 'none'}.gguf`);
      writeFileSync(path, metadataGguf(kv));
      const ref = await llama.loadModel({ modelPath: path, vocabOnly: true });
      try {
        const tok = tokenizerFromMetadata(getter(meta));
        expect(tok.addBos).to.equal(ref.tokens.shouldPrependBosToken);
        for (const t of TRICKY) same(tok, ref, t);
        fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (s) => same(tok, ref, s)), { numRuns: 100 });
        fc.assert(fc.property(fc.stringMatching(/^[ a-zA-Z0-9'.,!?\n\t\r:;$~+-]{0,30}$/), (s) => same(tok, ref, s)), { numRuns: 200 });
        fc.assert(
          fc.property(fc.array(fc.integer({ min: 0, max: bpe.tokens.length - 1 }), { maxLength: 16 }), (ids) => {
            expect(tok.decode(ids)).to.equal(ref.detokenize(ids, false));
            expect(tok.decode(ids, { special: true })).to.equal(ref.detokenize(ids, true));
          }),
          { numRuns: 100 },
        );
      } finally {
        await ref.dispose();
      }
    });
  }
});
