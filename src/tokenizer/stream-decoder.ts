/**
 * Incremental decoding, token by token, for printing generated text as it comes.
 *
 * The concatenation of everything `push` and `flush` return equals `decode` of the same
 * ids with the same options. Text is released as soon as it is final:
 *
 * - a character whose UTF-8 bytes span several tokens (byte tokens, or GPT-2 tokens that
 *   cut a character) is held back until its last byte arrives, so no U+FFFD appears in
 *   the middle of one; bytes that can never form a character still become U+FFFD, as in
 *   `decode`;
 * - for models that clean spaces (" ." → "."), bytes are held back until two ordinary
 *   bytes (neither space nor apostrophe) follow them: the cleanup rules look at most
 *   two bytes ahead of such a point, so text before it can no longer change;
 * - with `removeSpecial`, an EOS is held back until the next token shows it was not the
 *   last one.
 */
import { ByteSink, type DecodePlan, type PieceTable, cleanSpaces } from './detokenize.js';
import type { Vocab } from './vocab.js';

/** What `Tokenizer.createStreamDecoder` returns. */
export interface TokenStreamDecoder {
  /** Adds one token; returns the text that became final (possibly empty). */
  push(id: number): string;
  /** Ends the stream: returns what was held back. The decoder then starts a new stream. */
  flush(): string;
}

const SP = 0x20;
const APOS = 0x27;
/** Neither space nor apostrophe; -1 (nothing: the stream's start) counts as ordinary. */
const plain = (b: number) => b !== SP && b !== APOS;

/** The stream decoder of one vocabulary and decoding plan. */
export class StreamDecoder implements TokenStreamDecoder {
  private utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  private first = true;
  private removeSpace: boolean;
  private heldEos = false;
  private pending = new ByteSink();
  /** The last two bytes released (before cleaning), -1 for none. */
  private last1 = -1;
  private last2 = -1;

  constructor(
    private readonly vocab: Vocab,
    private readonly pieces: PieceTable,
    private readonly plan: DecodePlan,
  ) {
    this.removeSpace = plan.stripLeadingSpace;
  }

  /** {@inheritDoc TokenStreamDecoder.push} */
  push(id: number): string {
    this.pieces.check(id);
    const { vocab, plan } = this;
    if (this.first) {
      this.first = false;
      if (plan.removeSpecial && vocab.addBos && id === vocab.bos) {
        this.removeSpace = false; // as detokenize: a removed BOS keeps the next space
        return '';
      }
    }
    let out = '';
    if (this.heldEos) {
      this.heldEos = false;
      out += this.emit(vocab.eos!);
    }
    if (plan.removeSpecial && vocab.addEos && id === vocab.eos) {
      this.heldEos = true;
      return out;
    }
    return out + this.emit(id);
  }

  /** {@inheritDoc TokenStreamDecoder.flush} */
  flush(): string {
    let out = '';
    if (this.vocab.cleanSpaces && this.pending.length > 0) {
      out += this.utf8.decode(cleanSpaces(this.pending.view().slice()), { stream: true });
    }
    out += this.utf8.decode();
    this.first = true;
    this.removeSpace = this.plan.stripLeadingSpace;
    this.heldEos = false; // it was the last token: removed
    this.pending = new ByteSink();
    this.last1 = this.last2 = -1;
    return out;
  }

  private emit(id: number): string {
    let p = this.pieces.piece(id, this.plan.special);
    if (this.removeSpace && p.length > 0 && p[0] === SP) p = p.subarray(1);
    this.removeSpace = false;
    if (!this.vocab.cleanSpaces) return this.utf8.decode(p, { stream: true });
    const pending = this.pending;
    pending.push(p);
    const b = pending.view();
    // The last cut with two ordinary bytes before it (released bytes count).
    const at = (k: number) => (k >= 0 ? b[k] : k === -1 ? this.last1 : this.last2);
    let cut = b.length;
    while (cut >= 1 && !(plain(at(cut - 1)) && plain(at(cut - 2)))) cut--;
    if (cut === 0) return '';
    this.last2 = at(cut - 2);
    this.last1 = b[cut - 1];
    const ready = cleanSpaces(b.slice(0, cut));
    const rest = b.slice(cut);
    this.pending = new ByteSink();
    this.pending.push(rest);
    return this.utf8.decode(ready, { stream: true });
  }
}
