import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig, ProviderName } from '../../src/config.js';
import { isChimeraError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';
import { withResilience } from '../../src/resilience/resilient-provider.js';
import { MemoryRateLimiter } from '../../src/services/memory/rate-limiter.js';
import { createProvider } from '../../src/services/providers/factory.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

/**
 * The full call path a conversation uses (rate limiter, breaker, retries) over each real SDK adapter,
 * against the wire-level fake server: what the provider says decides what we do.
 */
let server: FakeProviderServer;
beforeAll(async () => {
  server = await startFakeProviderServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const KEYS: Record<string, string> = {
  anthropic: 'sk-ant-resilience-0000000000',
  gemini: 'AIza-resilience-000000000000000000',
  openai: 'sk-resilience-0000000000000000',
};

function resilient(dialect: 'anthropic' | 'gemini' | 'openai', policy: { maxAttempts: number }) {
  const config: ProviderConfig = {
    name: dialect as ProviderName,
    apiKey: KEYS[dialect],
    baseUrl: server.urls[dialect],
    model: `${dialect}-test-model`,
    rpm: 100_000,
    tpm: 100_000_000,
    timeoutMs: 2_000,
  };
  const breaker = new ProviderBreaker({ name: dialect, threshold: 3, cooldownMs: 400 });
  const provider = withResilience(createProvider(config), {
    limiter: new MemoryRateLimiter({
      key: dialect,
      settings: { requestsPerMinute: 100_000, tokensPerMinute: 100_000_000 },
    }),
    breaker,
    retry: { maxAttempts: policy.maxAttempts, baseDelayMs: 10, maxDelayMs: 50, maxTotalDelayMs: 10_000 },
    metrics: createMetrics(new Registry()),
    logger: createLogger({ level: 'silent' }),
  });
  return { provider, breaker };
}

const request = {
  system: 'You are an expert.',
  messages: [{ role: 'user' as const, content: 'Why do heat pumps work in the cold?' }],
  maxTokens: 64,
  temperature: 0.5,
};

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isChimeraError(error)) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const generates = () => server.requests().filter((r) => r.operation === 'generate');

describe.each(['anthropic', 'gemini', 'openai'] as const)(
  '%s through rate limiter, breaker and retries',
  (dialect) => {
    it('a 429 is retried no sooner than its retry-after, then succeeds', async () => {
      const { provider } = resilient(dialect, { maxAttempts: 3 });
      server.script({ type: 'rate_limited', retryAfterSeconds: 1 });
      const result = await provider.generate(request);
      expect(result.attempts).toBe(2);
      expect(result.text.length).toBeGreaterThan(0);
      const [first, second] = generates();
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000);
    });

    it('a spend-limit 429 and a 400 are not retried', async () => {
      const { provider, breaker } = resilient(dialect, { maxAttempts: 4 });
      server.script({ type: 'spend_limit' });
      expect((await failure(provider.generate(request))).code).toBe('quota_exhausted');
      expect(generates()).toHaveLength(1);
      server.script({ type: 'bad_request' });
      expect((await failure(provider.generate(request))).code).toBe('invalid_request');
      expect(generates()).toHaveLength(2);
      // Non-retryable failures are the caller's fault or the account's, not the provider's health.
      expect(breaker.state).toBe('closed');
    });

    it('retryable failures open the breaker, calls then fail fast, and a good probe closes it', async () => {
      const { provider, breaker } = resilient(dialect, { maxAttempts: 1 });
      server.script({ type: 'overloaded' }, { type: 'server_error' }, { type: 'unavailable' });
      for (let i = 0; i < 3; i++) expect((await failure(provider.generate(request))).retryable).toBe(true);
      expect(breaker.state).toBe('open');
      expect((await failure(provider.generate(request))).code).toBe('circuit_open');
      expect(generates()).toHaveLength(3);

      await new Promise((r) => setTimeout(r, 450));
      const probe = await provider.generate(request);
      expect(probe.text.length).toBeGreaterThan(0);
      expect(breaker.state).toBe('closed');
      expect(generates()).toHaveLength(4);
    });

    it('a call that may wait out the breaker, against a provider failing every request, makes its attempts once in all and fails with the provider error', async () => {
      const { provider, breaker } = resilient(dialect, { maxAttempts: 5 });
      server.respond((entry) =>
        entry.operation === 'generate' ? { type: 'status', status: 500, message: 'down' } : undefined,
      );
      const error = await failure(
        provider.generate({ ...request, waitForBreakerUntil: Date.now() + 60_000 }),
      );
      server.respond(undefined);
      // Three failures open the breaker; the last two attempts are its probes, each after a cool-down.
      expect(error.code).toBe('server_error');
      expect(generates()).toHaveLength(5);
      expect(breaker.state).toBe('open');
      const sent = generates().map((r) => r.at);
      expect(sent[3]! - sent[2]!).toBeGreaterThanOrEqual(400);
      expect(sent[4]! - sent[3]!).toBeGreaterThanOrEqual(400);
    });
  },
);
