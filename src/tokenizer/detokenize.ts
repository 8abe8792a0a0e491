/**
 * Token ids → text, as llama.cpp's token_to_piece and detokenize.
 *
 * A token's piece is bytes, not text: a byte token is one byte of a character that may
 * span several tokens. Pieces: a normal SentencePiece token is its text with `▁` as a
 * space; a normal GPT-2 token is its characters mapped back to bytes; a byte token
 * (`<0xNN>`) is that byte; control and unknown tokens are nothing unless `special`
 * (then their text, as user-defined tokens always are); unused and undefined tokens are
 * nothing. Decoding concatenates the pieces, removes one leading space from the first one
 * when the model adds a space prefix, and for most GPT-2-style models removes the spaces a
 * tokenizer put before `. , ! ?` and some contractions ("clean spaces").
 */
import { CHAR_TO_BYTE, utf8 } from './unicode.js';
import { A_BYTE, A_CONTROL, A_NORMAL, A_UNKNOWN, A_USER_DEFINED, type Vocab } from './vocab.js';
import { KpcError } from '../errors.js';

/** How token ids become text. */
export interface DecodeOptions {
  /** Render control and unknown tokens as their text (llama.cpp's `unparse_special`). Default false. */
  special?: boolean;
  /**
   * Skip a leading BOS and a trailing EOS when the model adds them (llama.cpp's
   * `remove_special`). As in llama.cpp, skipping the BOS also keeps the first piece's
   * leading space. Default false.
   */
  removeSpecial?: boolean;
  /**
   * Remove one leading space from the first piece (the space the tokenizer's prefix
   * added). Default: the model's `add_space_prefix` (true for SentencePiece models).
   * Pass false to render a continuation of earlier text, as llama.cpp's generation loop
   * prints pieces.
   */
  stripLeadingSpace?: boolean;
}

const EMPTY = new Uint8Array(0);
const SP = 0x20;
const APOS = 0x27;

/** The piece of one token, with llama.cpp's rules; `special` renders control/unknown tokens. */
export class PieceTable {
  private readonly cache: (Uint8Array | undefined)[];

  constructor(private readonly vocab: Vocab) {
    this.cache = new Array(vocab.texts.length);
  }

  /** Throws unless `id` is a token of the vocabulary. */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocab.texts.length) {
      throw new KpcError('TOKENIZER_BAD_VOCAB', `token id ${id} is outside the vocabulary (${this.vocab.texts.length} tokens)`, { id });
    }
  }

  /** Bytes of token `id`. */
  piece(id: number, special: boolean): Uint8Array {
    this.check(id);
    const attr = this.vocab.attrs[id];
    if (!special && attr & (A_UNKNOWN | A_CONTROL)) return EMPTY;
    let p = this.cache[id];
    if (p === undefined) p = this.cache[id] = this.compute(id, attr);
    return p;
  }

  private compute(id: number, attr: number): Uint8Array {
    const text = this.vocab.texts[id];
    if (attr & (A_UNKNOWN | A_CONTROL | A_USER_DEFINED)) return utf8(text);
    if (attr & A_NORMAL) return this.vocab.model === 'llama' ? utf8(text.replaceAll('\u2581', ' ')) : byteDecode(text);
    if (attr & A_BYTE) {
      // strtol on the two characters after "<0x": leading hex digits, else 0.
      const m = /^[0-9a-fA-F]{1,2}/.exec(text.slice(3, 5));
      return Uint8Array.of(m ? parseInt(m[0], 16) & 0xff : 0);
    }
    return EMPTY;
  }
}

/**
 * A GPT-2 token's bytes: each character back to its byte. A character outside the map
 * becomes llama.cpp's marker `[UNK_BYTE_0x…<token text>]`.
 */
