/**
 * The tokenizer of a GGUF model, built from its metadata, producing the same ids as
 * llama.cpp's `llama_tokenize` and the same text as its `llama_detokenize`.
 *
 * Encoding (llama_vocab::impl::tokenize): special tokens are cut out of the text first
 * (partition.ts); each remaining fragment goes through the model's tokenizer — SPM
 * (spm.ts) with a space prefix on a fragment that starts the text or follows a special
 * token, or byte-level BPE (bpe.ts) after pre-tokenization; BOS/EOS are added by the
 * model's rules unless overridden.
 */
import { MergeHeap } from './heap.js';
import { BpeEncoder } from './bpe.js';
import { type DecodeOptions, PieceTable, decodePlan, detokenizeBytes } from './detokenize.js';
import { partition } from './partition.js';
import { type SpmTables, spmTables, spmTokenize } from './spm.js';
import { StreamDecoder, type TokenStreamDecoder } from './stream-decoder.js';
import { wellFormed } from './unicode.js';
import { A_CONTROL, type MetadataGetter, type Vocab, readVocab } from './vocab.js';
import { KpcError } from '../errors.js';

/** How text becomes token ids. */
export interface EncodeOptions {
  /** Prepend BOS. Default: the model's rule (`tokenizer.ggml.add_bos_token`, else the family default). */
  addBos?: boolean;
  /** Append EOS. Default: the model's rule (`tokenizer.ggml.add_eos_token`, else false). */
  addEos?: boolean;
  /**
   * Turn the texts of control tokens (`<s>`, `<|eot_id|>`, …) into those tokens, as
   * llama.cpp's `parse_special`. Default false: they are ordinary text. User-defined
   * tokens are always recognized, as in llama.cpp.
   */
  parseSpecial?: boolean;
}

/** A GGUF model's tokenizer. Build one with {@link tokenizerFromMetadata}. */
export class Tokenizer {
  /** `tokenizer.ggml.model`: SentencePiece (`llama`) or byte-level BPE (`gpt2`). */
  readonly model: 'llama' | 'gpt2';
  /** `tokenizer.ggml.pre`, or `default` when absent (meaningful for gpt2 models only). */
  readonly pre: string;
  /** Number of tokens. */
  readonly vocabSize: number;
  /** Beginning-of-sequence token, or null when the model has none. */
  readonly bos: number | null;
  /** End-of-sequence token, or null when the model has none. */
  readonly eos: number | null;
  /** End-of-turn token (from metadata or recognized by its text), or null. */
  readonly eot: number | null;
  /** Unknown token, or null. */
  readonly unk: number | null;
  /** Whether `encode` adds BOS by default. */
  readonly addBos: boolean;
  /** Whether `encode` adds EOS by default. */
  readonly addEos: boolean;
  /** Whether a space is put before the text (SentencePiece's dummy prefix). */
  readonly addSpacePrefix: boolean;
  /** Tokens that end generation (EOS, EOT, EOM and those llama.cpp recognizes by text). */
  readonly eog: ReadonlySet<number>;

  private readonly vocab: Vocab;
  private readonly pieces: PieceTable;
  private readonly spm?: SpmTables;
  private readonly heap = new MergeHeap();
  private readonly bpe?: BpeEncoder;

  /** Use {@link tokenizerFromMetadata}. */
  constructor(vocab: Vocab) {
    this.vocab = vocab;
    this.model = vocab.model;
    this.pre = vocab.pre;
    this.vocabSize = vocab.texts.length;
    this.bos = vocab.bos;
    this.eos = vocab.eos;
    this.eot = vocab.eot;
    this.unk = vocab.unk;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    this.addSpacePrefix = vocab.addSpacePrefix;
    this.eog = vocab.eog;
    this.pieces = new PieceTable(vocab);
    if (vocab.model === 'llama') this.spm = spmTables(vocab);
    else this.bpe = new BpeEncoder(vocab);
  }

  /** The token ids of `text`. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new KpcError('INFER_BAD_INPUT', 'the text to encode must be a string');
    const vocab = this.vocab;
    const addBos = opts.addBos ?? vocab.addBos;
    const addEos = opts.addEos ?? vocab.addEos;
    if (addBos && vocab.bos === null) throw new KpcError('TOKENIZER_BAD_VOCAB', 'this model has no BOS token');
    if (addEos && vocab.eos === null) throw new KpcError('TOKENIZER_BAD_VOCAB', 'this model has no EOS token');
    const t = wellFormed(text);
    const out: number[] = [];
    if (addBos) out.push(vocab.bos!);
    let afterSpecial = true; // the text's start counts as "after a special token"
    for (const frag of partition(t, vocab, opts.parseSpecial ?? false)) {
      if ('token' in frag) {
        out.push(frag.token);
        afterSpecial = true;
        continue;
      }
      const piece = t.slice(frag.start, frag.end);
      if (this.spm !== undefined) {
        const prefixed = vocab.addSpacePrefix && afterSpecial ? ' ' + piece : piece;
        spmTokenize(prefixed.replaceAll(' ', '\u2581'), vocab, this.spm, this.heap, out);
      } else this.bpe!.encode(piece, out);
      afterSpecial = false;
    }
    if (addEos) out.push(vocab.eos!);
    return out;
  }

  /** The text of `ids`; see {@link DecodeOptions} (llama.cpp's detokenize rules). */
  decode(ids: readonly number[], opts?: DecodeOptions): string {
    const bytes = detokenizeBytes(ids, this.vocab, this.pieces, decodePlan(this.vocab, opts));
    return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  }

  /**
   * A decoder for ids arriving one at a time; its output, concatenated, equals
   * `decode(ids, opts)`. Pass `{ stripLeadingSpace: false }` to print a continuation of a
   * prompt (the first generated token's space is real).
   */
  createStreamDecoder(opts?: DecodeOptions): TokenStreamDecoder {
    return new StreamDecoder(this.vocab, this.pieces, decodePlan(this.vocab, opts));
  }

  /** The vocabulary text of token `id` (e.g. `▁the`, `<0x0A>`, `Ġthe`). */
  tokenText(id: number): string {
    this.pieces.check(id);
    return this.vocab.texts[id];
  }

  /** The UTF-8 bytes token `id` decodes to on its own (llama.cpp's token_to_piece, no strip). */
  tokenBytes(id: number, opts: { special?: boolean } = {}): Uint8Array {
    return this.pieces.piece(id, opts.special ?? false).slice();
  }

  /** True for control tokens (BOS, EOS, `<|eot_id|>`, …), which decode to nothing by default. */
  isControl(id: number): boolean {
    this.pieces.check(id);
    return (this.vocab.attrs[id] & A_CONTROL) !== 0;
  }

  /** True when sampling `id` ends generation. */
  isEog(id: number): boolean {
    return this.vocab.eog.has(id);
  }
}

/**
 * Builds the tokenizer described by GGUF metadata. `get` returns a key's value (strings,
 * numbers, booleans; `tokenizer.ggml.tokens`/`merges` as string[], `scores` as
 * Float32Array or number[], `token_type` as Int32Array or number[]) or undefined.
 *
 * @throws KpcError `TOKENIZER_UNSUPPORTED` for a `tokenizer.ggml.model` or
 *   `tokenizer.ggml.pre` we do not implement; `TOKENIZER_BAD_VOCAB` for missing, ragged or
 *   mistyped arrays, duplicate tokens, or an add-BOS/EOS rule without the token.
 */
export function tokenizerFromMetadata(get: MetadataGetter): Tokenizer {
  return new Tokenizer(readVocab(get));
}
