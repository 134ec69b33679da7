/**
 * Feeds the dashboard's aggregator with what a running service already exposes, without reaching into its
 * wiring: the Prometheus registry (provider requests by outcome, retries, breaker states), the store's
 * counts and outbox backlog, and the rate limiter's use. Samples only while a page is connected, so a
 * daemon nobody watches pays nothing beyond the inspection events.
 */
import type { Registry } from 'prom-client';
import type { LiveAggregator, ServiceSample } from './live-aggregator.js';
import type { LiveSummary, ProviderView, RateLimitView } from './model.js';

export interface LiveSourceOptions {
  aggregator: LiveAggregator;
  registry?: Registry;
  store?: { outboxSize(): Promise<number>; counts(): Promise<Record<string, number>> };
  /** Shared limiter use per provider (Redis); without it, requests seen here in the last minute. */
  rateLimits?: () => Promise<Record<string, RateLimitView>>;
  /** Requests and tokens per minute per provider, for the local estimate. */
  quotas?: Record<string, { rpm: number; tpm: number }>;
  /** Spend, once the cost ledger exists. */
  spend?: () => Promise<LiveSummary['spend'] | undefined>;
  /** Batches out, once batch mode exists. */
  batches?: () => Promise<LiveSummary['batches'] | undefined>;
  /** Pages connected now: sampling pauses at 0. */
  watchers: () => number;
  /** @default DEFAULT_SAMPLE_EVERY_MS */
  sampleEveryMs?: number;
  /** @default Date.now */
  now?: () => number;
}

/** Often enough for a live page, rarely enough that a slow Redis is not asked twice at once. */
export const DEFAULT_SAMPLE_EVERY_MS = 2_000;
const BREAKER_NAMES: Record<number, ProviderView['breaker']> = { 0: 'closed', 1: 'halfOpen', 2: 'open' };

interface MetricValues {
  values: Array<{ labels: Record<string, string | number>; value: number }>;
}

async function valuesOf(registry: Registry | undefined, name: string): Promise<MetricValues['values']> {
  const metric = registry?.getSingleMetric(name);
  if (!metric) return [];
  return ((await metric.get()) as MetricValues).values;
}

/** Provider figures from the metrics registry (counters since start). */
export async function providersFromRegistry(
  registry: Registry | undefined,
): Promise<Record<string, ProviderView>> {
  const out: Record<string, ProviderView> = {};
  const of = (provider: string) => {
    out[provider] ??= { requests: 0, errors: 0, retries: 0 };
    return out[provider];
  };
  for (const { labels, value } of await valuesOf(registry, 'chimera_provider_requests_total')) {
    const view = of(String(labels.provider));
    view.requests += value;
    if (labels.outcome !== 'success') view.errors += value;
  }
  for (const { labels, value } of await valuesOf(registry, 'chimera_provider_retries_total')) {
    of(String(labels.provider)).retries += value;
  }
  for (const { labels, value } of await valuesOf(registry, 'chimera_provider_circuit_state')) {
    of(String(labels.provider)).breaker = BREAKER_NAMES[value] ?? 'closed';
  }
  return out;
}

export interface LiveSource {
  /** Takes one sample now (also used when a page connects). */
  sample(): Promise<void>;
  stop(): void;
}

export function startLiveSource(options: LiveSourceOptions): LiveSource {
  const now = options.now ?? Date.now;
  // Request counters a minute back, for the local rate estimate.
  const history: Array<{ at: number; requests: Record<string, number> }> = [];
  let running: Promise<void> | undefined;

  async function read(): Promise<void> {
    const providers = await providersFromRegistry(options.registry);
    const at = now();
    history.push({
      at,
      requests: Object.fromEntries(Object.entries(providers).map(([k, v]) => [k, v.requests])),
    });
    while (history.length > 1 && history[1]!.at <= at - 60_000) history.shift();
    const shared = await options.rateLimits?.().catch(() => undefined);
    for (const [name, view] of Object.entries(providers)) {
      const quota = options.quotas?.[name];
      if (shared?.[name]) view.rateLimit = shared[name];
      else if (quota) {
        const before = history[0]!.requests[name] ?? 0;
        view.rateLimit = {
          requestsInUse: Math.max(0, view.requests - before),
          rpm: quota.rpm,
          tpm: quota.tpm,
        };
      }
    }
    const sample: ServiceSample = { providers };
    if (options.store) {
      const [backlog, stored] = await Promise.all([
        options.store.outboxSize().catch(() => undefined),
        options.store.counts().catch(() => undefined),
      ]);
      if (backlog !== undefined) sample.outboxBacklog = backlog;
      if (stored) sample.stored = stored;
    }
    const spend = await options.spend?.().catch(() => undefined);
    if (spend) sample.spend = spend;
    const batches = await options.batches?.().catch(() => undefined);
    if (batches) sample.batches = batches;
    options.aggregator.setSample(sample);
  }

  function sample(): Promise<void> {
    running ??= read()
      .catch(() => {})
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const timer = setInterval(() => {
    if (options.watchers() > 0) void sample();
  }, options.sampleEveryMs ?? DEFAULT_SAMPLE_EVERY_MS);
  timer.unref();
  return {
    sample,
    stop() {
      clearInterval(timer);
    },
  };
}
