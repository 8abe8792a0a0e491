/**
 * The vocabulary of a GGUF model, read from its metadata the way llama.cpp's
 * `llama_vocab::impl::load` reads it: token texts, scores and types, the special token
 * ids with llama.cpp's per-model defaults, the add-BOS/EOS rules, and the
 * end-of-generation set, including llama.cpp's recognition of well-known control tokens
 * by their text (a GGUF converter may have typed `<|eot_id|>` as a normal token).
 */
import { KpcError } from '../errors.js';
import { type PreTokenizer, PRE_TOKENIZER_NAMES, preTokenizer } from './pre-types.js';
import { utf8 } from './unicode.js';

/** Reads one metadata value; undefined when the key is absent. */
export type MetadataGetter = (key: string) => unknown;

/** Token attributes (bit set), as llama.cpp derives them from `tokenizer.ggml.token_type`. */
export const A_UNKNOWN = 1 << 0;
export const A_UNUSED = 1 << 1;
export const A_NORMAL = 1 << 2;
export const A_CONTROL = 1 << 3;
export const A_USER_DEFINED = 1 << 4;
export const A_BYTE = 1 << 5;

/** GGUF token type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte) → attributes. */
function attrOfType(t: number): number {
  switch (t) {
    case 1: return A_NORMAL;
    case 2: return A_UNKNOWN;
    case 3: return A_CONTROL;
    case 4: return A_USER_DEFINED;
    case 5: return A_UNUSED;
    case 6: return A_BYTE;
    default: return 0; // undefined: neither encoded specially nor rendered
  }
}

/** Everything the encoders and decoders need to know about a vocabulary. */
export interface Vocab {
  /** `tokenizer.ggml.model`. */
  readonly model: 'llama' | 'gpt2';
  /** `tokenizer.ggml.pre`, or `default`. */
  readonly pre: string;
  /** Token texts by id (an empty text renamed `[EMPTY_<id>]`, as llama.cpp). */
  readonly texts: readonly string[];
  /** Token scores by id (0 when the file has none). */
  readonly scores: Float32Array;
  /** Token attributes by id (`A_*` bits). */
  readonly attrs: Uint16Array;
  /** Token id by text. */
  readonly idOf: ReadonlyMap<string, number>;
  /** BPE merge ranks keyed `left + ' ' + right` (gpt2 only). */
  readonly ranks: ReadonlyMap<string, number>;
  /** The pre-tokenizer (gpt2 only). */
  readonly preTokenizer?: PreTokenizer;
  /** Special token ids; null when absent. */
  readonly bos: number | null;
  readonly eos: number | null;
  readonly eot: number | null;
  readonly unk: number | null;
  /** Whether encoding adds BOS / EOS by default. */
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** SentencePiece's dummy prefix: a space before the text, stripped again by decoding. */
  readonly addSpacePrefix: boolean;
  /** Decoding removes spaces before punctuation and some contractions. */
  readonly cleanSpaces: boolean;
  /** Tokens that end generation. */
  readonly eog: ReadonlySet<number>;
  /** Control, user-defined and unknown tokens, longest text first (tokenizer_st_partition's order). */
  readonly specials: readonly number[];
}

function bad(message: string, detail?: Record<string, unknown>): never {
  throw new KpcError('TOKENIZER_BAD_VOCAB', message, detail);
}

function numberArray(get: MetadataGetter, key: string, n: number): ArrayLike<number> | undefined {
  const v = get(key);
  if (v === undefined) return undefined;
  const ok = v instanceof Float32Array || v instanceof Int32Array || (Array.isArray(v) && v.every((x) => typeof x === 'number'));
  if (!ok) bad(`${key} must be an array of numbers`, { key });
  const arr = v as ArrayLike<number>;
  if (arr.length < n) bad(`${key} has ${arr.length} entries for ${n} tokens`, { key, length: arr.length, tokens: n });
  return arr;
}

function stringArray(get: MetadataGetter, key: string): string[] | undefined {
  const v = get(key);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) bad(`${key} must be an array of strings`, { key });
  return v as string[];
}

function optBool(get: MetadataGetter, key: string): boolean | undefined {
  const v = get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') bad(`${key} must be a boolean`, { key });
  return v;
}

function optId(get: MetadataGetter, key: string): number | undefined {
  const v = get(key);
  if (v === undefined) return undefined;
  const n = typeof v === 'bigint' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) bad(`${key} must be a token id`, { key });
  return n;
}

