/** Fixture loading for the tokenizer tests: metadata getters as a GGUF reader would give. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Tokenizer, tokenizerFromMetadata } from '../../src/tokenizer/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Parses `test/tokenizer/fixtures/<name>`. */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

/** A metadata getter over a plain record. */
export function getter(meta: Record<string, unknown>): (key: string) => unknown {
  return (key) => meta[key];
}

export interface SpmFixture {
  vocab: { tokens: string[]; scores: number[]; token_type: number[] };
  cases: { text: string; ids: number[] }[];
}

/** The KJV model's metadata, as scripts/train/train.py writes it into the GGUF. */
export function kjvMetadata(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const fx = fixture<SpmFixture>('kjv-spm.json');
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': fx.vocab.tokens,
    'tokenizer.ggml.scores': Float32Array.from(fx.vocab.scores),
    'tokenizer.ggml.token_type': Int32Array.from(fx.vocab.token_type),
    'tokenizer.ggml.bos_token_id': 1,
    'tokenizer.ggml.eos_token_id': 2,
    'tokenizer.ggml.unknown_token_id': 0,
    'tokenizer.ggml.add_bos_token': true,
    'tokenizer.ggml.add_eos_token': false,
    'tokenizer.ggml.add_space_prefix': true,
    ...extra,
  };
}

/** The KJV model's tokenizer. */
export function kjvTokenizer(extra: Record<string, unknown> = {}): Tokenizer {
  return tokenizerFromMetadata(getter(kjvMetadata(extra)));
}

export interface BpeFixture {
  tokens: string[];
  token_type: number[];
  merges: string[];
}

/** Metadata of the tiny byte-level BPE vocabulary with pre-tokenizer `pre`. */
export function tinyBpeMetadata(pre: string | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const fx = fixture<BpeFixture>('tiny-bpe.json');
  return {
    'tokenizer.ggml.model': 'gpt2',
    'tokenizer.ggml.pre': pre,
    'tokenizer.ggml.tokens': fx.tokens,
    'tokenizer.ggml.token_type': Int32Array.from(fx.token_type),
    'tokenizer.ggml.merges': fx.merges,
    'tokenizer.ggml.bos_token_id': fx.tokens.indexOf('<|begin_of_text|>'),
    'tokenizer.ggml.eos_token_id': fx.tokens.indexOf('<|end_of_text|>'),
    ...extra,
  };
}

/** The tiny byte-level BPE tokenizer with pre-tokenizer `pre`. */
export function tinyBpe(pre: string | undefined, extra: Record<string, unknown> = {}): Tokenizer {
  return tokenizerFromMetadata(getter(tinyBpeMetadata(pre, extra)));
}

/** Decodes `ids` one at a time through a stream decoder. */
export function streamed(tok: Tokenizer, ids: readonly number[], opts?: Parameters<Tokenizer['decode']>[1]): string {
  const d = tok.createStreamDecoder(opts);
  let s = '';
  for (const id of ids) s += d.push(id);
  return s + d.flush();
}
