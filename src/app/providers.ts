/**
 * Every provider this process may call, each wrapped in its call path: rate limiter (shared through Redis
 * when there is one) -> breaker (started open when the shared breaker reports say the provider was just
 * seen failing) -> retries -> the SDK adapter. A budget reservation or a batch submission slots in here,
 * around or instead of `makeResilient`.
 */
import type { InspectionEvent } from 'xstate';
import type { Config, ProviderName } from '../config.js';
import type { Logger } from '../logger.js';
import type { ProviderMetrics } from '../metrics.js';
import { restoreBreakers } from '../resilience/breaker-restore.js';
import { rateLimitSettingsFor } from '../resilience/gcra.js';
import { makeResilient } from '../resilience/make-resilient.js';
import type { ProviderBreaker } from '../resilience/provider-breaker.js';
import type { ResilientProvider } from '../resilience/resilient-provider.js';
import { MemoryRateLimiter, type MemoryRateLimitStore } from '../services/memory/rate-limiter.js';
import type { Clock, LlmProvider, RateLimiter } from '../services/ports.js';
import { ProviderFactory } from '../services/providers/factory.js';
import { RedisRateLimiter } from '../services/redis/rate-limiter.js';
import type { Ports } from './ports.js';

export interface ProvidersOptions {
  logger: Logger;
  clock: Clock;
  metrics: ProviderMetrics;
  /** The two sides; every other configured provider is built too (adopted conversations keep theirs). */
  sides: readonly ProviderName[];
  /** Replaces a provider adapter (tests, and the `simulated` provider's latency for benchmarks). */
  overrides?: Partial<Record<ProviderName, LlmProvider>>;
  /** Inspection observer handed to each breaker's actor (the Stately inspector). @default none */
  inspect?: (event: InspectionEvent) => void;
}

export interface Providers {
  factory: ProviderFactory;
  /** By name, each behind its limiter, breaker and retries. */
  providers: Map<string, ResilientProvider>;
  breakers: Map<string, ProviderBreaker>;
  limiters: Map<string, RateLimiter>;
  /**
   * The judge's provider (`JUDGE_PROVIDER`): the same resilient provider the conversations use, so its
   * calls draw on that provider's rate limits and trip or wait on its breaker. Undefined without a judge.
   */
  judge?: ResilientProvider;
}

export async function buildProviders(
  config: Readonly<Config>,
  ports: Pick<Ports, 'redis' | 'breakerStates'>,
  options: ProvidersOptions,
): Promise<Providers> {
  const { logger, clock } = options;
  const factory = new ProviderFactory(config, { clock });
  const memoryLimits: MemoryRateLimitStore = new Map();
  const providers = new Map<string, ResilientProvider>();
  const breakers = new Map<string, ProviderBreaker>();
  const limiters = new Map<string, RateLimiter>();
  // Every configured provider, not only this daemon's two sides: a conversation adopted from another daemon
  // goes on with the providers it started with.
  const names = new Set([...options.sides, ...config.configuredProviders]);
  // A provider that this daemon before a restart, or another daemon, just saw fail keeps its breaker open.
  const snapshots = await restoreBreakers({
    store: ports.breakerStates,
    providers: names,
    threshold: config.resilience.breakerFailureThreshold,
    cooldownMs: config.resilience.breakerCooldownMs,
    clock,
    logger,
  });
  const { redis } = ports;
  const prefix = config.redis?.keyPrefix ?? 'chimera';
  for (const name of names) {
    const adapter = options.overrides?.[name] ?? factory.get(name);
    const settings = rateLimitSettingsFor(config.providers[name]);
    // Shared through Redis, so every daemon draws on one budget per provider; in memory otherwise.
    const limiter: RateLimiter = redis
      ? new RedisRateLimiter(redis, { key: name, keyPrefix: prefix, settings, clock })
      : new MemoryRateLimiter({ key: name, settings, store: memoryLimits, clock });
    const { provider, breaker } = makeResilient(adapter, config.providers[name], {
      resilience: config.resilience,
      limiter,
      metrics: options.metrics,
      logger,
      clock,
      breakerSnapshot: snapshots.get(name),
      inspect: options.inspect,
    });
    await adapter.start();
    providers.set(name, provider);
    breakers.set(name, breaker);
    limiters.set(name, limiter);
  }
  const judge = config.judge ? providers.get(config.judge.provider) : undefined;
  return { factory, providers, breakers, limiters, ...(judge ? { judge } : {}) };
}
