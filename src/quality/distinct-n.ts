import { tokenize } from './tokenize.js';

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
  // The n-grams of `ngrams`, added as they are built rather than gathered in an array per text first.
  const valid = Number.isInteger(n) && n >= 1;
  const unique = new Set<string>();
  let total = 0;
  for (const tokens of tokenised) {
    // Checked per text, as `ngrams` does, so that no text at all is still 0 whatever `n` is.
    if (!valid) throw new RangeError(`n-gram size must be a whole number >= 1 (got ${n})`);
    for (let i = 0; i + n <= tokens.length; i++) {
      let gram = tokens[i]!;
      for (let j = 1; j < n; j++) gram += ` ${tokens[i + j]!}`;
      unique.add(gram);
      total++;
    }
  }
  return total === 0 ? 0 : unique.size / total;
}