/** Texts llama.cpp recognizes as end-of-turn / end-of-generation tokens. */
const EOT_TEXTS = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>', '_<EOT>', '[EOT]', '<｜end▁of▁sentence｜>', '<end_of_utterance>'];
const EOG_TEXTS = [
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>', '<|endoftext|>',
  '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>', '<eos>', '<turn|>',
  '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
];
const FIM_PAD_TEXTS = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REP_TEXTS = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEP_TEXTS = ['<|file_sep|>'];
/** FIM prefix/suffix/middle: the file's key first, then the texts llama.cpp looks for. */
const FIM_OTHER_TEXTS = [
  ['tokenizer.ggml.fim_pre_token_id', '<|fim_prefix|>', '<fim-prefix>', '<fim_prefix>', '<｜fim▁begin｜>', '<PRE>', '▁<PRE>', '<|code_prefix|>', '<|prefix|>'],
  ['tokenizer.ggml.fim_suf_token_id', '<|fim_suffix|>', '<fim-suffix>', '<fim_suffix>', '<｜fim▁hole｜>', '<SUF>', '▁<SUF>', '<|code_suffix|>', '<|suffix|>'],
  ['tokenizer.ggml.fim_mid_token_id', '<|fim_middle|>', '<fim-middle>', '<fim_middle>', '<｜fim▁end｜>', '<MID>', '▁<MID>', '<|code_middle|>', '<|middle|>'],
];
/** gpt-oss tokens llama.cpp always renders (forced to user-defined). */
const ALWAYS_RENDERED = ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>'];

