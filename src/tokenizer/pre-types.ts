/**
 * The pre-tokenizers of byte-level BPE models, by their GGUF name
 * (`tokenizer.ggml.pre`), with the flags llama.cpp attaches to each name
 * (llama_vocab::impl::load and llm_tokenizer_bpe in src/llama-vocab.cpp).
 *
 * Only names whose patterns run on the machinery we have (the two hand-written matchers,
 * or patterns built from `\p{…}` classes, ASCII and lookaheads) are listed; any other
 * name is refused (TOKENIZER_UNSUPPORTED) rather than tokenized differently.
 */
import { type Splitter, regexSplitter, splitGpt2, splitLlama3 } from './pretokenize.js';

/** What a pre-tokenizer name means. */
export interface PreTokenizer {
  /** The patterns, applied in turn. */
  readonly splitters: readonly Splitter[];
  /** Decoding removes the spaces a tokenizer put before `.,!?` and some contractions. */
  readonly cleanSpaces: boolean;
  /** A whole word found in the vocabulary is one token, whatever the merges say. */
  readonly ignoreMerges: boolean;
  /** Overrides the BPE default of not adding BOS (before `add_bos_token` is read). */
  readonly addBos: boolean;
  /** The model has no BOS token (llama.cpp clears it for ChatGLM). */
  readonly noBos: boolean;
}

const CONTRACTIONS = String.raw`(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])`;
const QWEN2_EXPR =
  CONTRACTIONS + String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const TEKKEN_EXPR = String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const GPT4O_EXPR =
  String.raw`[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))*((?=[\p{L}])([^A-Z]))+` +
  CONTRACTIONS +
  String.raw`?|[^\r\n\p{L}\p{N}]?((?=[\p{L}])([^a-z]))+((?=[\p{L}])([^A-Z]))*` +
  CONTRACTIONS +
  String.raw`?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

interface Family {
  names: readonly string[];
  splitters: () => Splitter[];
  cleanSpaces?: boolean;
  ignoreMerges?: boolean;
  addBos?: boolean;
  noBos?: boolean;
}

const gpt2 = () => [splitGpt2];
const llama3 = () => [splitLlama3];
const qwen2 = () => [regexSplitter(QWEN2_EXPR)];
const digitsThenGpt2 = () => [regexSplitter(String.raw`\p{N}`), splitGpt2];

/**
 * Name groups. `cleanSpaces` defaults to true (llama.cpp's BPE default) and is cleared
 * where llama.cpp clears it.
 */
const FAMILIES: readonly Family[] = [
  {
    names: ['default'],
    splitters: () => [
      regexSplitter(String.raw`[\p{P}\$\+<=>\^~\|]+`),
      splitGpt2,
      regexSplitter(String.raw`\p{N}+`),
      regexSplitter('[0-9][0-9][0-9]'),
    ],
  },
  {
    names: ['llama3', 'llama-v3', 'llama-bpe', 'falcon3', 'falcon-h1', 'pixtral', 'midm-2.0', 'lfm2', 'jina-v5-nano'],
    splitters: llama3,
    ignoreMerges: true,
    addBos: true,
  },
  { names: ['dbrx', 'smaug-bpe'], splitters: llama3 },
  { names: ['glm4', 'chatglm-bpe'], splitters: llama3, noBos: true },
  {
    names: [
      'gpt-2', 'phi-2', 'jina-es', 'jina-de', 'gigachat', 'jina-v2-es', 'jina-v2-de', 'a.x-4.0', 'mellum',
      'modern-bert', 'jina-v1-en', 'jina-v2-code', 'roberta-bpe', 'mpt', 'olmo', 'jais', 'exaone4',
    ],
    splitters: gpt2,
  },
  { names: ['trillion', 'granite-docling'], splitters: gpt2, cleanSpaces: false },
  {
    names: ['falcon'],
    splitters: () => [
      regexSplitter(String.raw`[\p{P}\$\+<=>\^~\|` + '`' + ']+'),
      splitGpt2,
      regexSplitter('[0-9][0-9][0-9]'),
    ],
  },
  { names: ['starcoder', 'refact', 'codeshell', 'exaone', 'minerva-7b', 'mellum2'], splitters: digitsThenGpt2 },
  { names: ['smollm', 'command-r'], splitters: digitsThenGpt2, cleanSpaces: false },
  { names: ['qwen2', 'deepseek-r1-qwen', 'kormo', 'f2llmv2', 'hunyuan', 'solar-open'], splitters: qwen2, cleanSpaces: false },
  { names: ['stablelm2', 'megrez'], splitters: qwen2 },
  { names: ['tekken'], splitters: () => [regexSplitter(TEKKEN_EXPR)], cleanSpaces: false, ignoreMerges: true, addBos: true },
  { names: ['gpt-4o', 'llama4', 'kanana2', 'talkie', 'minimax-m2'], splitters: () => [regexSplitter(GPT4O_EXPR)], cleanSpaces: false },
];

/** Every pre-tokenizer name we accept, for error messages and docs. */
export const PRE_TOKENIZER_NAMES: readonly string[] = FAMILIES.flatMap((f) => f.names);

/** The pre-tokenizer called `name`, or undefined when we do not support it. */
export function preTokenizer(name: string): PreTokenizer | undefined {
  const fam = FAMILIES.find((f) => f.names.includes(name));
  if (fam === undefined) return undefined;
  return {
    splitters: fam.splitters(),
    cleanSpaces: fam.cleanSpaces ?? true,
    ignoreMerges: fam.ignoreMerges ?? false,
    addBos: fam.addBos ?? false,
    noBos: fam.noBos ?? false,
  };
}
