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

/**
 * {@link editSimilarity} when it is at least `min`, otherwise undefined, for callers that only care above a
 * threshold: the distance is computed in the diagonal band it may reach (at most `(1 - min) × longer`
 * edits) and given up as soon as a whole row exceeds it, so dissimilar turns cost a few rows, not the
 * whole quadratic table. Where it returns a number, it is exactly `editSimilarity(a, b)`.
 */
export function editSimilarityAtLeast(
  a: readonly string[],
  b: readonly string[],
  min: number,
): number | undefined {
  const longer = Math.max(a.length, b.length);
  if (longer === 0) return 1 >= min ? 1 : undefined;
  // The most edits that still reach `min`, found with the same arithmetic as the similarity itself.
  let maxEdits = Math.min(longer, Math.ceil((1 - min) * longer) + 1);
  while (maxEdits >= 0 && 1 - maxEdits / longer < min) maxEdits--;
  if (maxEdits < 0) return undefined;
  const distance = boundedLevenshtein(a, b, maxEdits);
  return distance === undefined ? undefined : 1 - distance / longer;
}

/** The word-level Levenshtein distance when it is at most `k`, otherwise undefined. */
function boundedLevenshtein(a: readonly string[], b: readonly string[], k: number): number | undefined {
  if (Math.abs(a.length - b.length) > k) return undefined;
  const beyond = k + 1;
  let previous = new Array<number>(b.length + 1);
  let current = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j <= k ? j : beyond;
  for (let i = 1; i <= a.length; i++) {
    const lo = Math.max(1, i - k);
    const hi = Math.min(b.length, i + k);
    current[0] = i <= k ? i : beyond;
    let rowMin = lo === 1 ? current[0]! : beyond;
    if (lo > 1) current[lo - 1] = beyond;
    for (let j = lo; j <= hi; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      const cell = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution, beyond);
      current[j] = cell;
      if (cell < rowMin) rowMin = cell;
    }
    if (hi < b.length) current[hi + 1] = beyond;
    // Every alignment passes through this row: once all of it is beyond k, so is the distance.
    if (rowMin > k) return undefined;
    [previous, current] = [current, previous];
  }
  const distance = previous[b.length]!;
  return distance <= k ? distance : undefined;
}