/** Builds the vocabulary from GGUF metadata; throws KpcError on anything llama.cpp would refuse. */
export function readVocab(get: MetadataGetter): Vocab {
  const model = get('tokenizer.ggml.model');
  if (model === undefined) bad('tokenizer.ggml.model is missing');
  if (model !== 'llama' && model !== 'gpt2') {
    throw new KpcError('TOKENIZER_UNSUPPORTED', `tokenizer model '${String(model)}' is not supported (llama, gpt2)`, { model });
  }
  const preRaw = get('tokenizer.ggml.pre');
  if (preRaw !== undefined && typeof preRaw !== 'string') bad('tokenizer.ggml.pre must be a string');
  let pre: PreTokenizer | undefined;
  if (model === 'gpt2') {
    // An absent name means llama.cpp's 'default' patterns (it warns the output degrades).
    pre = preTokenizer(preRaw === undefined || preRaw === '' ? 'default' : preRaw);
    if (pre === undefined) {
      throw new KpcError('TOKENIZER_UNSUPPORTED', `pre-tokenizer '${preRaw}' is not supported`, { pre: preRaw, supported: PRE_TOKENIZER_NAMES });
    }
  }

  const tokens = stringArray(get, 'tokenizer.ggml.tokens');
  if (tokens === undefined || tokens.length === 0) bad('tokenizer.ggml.tokens is missing or empty');
  const n = tokens.length;
  // The merge queue packs token ids and merge ranks in 21 bits (see heap.ts).
  if (n >= 2 ** 21) bad(`${n} tokens: at most ${2 ** 21 - 1} are supported`);
  const scoresIn = numberArray(get, 'tokenizer.ggml.scores', n);
  const typesIn = numberArray(get, 'tokenizer.ggml.token_type', n);

  const texts: string[] = new Array(n);
  const scores = new Float32Array(n);
  const attrs = new Uint16Array(n);
  const idOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    // llama.cpp renames an empty token so that no empty text can ever match.
    const text = tokens[i] === '' ? `[EMPTY_${i}]` : tokens[i];
    if (idOf.has(text)) bad(`duplicate token '${text}' (ids ${idOf.get(text)} and ${i})`, { id: i });
    idOf.set(text, i);
    texts[i] = text;
    scores[i] = scoresIn ? scoresIn[i] : 0;
    attrs[i] = typesIn ? attrOfType(typesIn[i]) : A_NORMAL;
  }

  const ranks = new Map<string, number>();
  if (model === 'gpt2') {
    const merges = stringArray(get, 'tokenizer.ggml.merges');
    if (merges === undefined) bad('tokenizer.ggml.merges is missing');
    if (merges.length >= 2 ** 21 - 1) bad(`${merges.length} merges: at most ${2 ** 21 - 2} are supported`);
    merges.forEach((m, rank) => {
      // Split at the first space after the first character; a line without one is the
      // pair ("", "") in llama.cpp, which no symbol pair can ever look up.
      const at = m.indexOf(' ', 1);
      const key = at < 0 ? ' ' : m.slice(0, at) + ' ' + m.slice(at + 1);
      if (!ranks.has(key)) ranks.set(key, rank); // first rank wins, as emplace does
    });
  }

  // Defaults per model family, then the file's ids (an out-of-range id keeps the default).
  const inRange = (id: number | null) => (id !== null && id < n ? id : null);
  let bos = inRange(model === 'llama' ? 1 : 11);
  let eos = inRange(model === 'llama' ? 2 : 11);
  let unk = inRange(model === 'llama' ? 0 : null);
  if (pre?.noBos) bos = null;
  let eot: number | null = null;
  let eom: number | null = null;
  let fimPad: number | null = null;
  let fimRep: number | null = null;
  let fimSep: number | null = null;
  const fileId = (key: string, cur: number | null) => {
    const id = optId(get, key);
    return id !== undefined && id < n ? id : cur;
  };
  bos = fileId('tokenizer.ggml.bos_token_id', bos);
  eos = fileId('tokenizer.ggml.eos_token_id', eos);
  unk = fileId('tokenizer.ggml.unknown_token_id', unk);
  eot = fileId('tokenizer.ggml.eot_token_id', eot);
  eom = fileId('tokenizer.ggml.eom_token_id', eom);
  fimPad = fileId('tokenizer.ggml.fim_pad_token_id', fimPad);
  fimRep = fileId('tokenizer.ggml.fim_rep_token_id', fimRep);
  fimSep = fileId('tokenizer.ggml.fim_sep_token_id', fimSep);

  let addBos = model === 'llama' ? true : pre!.addBos;
  let addEos = false;
  addBos = optBool(get, 'tokenizer.ggml.add_bos_token') ?? addBos;
  addEos = optBool(get, 'tokenizer.ggml.add_eos_token') ?? addEos;
  if (addBos && bos === null) bad('tokenizer.ggml.add_bos_token is true, but there is no BOS token');
  if (addEos && eos === null) bad('tokenizer.ggml.add_eos_token is true, but there is no EOS token');
  // add_space_prefix: SentencePiece's dummy prefix, default on for llama, off for gpt2.
  const addSpacePrefix = optBool(get, 'tokenizer.ggml.add_space_prefix') ?? model === 'llama';

  // Recognize control tokens by text, as llama.cpp does for ids the file leaves unset.
  // llama.cpp takes the first match of a hash-map walk, an arbitrary pick among several
  // candidates (Llama 3 has <|eot_id|> and <|end_of_text|>); we take the first in list
  // order, which names the end-of-turn token of the known chat formats.
  const control = (id: number) => (attrs[id] |= A_CONTROL);
  const byText = (cur: number | null, list: readonly string[]) => {
    if (cur !== null) return cur;
    for (const t of list) {
      const id = idOf.get(t);
      if (id !== undefined) {
        control(id);
        return id;
      }
    }
    return null;
  };
  eot = byText(eot, EOT_TEXTS);
  eom = byText(eom, ['<|eom_id|>']);
  for (const list of FIM_OTHER_TEXTS) byText(fileId(list[0], null), list.slice(1));
  fimPad = byText(fimPad, FIM_PAD_TEXTS);
  fimRep = byText(fimRep, FIM_REP_TEXTS);
  fimSep = byText(fimSep, FIM_SEP_TEXTS);

  const eog = new Set<number>();
  for (const id of [fimPad, fimRep, fimSep]) if (id !== null) eog.add(id);
  for (let i = 0; i < n; i++) {
    if (EOG_TEXTS.includes(texts[i])) {
      eog.add(i);
      control(i);
    }
  }
  for (let i = 0; i < n; i++) if (ALWAYS_RENDERED.includes(texts[i])) attrs[i] = A_USER_DEFINED;
  for (const id of [eos, eot, eom]) if (id !== null) eog.add(id);
  workarounds(texts, attrs, eog);

  const specials: number[] = [];
  for (let i = 0; i < n; i++) if (attrs[i] & (A_CONTROL | A_USER_DEFINED | A_UNKNOWN)) specials.push(i);
  // By UTF-8 length, as llama.cpp compares std::string sizes (stable, so ties keep id order).
  const bytes = new Map(specials.map((id) => [id, utf8(texts[id]).length]));
  specials.sort((a, b) => bytes.get(b)! - bytes.get(a)! || a - b);

  return {
    model, pre: typeof preRaw === 'string' && preRaw !== '' ? preRaw : 'default', texts, scores, attrs, idOf, ranks,
    preTokenizer: pre, bos, eos, eot, unk, addBos, addEos, addSpacePrefix,
    cleanSpaces: model === 'gpt2' ? pre!.cleanSpaces : false, eog, specials,
  };
}

/** llama.cpp's two vocabulary-specific EOG fixes (o200k_harmony / solar-open, gemma4 / paddleocr). */
function workarounds(texts: readonly string[], attrs: Uint16Array, eog: Set<number>): void {
  const inEog = (t: string) => [...eog].find((id) => texts[id] === t);
  const end = inEog('<|end|>');
  const has = (t: string) => inEog(t) !== undefined;
  const call = has('<|call|>') || has('<|calls|>');
  if (end !== undefined && call && (has('<|return|>') || has('<|flush|>'))) {
    eog.delete(end);
    attrs[end] = A_USER_DEFINED;
  }
  const s = inEog('</s>');
  if (s !== undefined && has('<|tool_response>')) {
    eog.delete(s);
    attrs[s] = A_NORMAL;
  }
}
