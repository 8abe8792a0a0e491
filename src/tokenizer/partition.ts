/**
 * Special-token partitioning (llama.cpp's tokenizer_st_partition): before a text is
 * tokenized, occurrences of special tokens' texts are cut out of it and become those
 * tokens directly; only the text between them goes through the model's tokenizer.
 *
 * Tokens are tried longest text first; each one splits every remaining text fragment at
 * its occurrences, left to right. User-defined tokens are always split out; control and
 * unknown tokens only when `parseSpecial` (otherwise `<s>` in a prompt is plain text).
 */
import { A_CONTROL, A_UNKNOWN, type Vocab } from './vocab.js';

/** A piece of the input: a token already decided, or a raw-text slice `[start, end)`. */
export type Fragment = { readonly token: number } | { readonly start: number; readonly end: number };

/** The fragments of `text`; none for an empty text. */
export function partition(text: string, vocab: Vocab, parseSpecial: boolean): Fragment[] {
  let frags: Fragment[] = text.length > 0 ? [{ start: 0, end: text.length }] : [];
  for (const id of vocab.specials) {
    if (!parseSpecial && vocab.attrs[id] & (A_CONTROL | A_UNKNOWN)) continue;
    const needle = vocab.texts[id];
    // Next occurrence at or after `from`. Fragments come in text order, so a hit found
    // past the current fragment is reused for the next ones: one linear scan per token.
    let hit = -1;
    const find = (from: number) => {
      if (hit < from) {
        hit = text.indexOf(needle, from);
        if (hit < 0) hit = Infinity;
      }
      return hit;
    };
    let next: Fragment[] | undefined;
    for (let f = 0; f < frags.length; f++) {
      const frag = frags[f];
      if ('token' in frag) {
        next?.push(frag);
        continue;
      }
      let at = find(frag.start);
      if (at + needle.length > frag.end) {
        next?.push(frag);
        continue;
      }
      // First hit anywhere: copy what came before, then split this fragment.
      next ??= frags.slice(0, f);
      let from = frag.start;
      while (at + needle.length <= frag.end) {
        if (at > from) next.push({ start: from, end: at });
        next.push({ token: id });
        from = at + needle.length;
        at = find(from);
      }
      if (from < frag.end) next.push({ start: from, end: frag.end });
    }
    if (next !== undefined) frags = next;
  }
  return frags;
}
