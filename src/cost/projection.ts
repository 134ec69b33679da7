/**
 * The projected cost of a run for the `generate` progress line. Curator projects from the mean cost of
 * finished requests; a conversation's cost grows with every turn (each turn re-sends the history), so
 * the mean of finished conversations is the estimate for one, and what conversations in flight have spent
 * so far is a floor for them, not their cost.
 */

export interface RunProgress {
  /** Conversations the run will produce. */
  total: number;
  /** Conversations finished (ended, failed or paused for good). */
  finished: number;
  /** Conversations started and not finished. */
  inFlight: number;
  /** Spent by finished conversations. */
  finishedMicros: number;
  /** Spent so far by conversations in flight. */
  inFlightMicros: number;
}

/**
 * Projected total in micro-dollars, or null before any conversation has finished (no basis yet).
 * finished + max(in flight so far, mean x in flight) + mean x not started, the mean rounded up.
 */
export function projectRunMicros(progress: RunProgress): number | null {
  const { total, finished, inFlight, finishedMicros, inFlightMicros } = progress;
  for (const [name, value] of Object.entries(progress)) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a whole, non-negative number`);
  }
  if (finished === 0) return null;
  const mean = Math.ceil(finishedMicros / finished);
  const notStarted = Math.max(0, total - finished - inFlight);
  return finishedMicros + Math.max(inFlightMicros, mean * inFlight) + mean * notStarted;
}

/** Spend per minute over `elapsedMs`, in micros (rounded down); 0 before a second has passed. */
export function microsPerMinute(spentMicros: number, elapsedMs: number): number {
  if (elapsedMs < 1000) return 0;
  return Math.floor((spentMicros * 60_000) / elapsedMs);
}
