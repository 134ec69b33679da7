import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ProviderError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { makeResilient } from '../../src/resilience/make-resilient.js';
import { MemoryRateLimiter } from '../../src/services/memory/rate-limiter.js';
import type { GenerateResult, LlmProvider, RateLimitRequest } from '../../src/services/ports.js';

describe('makeResilient', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  let calls = 0;
  const failing: LlmProvider = {
    name: 'gemini',
    model: 'g',
    start: async () => {},
    healthCheck: async () => ({ healthy: true, latencyMs: 0 }),
    generate: async (): Promise<GenerateResult> => {
      calls += 1;
      throw new ProviderError('overloaded', 'overloaded', { provider: 'gemini' });
    },
  };

  it('wires the given limiter, and a breaker and retry policy from the config, around the provider', async () => {
    const config = loadConfig({
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '3',
      RETRY_MAX_ATTEMPTS: '2',
    });
    const limiter = new MemoryRateLimiter({
      key: 'gemini',
      settings: { requestsPerMinute: 600, tokensPerMinute: 1_000_000 },
    });
    const asked: RateLimitRequest[] = [];
    const acquire = limiter.acquire.bind(limiter);
    limiter.acquire = (request, options) => {
      asked.push(request);
      return acquire(request, options);
    };
    const { provider, breaker } = makeResilient(failing, config.providers.gemini, {
      resilience: config.resilience,
      limiter,
      metrics: createMetrics(new Registry()),
      logger: createLogger({ level: 'silent' }),
    });
    const result = provider
      .generate({ system: '', messages: [], maxTokens: 16, temperature: 0 })
      .catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    // Two attempts (RETRY_MAX_ATTEMPTS), each through the given limiter, both counted by a breaker that
    // opens at the third.
    expect(await result).toMatchObject({ code: 'overloaded' });
    expect(calls).toBe(2);
    expect(asked).toHaveLength(2);
    expect(breaker.name).toBe('gemini');
    expect(breaker.context).toMatchObject({ failures: 2, threshold: 3 });
    expect(breaker.state).toBe('closed');
  });
});
