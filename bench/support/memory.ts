/** Samples the resident set size of this process, for the peak of a run (a snapshot would miss it). */
export interface RssSampler {
  /** Highest RSS seen since start (or the last `reset`), in bytes. */
  readonly peak: number;
  reset(): void;
  stop(): void;
}

/** @param everyMs sampling interval; short enough to catch a peak between two GCs. */
export function sampleRss(everyMs = 100): RssSampler {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, everyMs);
  timer.unref();
  return {
    get peak() {
      return Math.max(peak, process.memoryUsage.rss());
    },
    reset() {
      peak = process.memoryUsage.rss();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

export const MIB = 1024 * 1024;
