import { Converter } from 'opencc-js/t2cn';

/*
 * What the keyword matcher compares: text folded so that the usual ways of slipping a term
 * past a list do not work. Each code point becomes zero or more characters of a small
 * alphabet (letters and digits only):
 * - NFKC: full-width ＡＢＣ１２３ and other compatibility forms become plain ABC123;
 * - lower case;
 * - traditional Chinese becomes simplified (OpenCC's tables, character by character: the same
 *   folding applies to the list and to the text, so the two always meet);
 * - everything that is not a letter or a digit (spaces, punctuation, symbols, emoji,
 *   zero-width characters, combining marks) is dropped, so "敏 感", "敏.感" and "敏😀感" read
 *   as "敏感".
 * The price: terms match as substrings of the folded text, across word boundaries ("ass"
 * is in "class"), so a list should hold distinctive terms.
 */

const toSimplified = Converter({ from: 't', to: 'cn' });
const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;
const HAN = /\p{Script=Han}/u;

/** Folded forms of the non-ASCII code points seen so far: bounded, so odd input cannot grow it without end. */
const cache = new Map<number, string>();
const CACHE_LIMIT = 65_536;

function foldSlow(cp: number): string {
  let out = '';
  for (const ch of String.fromCodePoint(cp).normalize('NFKC').toLowerCase()) {
    if (!LETTER_OR_DIGIT.test(ch)) continue;
    out += HAN.test(ch) ? toSimplified(ch) : ch;
  }
  return out;
}

/** The folded form of one code point ('' when it does not count). */
export function foldCodePoint(cp: number): string {
  // ASCII, the bulk of most text, without a lookup.
  if (cp < 128) {
    if ((cp >= 48 && cp <= 57) || (cp >= 97 && cp <= 122)) return String.fromCharCode(cp);
    if (cp >= 65 && cp <= 90) return String.fromCharCode(cp + 32);
    return '';
  }
  const known = cache.get(cp);
  if (known !== undefined) return known;
  const folded = foldSlow(cp);
  if (cache.size < CACHE_LIMIT) cache.set(cp, folded);
  return folded;
}

/** A whole string folded (for list terms and tests). */
export function fold(text: string): string {
  let out = '';
  for (const ch of text) out += foldCodePoint(ch.codePointAt(0)!);
  return out;
}
