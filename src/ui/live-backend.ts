/**
 * The dashboard's API over a {@link LiveAggregator}: the summary, the conversations (in flight, then
 * recent finished), one conversation, and a stream of deltas plus a summary every second while a page
 * is connected.
 */
import type { LiveAggregator } from './live-aggregator.js';
import type { UiBackend } from './server.js';

export interface LiveBackendOptions {
  aggregator: LiveAggregator;
  /** Shown in the page header, e.g. the daemon's instance id. */
  title: string;
  /** Called when a page connects, so it gets fresh figures at once. */
  onWatch?: () => void;
  /** @default DEFAULT_SUMMARY_EVERY_MS */
  summaryEveryMs?: number;
}

/** The dashboard's figures move once a second: fast enough to feel live, cheap to compute. */
export const DEFAULT_SUMMARY_EVERY_MS = 1_000;

export function liveBackend(options: LiveBackendOptions): UiBackend {
  const { aggregator } = options;
  const info = { mode: 'live', title: options.title };
  return {
    mode: 'live',
    title: options.title,
    async api(path) {
      if (path === 'info') return info;
      if (path === 'summary') return aggregator.summary();
      if (path === 'conversations') return aggregator.list();
      const match = /^conversations\/([^/]+)$/.exec(path);
      if (match) return aggregator.detail(decodeURIComponent(match[1]!));
      return undefined;
    },
    stream(send) {
      options.onWatch?.();
      send('summary', aggregator.summary());
      const unsubscribe = aggregator.subscribe((event) => send('delta', event));
      const timer = setInterval(
        () => send('summary', aggregator.summary()),
        options.summaryEveryMs ?? DEFAULT_SUMMARY_EVERY_MS,
      );
      return () => {
        clearInterval(timer);
        unsubscribe();
      };
    },
  };
}
