/**
 * Word and sentence splitting shared by every quality measure, so that distinct-n, repetition and the
 * detectors all agree on what a "word" is.
 *
 * `Intl.Segmenter` follows Unicode word and sentence boundaries (UAX #29): accented Latin, Cyrillic and
 * Greek words stay whole, scripts without spaces (Chinese, Japanese, Thai) are split into words instead of
 * becoming one giant token, contractions like "don't" stay one word, and punctuation is dropped.
 */

const wordSegmenter = new Intl.Segmenter('und', { granularity: 'word' });
const sentenceSegmenter = new Intl.Segmenter('und', { granularity: 'sentence' });

/** Typographic apostrophes and quotes that models emit interchangeably with the ASCII ones. */
const APOSTROPHES = /[\u2018\u2019\u02BC\uFF07]/g;

/**
 * Every turn is judged against all the turns before it, so each text is tokenised once per later turn of
 * its conversation (and again for the final score): remembering recent texts makes that once. Segmenting
 * is the costliest step of a turn after the model call itself.
 */
const TOKEN_CACHE_LIMIT = 16_384;
const tokenCache = new Map<string, readonly string[]>();

/**
 * Lower-case words of `text`, punctuation stripped. NFKC folds compatibility forms (full-width letters,
 * ligatures) so that "ｆｉｎｅ" and "fine" count as the same word.
 */
export function tokenize(text: string): readonly string[] {
  const cached = tokenCache.get(text);
  if (cached) return cached;
  const folded = text.normalize('NFKC').replace(APOSTROPHES, "'").toLowerCase();
  const words: string[] = [];
  for (const segment of wordSegmenter.segment(folded)) {
    if (segment.isWordLike) words.push(segment.segment);
  }
  // Frozen because it is shared: a caller that tried to change it would corrupt later answers.
  Object.freeze(words);
  if (tokenCache.size >= TOKEN_CACHE_LIMIT) tokenCache.clear();
  tokenCache.set(text, words);
  return words;
}

/** Consecutive runs of `n` tokens, joined by a space (a separator no token contains). */
export function ngrams(tokens: readonly string[], n: number): string[] {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`n-gram size must be a whole number >= 1 (got ${n})`);
  const grams: string[] = [];
  for (let i = 0; i + n <= tokens.length; i++) {
    let gram = tokens[i]!;
    for (let j = 1; j < n; j++) gram += ` ${tokens[i + j]!}`;
    grams.push(gram);
  }
  return grams;
}

/** Sentences of `text`, trimmed, empty ones dropped. */
export function sentences(text: string): string[] {
  const out: string[] = [];
  for (const segment of sentenceSegmenter.segment(text)) {
    const sentence = segment.segment.trim();
    if (sentence) out.push(sentence);
  }
  return out;
}
