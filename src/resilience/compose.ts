import type { Redis } from 'ioredis';
import type { InspectionEvent, Snapshot } from 'xstate';
import type { Config, ProviderConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ProviderMetrics } from '../metrics.js';
import { MemoryRateLimiter, type MemoryRateLimitStore } from '../services/memory/rate-limiter.js';
import type { Clock, LlmProvider, RateLimiter } from '../services/ports.js';
import { type ResilientProvider, withResilience } from '../services/providers/resilient-provider.js';
import { RedisRateLimiter } from '../services/redis/rate-limiter.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { rateLimitSettingsFor } from './gcra.js';
import { retryPolicyFromConfig } from './retry.js';

/**
 * The composition root's one call per provider: a limiter on the provider's RPM and TPM (in Redis when
 * there is one, so every daemon shares the budget; in memory otherwise), a breaker and the retry policy
 * from the config, all wrapped around the provider.
 */
export interface ResilienceSetup {
  resilience: Config['resilience'];
  /** The shared Redis and its key prefix; absent in the embedded mode. */
  redis?: { client: Redis; keyPrefix: string };
  /** Shared by every in-memory limiter of the process. @default a store per limiter */
  memoryStore?: MemoryRateLimitStore;
  metrics: ProviderMetrics;
  logger: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** A breaker snapshot persisted by an earlier run, to keep an open breaker open across a restart. */
  breakerSnapshot?: Snapshot<unknown>;
  /** Inspection observer for the breaker's actor (the Stately inspector). @default none */
  inspect?: (event: InspectionEvent) => void;
}

export function createRateLimiter(
  provider: Pick<ProviderConfig, 'name' | 'rpm' | 'tpm'>,
  setup: Pick<ResilienceSetup, 'redis' | 'memoryStore' | 'clock'>,
): RateLimiter {
  const settings = rateLimitSettingsFor(provider);
  if (setup.redis) {
    return new RedisRateLimiter(setup.redis.client, {
      key: provider.name,
      keyPrefix: setup.redis.keyPrefix,
      settings,
      clock: setup.clock,
    });
  }
  return new MemoryRateLimiter({
    key: provider.name,
    settings,
    store: setup.memoryStore,
    clock: setup.clock,
  });
}

export function makeResilient(
  provider: LlmProvider,
  config: Pick<ProviderConfig, 'name' | 'rpm' | 'tpm'>,
  setup: ResilienceSetup,
): { provider: ResilientProvider; breaker: CircuitBreaker; limiter: RateLimiter } {
  const limiter = createRateLimiter(config, setup);
  const breaker = new CircuitBreaker({
    name: config.name,
    threshold: setup.resilience.breakerFailureThreshold,
    cooldownMs: setup.resilience.breakerCooldownMs,
    clock: setup.clock,
    snapshot: setup.breakerSnapshot,
    inspect: setup.inspect,
  });
  const resilient = withResilience(provider, {
    limiter,
    breaker,
    retry: retryPolicyFromConfig(setup.resilience),
    metrics: setup.metrics,
    logger: setup.logger,
    clock: setup.clock,
    maxWaitMs: setup.resilience.rateLimitMaxWaitMs,
  });
  return { provider: resilient, breaker, limiter };
}
