/**
 * The nearest-rank percentile of an ascending list (the smallest value with at least `q` of the list at
 * or below it): always a value that was observed, never an interpolation. 0 for an empty list.
 */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}
