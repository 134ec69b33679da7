import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import type { HealthStatus, LlmProvider } from '../../src/services/ports.js';
import { AnthropicProvider } from '../../src/services/providers/anthropic.js';
import { GeminiProvider } from '../../src/services/providers/gemini.js';
import { OpenAiProvider } from '../../src/services/providers/openai.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

/** The health check's own bound, well under the model-call timeout. */
const HEALTH_BOUND_MS = 3_000;

/**
 * A health check against a provider that accepts the connection and never answers must come back by
 * itself, unhealthy, once its bound has passed: a readiness probe or `healthCheckAll` waits on it. The
 * fake server hangs every health request (its log shows it received it and sent nothing); the test moves a
 * fake clock past the bound and waits (in real time) for the check to settle, so it fails by hanging if
 * the bound is not enforced, never by being slow.
 */
describe('a health check against a server that never answers', () => {
  let server: FakeProviderServer;
  beforeAll(async () => {
    server = await startFakeProviderServer();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    server.respond((request) => (request.operation === 'health' ? { type: 'hang' } : undefined));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Waits in real time (not on the fake clock) until `condition` holds. */
  async function eventually(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 20_000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
    if (!condition()) throw new Error(`never happened: ${what}`);
  }

  const config = (name: ProviderConfig['name'], baseUrl: string): ProviderConfig => ({
    name,
    apiKey: 'test-key-0000000000000000',
    baseUrl,
    model: 'model-under-test',
    rpm: 60,
    tpm: 100_000,
    timeoutMs: 60_000,
  });

  const providers: Array<[string, (s: FakeProviderServer) => LlmProvider]> = [
    [
      'anthropic',
      (s) =>
        new AnthropicProvider(config('anthropic', s.urls.anthropic), { healthTimeoutMs: HEALTH_BOUND_MS }),
    ],
    [
      'gemini',
      (s) => new GeminiProvider(config('gemini', s.urls.gemini), { healthTimeoutMs: HEALTH_BOUND_MS }),
    ],
    [
      'openai',
      (s) => new OpenAiProvider(config('openai', s.urls.openai), { healthTimeoutMs: HEALTH_BOUND_MS }),
    ],
  ];

  for (const [name, create] of providers) {
    it(`${name}: comes back unhealthy once its bound has passed, saying it timed out`, async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const provider = create(server);
      let result: HealthStatus | undefined;
      void provider.healthCheck().then((status) => {
        result = status;
      });
      // The request reached the server, which holds it open.
      await eventually(() => server.requests().some((r) => r.operation === 'health'), 'the health request');
      await vi.advanceTimersByTimeAsync(HEALTH_BOUND_MS - 1);
      expect(result).toBeUndefined();
      await vi.advanceTimersByTimeAsync(1);
      await eventually(() => result !== undefined, 'the health check to come back');
      expect(result).toMatchObject({ healthy: false });
      expect(result!.error).toMatch(/no answer within 3000ms|timed? ?out/i);
      expect(
        server
          .requests()
          .filter((r) => r.operation === 'health')
          .every((r) => r.status === undefined),
      ).toBe(true);
    });
  }
});
