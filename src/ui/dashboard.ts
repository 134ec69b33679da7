/**
 * The dashboard of a running daemon, as one object the daemon starts and feeds: `inspect` goes where
 * inspection events go (`ChimeraOptions.inspect`), `attach` is called once the service exists (finished
 * records, the store, the shared rate limiter). Nothing else of the service's wiring is touched, so it
 * moves with the composition root unchanged.
 */
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import type { Config, ProviderName } from '../config.js';
import type { ConversationRecord } from '../events.js';
import { readRateLimitUse } from '../services/redis/rate-limit-use.js';
import { type InspectionLike, LiveAggregator, type LiveAggregatorOptions } from './live-aggregator.js';
import { liveBackend } from './live-backend.js';
import { type LiveSource, type LiveSourceOptions, startLiveSource } from './live-source.js';
import type { RateLimitView } from './model.js';
import { startUiServer, type UiServer } from './server.js';

export interface DashboardOptions {
  config: Readonly<Pick<Config, 'providers' | 'redis' | 'instanceId'>>;
  /** The registry `/metrics` exposes: provider requests, retries, breaker states. */
  registry: Registry;
  port: number;
  host: string;
  token?: string;
  allowedHosts?: readonly string[];
  onError?: (error: unknown) => void;
  aggregator?: LiveAggregatorOptions;
}

export interface DashboardService {
  onFinished(listener: (record: ConversationRecord) => void): () => void;
  store: NonNullable<LiveSourceOptions['store']>;
  providers: readonly ProviderName[];
  redis?: Redis;
  /** Spend and batches, once the cost ledger and batch mode exist. */
  spend?: LiveSourceOptions['spend'];
  batches?: LiveSourceOptions['batches'];
}

export interface Dashboard {
  readonly url: string;
  readonly port: number;
  /** Pass every inspection event (as `ChimeraOptions.inspect`, beside the Stately inspector's). */
  inspect(event: InspectionEvent): void;
  /** Connects the finished records and the store once the service is created. */
  attach(service: DashboardService): void;
  readonly aggregator: LiveAggregator;
  close(): Promise<void>;
}

export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const aggregator = new LiveAggregator(options.aggregator);
  let source: LiveSource | undefined;
  let unsubscribe: (() => void) | undefined;
  let server: UiServer | undefined;
  const backend = liveBackend({
    aggregator,
    title: options.config.instanceId,
    onWatch: () => void source?.sample(),
  });
  server = await startUiServer({
    backend,
    port: options.port,
    host: options.host,
    token: options.token,
    allowedHosts: options.allowedHosts,
    onError: options.onError,
  });
  const { config, registry } = options;
  // Before attach (no store yet), the registry alone: a page opened during start-up still sees providers.
  source = startLiveSource({ aggregator, registry, watchers: () => server?.watchers ?? 0 });

  return {
    url: server.url,
    port: server.port,
    aggregator,
    inspect(event) {
      aggregator.observe(event as unknown as InspectionLike);
    },
    attach(service) {
      source?.stop();
      unsubscribe?.();
      unsubscribe = service.onFinished((record) => aggregator.finished(record));
      const quotas = Object.fromEntries(
        service.providers.map((name) => [
          name,
          { rpm: config.providers[name].rpm, tpm: config.providers[name].tpm },
        ]),
      );
      const redis = service.redis;
      const keyPrefix = config.redis?.keyPrefix;
      const rateLimits =
        redis && keyPrefix
          ? async () => {
              const out: Record<string, RateLimitView> = {};
              for (const name of new Set(service.providers)) {
                const use = await readRateLimitUse(redis, keyPrefix, config.providers[name]);
                out[name] = {
                  requestsInUse: use.requests.inUse,
                  rpm: use.requests.perMinute,
                  tokensInUse: use.tokens.inUse,
                  tpm: use.tokens.perMinute,
                };
              }
              return out;
            }
          : undefined;
      source = startLiveSource({
        aggregator,
        registry,
        store: service.store,
        quotas,
        ...(rateLimits ? { rateLimits } : {}),
        ...(service.spend ? { spend: service.spend } : {}),
        ...(service.batches ? { batches: service.batches } : {}),
        watchers: () => server?.watchers ?? 0,
      });
    },
    async close() {
      source?.stop();
      unsubscribe?.();
      await server?.close();
      server = undefined;
    },
  };
}