function byteDecode(text: string): Uint8Array {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    const b = cp < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[cp] : -1;
    if (b >= 0) out.push(b);
    else {
      const hex = Array.from(utf8(ch), (x) => x.toString(16).padStart(2, '0')).join('');
      out.push(...utf8(`[UNK_BYTE_0x${hex}${text}]`));
    }
  }
  return Uint8Array.from(out);
}

/** A growable byte buffer. */
export class ByteSink {
  bytes = new Uint8Array(256);
  length = 0;

  /** Appends `p`. */
  push(p: Uint8Array): void {
    if (this.length + p.length > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + p.length));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(p, this.length);
    this.length += p.length;
  }

  /** The bytes so far (a view). */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }
}

/**
 * llama.cpp's clean_up_tokenization_spaces, in place, returning the cleaned prefix:
 * " ?" " !" " ." " ," lose the space; " ' " becomes "'"; " 's" " 'm" " 're" " 've" lose
 * the space (" 't" " 'd" " 'll" keep it, as in llama.cpp).
 */
export function cleanSpaces(t: Uint8Array): Uint8Array {
  let total = t.length ? 1 : 0;
  const n1 = t.length;
  for (let i = 1; i < n1; i++) {
    const x = t[i];
    if (t[i - 1] === SP && (x === 0x3f || x === 0x21 || x === 0x2e || x === 0x2c)) total--;
    t[total++] = x;
  }
  const n2 = total;
  total = n2 ? 1 : 0;
  for (let i = 1; i < n2; i++) {
    const x = t[i];
    if (x === APOS && i + 1 < n2 && t[i - 1] === SP && t[i + 1] === SP) {
      total--; // the space before
      t[++i] = 0; // the space after: skipped, and no longer a space for the next test
    }
    t[total++] = x;
  }
  const n3 = total;
  total = n3 ? 1 : 0;
  for (let i = 1; i < n3; i++) {
    const x = t[i];
    if (t[i - 1] === SP && x === APOS && i + 1 < n3) {
      const x1 = t[i + 1];
      if (x1 === 0x73 || x1 === 0x6d) total--; // 's 'm
      else if (x1 !== 0x74 && x1 !== 0x64 && i + 2 < n3) {
        const x2 = t[i + 2];
        if ((x1 === 0x72 || x1 === 0x76) && x2 === 0x65) total--; // 're 've
      }
    }
    t[total++] = x;
  }
  return t.subarray(0, total);
}

/** The decoding plan shared by {@link detokenize} and the stream decoder. */
export interface DecodePlan {
  readonly special: boolean;
  readonly removeSpecial: boolean;
  readonly stripLeadingSpace: boolean;
}

/** Resolves options against the model's defaults. */
export function decodePlan(vocab: Vocab, opts: DecodeOptions = {}): DecodePlan {
  return {
    special: opts.special ?? false,
    removeSpecial: opts.removeSpecial ?? false,
    stripLeadingSpace: opts.stripLeadingSpace ?? vocab.addSpacePrefix,
  };
}

/** The bytes of `ids` decoded by `plan` (llama.cpp's detokenize), before UTF-8 decoding. */
export function detokenizeBytes(ids: readonly number[], vocab: Vocab, pieces: PieceTable, plan: DecodePlan): Uint8Array {
  let from = 0;
  let to = ids.length;
  let removeSpace = plan.stripLeadingSpace;
  if (plan.removeSpecial && vocab.addBos && to > 0 && ids[0] === vocab.bos) {
    removeSpace = false;
    from = 1;
  }
  if (plan.removeSpecial && vocab.addEos && to > from && ids[to - 1] === vocab.eos) to--;
  const sink = new ByteSink();
  for (let i = from; i < to; i++) {
    let p = pieces.piece(ids[i], plan.special);
    if (removeSpace && p.length > 0 && p[0] === SP) p = p.subarray(1);
    removeSpace = false;
    sink.push(p);
  }
  return vocab.cleanSpaces ? cleanSpaces(sink.view()) : sink.view();
}
