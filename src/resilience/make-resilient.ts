import type { InspectionEvent, Snapshot } from 'xstate';
import type { Logger } from '../logger.js';
import type { ProviderMetrics } from '../metrics.js';
import type { Clock, LlmProvider, RateLimiter } from '../services/ports.js';
import { ProviderBreaker } from './provider-breaker.js';
import { type ResilientProvider, withResilience } from './resilient-provider.js';
import { type ResilienceSettings, retryPolicyFromConfig } from './retry.js';

/**
 * One provider's call path, as the composition root builds it: the given rate limiter (shared through
 * Redis, or in memory: the caller chooses), a breaker and the retry policy from the config, wrapped around
 * the provider in that order (limiter -> breaker -> retries -> SDK).
 */
export interface ResilienceSetup {
  resilience: ResilienceSettings;
  /** The provider's rate limiter (its RPM and TPM budget). */
  limiter: RateLimiter;
  metrics: ProviderMetrics;
  logger: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** A breaker snapshot persisted by an earlier run, to keep an open breaker open across a restart. */
  breakerSnapshot?: Snapshot<unknown>;
  /** Inspection observer for the breaker's actor (the Stately inspector). @default none */
  inspect?: (event: InspectionEvent) => void;
}

export function makeResilient(
  provider: LlmProvider,
  config: { name: string },
  setup: ResilienceSetup,
): { provider: ResilientProvider; breaker: ProviderBreaker } {
  const breaker = new ProviderBreaker({
    name: config.name,
    threshold: setup.resilience.breakerFailureThreshold,
    cooldownMs: setup.resilience.breakerCooldownMs,
    clock: setup.clock,
    snapshot: setup.breakerSnapshot,
    inspect: setup.inspect,
  });
  const resilient = withResilience(provider, {
    limiter: setup.limiter,
    breaker,
    retry: retryPolicyFromConfig(setup.resilience),
    metrics: setup.metrics,
    logger: setup.logger,
    clock: setup.clock,
    maxWaitMs: setup.resilience.rateLimitMaxWaitMs,
  });
  return { provider: resilient, breaker };
}
