/**
 * Normalised edit similarity of two token sequences: 1 - (word-level Levenshtein distance / longer length).
 * 1 means identical, 0.9 means one word in ten was changed, inserted or dropped.
 */
export function editSimilarity(a: readonly string[], b: readonly string[]): number {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1;
  return 1 - levenshtein(a, b) / longer;
}

/**
 * The best similarity two sequences of these lengths could reach: the length difference alone costs that
 * many insertions. Lets callers skip the quadratic comparison when it cannot reach their threshold.
 */
export function similarityUpperBound(lengthA: number, lengthB: number): number {
  const longer = Math.max(lengthA, lengthB);
  return longer === 0 ? 1 : Math.min(lengthA, lengthB) / longer;
}

function levenshtein(a: readonly string[], b: readonly string[]): number {
  // Two rows instead of the full matrix: turns run to hundreds of words.
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}
