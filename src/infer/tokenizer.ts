/**
 * The byte-level tokenizer: token t < 256 is the byte t of the text's UTF-8 encoding;
 * 256, 257, 258 are BOS, EOS and PAD. No vocabulary file, no merges: nothing to
 * download, and any string round-trips.
 *
 * A model emits one byte at a time, so a character of 2–4 UTF-8 bytes arrives over
 * several tokens, and an untrained model emits invalid sequences too. Decoding follows
 * the WHATWG UTF-8 decoder (`TextDecoder`, specified byte for byte, hence the same in
 * every engine): a streaming decoder holds an incomplete sequence back until it is
 * complete, and a malformed one becomes U+FFFD. Splitting the bytes anywhere never
 * changes the decoded text. A leading U+FEFF is kept (`ignoreBOM`), so it round-trips too.
 */
import { KpcError } from '../errors.js';

/** Beginning of sequence: prepended to every prompt. */
export const BOS = 256;
/** End of sequence: generation stops when it is sampled. */
export const EOS = 257;
/** Padding: never sampled, never in a prompt (reserved for batching). */
export const PAD = 258;

const encoder = new TextEncoder();

/**
 * Tokens of `text`: its UTF-8 bytes, with BOS first when `bos` (default true). A lone
 * surrogate encodes as U+FFFD (EF BF BD), as `TextEncoder` does everywhere.
 */
export function encode(text: string, bos = true): number[] {
  if (typeof text !== 'string') throw new KpcError('INFER_BAD_INPUT', 'the prompt must be a string');
  const bytes = encoder.encode(text);
  const out: number[] = bos ? [BOS] : [];
  for (let i = 0; i < bytes.length; i++) out.push(bytes[i]);
  return out;
}

/** The byte tokens of `tokens` (specials dropped) as bytes. */
function bytesOf(tokens: ArrayLike<number>): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (Number.isInteger(t) && t >= 0 && t < 256) out.push(t);
  }
  return Uint8Array.from(out);
}

/** Text of `tokens`: byte tokens decoded as UTF-8 (malformed sequences → U+FFFD), specials dropped. */
export function decode(tokens: ArrayLike<number>): string {
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytesOf(tokens));
}

/**
 * Decodes a token stream one token at a time. {@link StreamDecoder.push} returns the
 * text completed by this token ('' while a multi-byte character is still incomplete);
 * {@link StreamDecoder.flush} returns what an unfinished sequence decodes to at the end
 * (U+FFFD per malformed part). The concatenation of all results equals {@link decode}
 * of all tokens.
 */
export class StreamDecoder {
  #decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  #one = new Uint8Array(1);

  /** Feeds one token; specials produce ''. */
  push(token: number): string {
    if (!(Number.isInteger(token) && token >= 0 && token < 256)) return '';
    this.#one[0] = token;
    return this.#decoder.decode(this.#one, { stream: true });
  }

  /** Ends the stream; the decoder can be used again afterwards. */
  flush(): string {
    return this.#decoder.decode();
  }
}
