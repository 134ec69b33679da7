import { ngrams, tokenize } from './tokenize.js';

/**
 * Distinct-n (Li et al., 2016): unique n-grams divided by all n-grams, over every text together.
 * N-grams never span two texts, because the end of one turn and the start of the next are not a phrase.
 * Returns 0 when the texts hold no n-gram at all (nothing said is not "perfectly diverse").
 */
export function distinctN(texts: readonly string[], n: number): number {
  return distinctNOfTokens(
    texts.map((text) => tokenize(text)),
    n,
  );
}

/** {@link distinctN} over texts already tokenised, for callers that tokenise once and measure many times. */
export function distinctNOfTokens(tokenised: readonly (readonly string[])[], n: number): number {
  const unique = new Set<string>();
  let total = 0;
  for (const tokens of tokenised) {
    for (const gram of ngrams(tokens, n)) {
      unique.add(gram);
      total++;
    }
  }
  return total === 0 ? 0 : unique.size / total;
}
