import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { isProviderError, type ProviderError } from '../../src/errors.js';
import type { GenerateRequest, LlmProvider } from '../../src/services/ports.js';
import type { Dialect, FakeBehaviour } from '../../tools/fake-provider/behaviours.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

/**
 * The behaviour every SDK adapter of `LlmProvider` must show, checked against the fake provider server
 * over real HTTP: results, the mapping of each failure to a code and a retry decision, timeouts, aborts,
 * and API keys that reach the server but never an error message.
 */

export interface AdapterSettings {
  baseUrl: string;
  apiKey: string;
  timeoutMs: number;
}

export interface ProviderUnderTest {
  dialect: Dialect;
  /** Builds the adapter from a provider config pointed at the fake server. */
  create(settings: AdapterSettings): LlmProvider;
  /** Base URL of the fake server as this SDK wants it. */
  baseUrl(fake: FakeProviderServer): string;
  /** The key as the server received it, read from the header this provider uses. */
  sentKey(headers: Record<string, string>, query: Record<string, string>): string | undefined;
}

/** Long and odd enough that no scrubbing pattern but the exact value would catch it. */
export const CANARY_KEY = 'canary-4f1d9a7c2b-key-value';

export const REQUEST: GenerateRequest = {
  system: 'You are an expert who explains things clearly.',
  messages: [
    { role: 'user', content: 'Topic: community solar farms. What makes them different from rooftop panels?' },
  ],
  maxTokens: 300,
  temperature: 0.7,
};

/** The `ProviderError` a call rejects with; fails the test when it resolves or rejects otherwise. */
export async function failure(
  provider: LlmProvider,
  request: GenerateRequest = REQUEST,
): Promise<ProviderError> {
  try {
    await provider.generate(request);
  } catch (error) {
    if (isProviderError(error)) return error as ProviderError;
    throw error;
  }
  throw new Error('expected generate to reject');
}

export function describeLlmProviderContract(subject: ProviderUnderTest): void {
  describe(`${subject.dialect} adapter contract`, () => {
    let fake: FakeProviderServer;
    let provider: LlmProvider;
    const make = (overrides: Partial<AdapterSettings> = {}) =>
      subject.create({ baseUrl: subject.baseUrl(fake), apiKey: CANARY_KEY, timeoutMs: 5_000, ...overrides });

    beforeAll(async () => {
      fake = await startFakeProviderServer({ seed: 7 });
    });
    afterAll(async () => {
      await fake.close();
    });
    beforeEach(() => {
      fake.reset();
      fake.respond(undefined);
      provider = make();
    });

    it('a successful call returns text, usage, model, request id and latency', async () => {
      const result = await provider.generate(REQUEST);
      expect(result.text.length).toBeGreaterThan(20);
      expect(result.model).toBe(provider.model);
      expect(result.stopReason).toBe('end_turn');
      const { inputTokens, outputTokens, cacheReadTokens = 0, cacheWriteTokens = 0 } = result.usage;
      expect(inputTokens + cacheReadTokens + cacheWriteTokens).toBeGreaterThan(0);
      expect(outputTokens).toBe(Math.ceil(result.text.length / 4));
      expect(result.requestId).not.toBe('');
      expect(result.latencyMs).toBeGreaterThanOrEqual(0);
      expect(fake.requests()).toHaveLength(1);
    });

    it('start can be called more than once', async () => {
      await provider.start();
      await provider.start();
      await expect(provider.generate(REQUEST)).resolves.toMatchObject({ model: provider.model });
    });

    it('the API key reaches the server in the provider header', async () => {
      await provider.generate(REQUEST);
      const [received] = fake.requests();
      expect(subject.sentKey(received!.headers, received!.query)).toBe(CANARY_KEY);
    });

    it('a 429 with retry-after is rate_limited, retryable, with the wait in milliseconds', async () => {
      fake.script({ type: 'rate_limited', retryAfterSeconds: 7 });
      const error = await failure(provider);
      expect(error.code).toBe('rate_limited');
      expect(error.retryable).toBe(true);
      expect(error.status).toBe(429);
      expect(error.retryAfterMs).toBe(7_000);
    });

    it('the SDK does not retry on its own: one failed call is one request', async () => {
      fake.script({ type: 'rate_limited', retryAfterSeconds: 0 }, { type: 'server_error' });
      await failure(provider);
      await failure(provider);
      expect(fake.stats().total).toBe(2);
    });

    it('a spend-limit 429 is quota_exhausted and not retryable', async () => {
      fake.script({ type: 'spend_limit' });
      const error = await failure(provider);
      expect(error.code).toBe('quota_exhausted');
      expect(error.retryable).toBe(false);
    });

    const statusCases: Array<[string, FakeBehaviour, string, boolean]> = [
      ['a 500', { type: 'server_error' }, 'server_error', true],
      ['a 503', { type: 'unavailable' }, 'overloaded', true],
      ['a 529', { type: 'overloaded' }, 'overloaded', true],
      ['a 502', { type: 'status', status: 502 }, 'server_error', true],
      ['a 400', { type: 'bad_request' }, 'invalid_request', false],
      ['a 404', { type: 'status', status: 404 }, 'invalid_request', false],
      ['a 401', { type: 'unauthorized' }, 'auth', false],
      ['a 403', { type: 'status', status: 403 }, 'auth', false],
    ];
    it.each(statusCases)(
      '%s maps to its code and retry decision',
      async (_name, behaviour, code, retryable) => {
        fake.script(behaviour);
        const error = await failure(provider);
        expect(error.code).toBe(code);
        expect(error.retryable).toBe(retryable);
        expect(error.provider).toBe(subject.dialect);
      },
    );

    it('a body that is not JSON is a retryable bad_response', async () => {
      fake.script({ type: 'malformed' });
      const error = await failure(provider);
      expect(error.code).toBe('bad_response');
      expect(error.retryable).toBe(true);
    });

    it('an empty answer is a bad_response', async () => {
      fake.script({ type: 'reply', text: '' });
      expect((await failure(provider)).code).toBe('bad_response');
    });

    it('a server that never answers is a retryable timeout after timeoutMs', async () => {
      provider = make({ timeoutMs: 300 });
      fake.script({ type: 'hang' });
      const error = await failure(provider);
      expect(error.code).toBe('timeout');
      expect(error.retryable).toBe(true);
      await vi.waitFor(() => expect(fake.requests()[0]?.clientClosed).toBe(true));
    });

    it('aborting the signal cancels the call with an AbortError, not a provider error', async () => {
      fake.script({ type: 'hang' });
      const controller = new AbortController();
      const call = provider.generate({ ...REQUEST, signal: controller.signal });
      const outcome = call.then(
        () => undefined,
        (error: unknown) => error,
      );
      await vi.waitFor(() => expect(fake.requests()).toHaveLength(1));
      controller.abort();
      const error = await outcome;
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).name).toBe('AbortError');
      expect(isProviderError(error)).toBe(false);
      await vi.waitFor(() => expect(fake.requests()[0]?.clientClosed).toBe(true));
    });

    it('an already aborted signal sends nothing', async () => {
      const controller = new AbortController();
      controller.abort();
      await expect(provider.generate({ ...REQUEST, signal: controller.signal })).rejects.toMatchObject({
        name: 'AbortError',
      });
      expect(fake.stats().total).toBe(0);
    });

    it('the API key never appears in an error, even when the server echoes it', async () => {
      fake.script({ type: 'unauthorized' });
      const error = await failure(provider);
      expect(error.code).toBe('auth');
      const everything = `${error.message} ${String(error.cause)} ${String((error.cause as Error)?.cause)} ${JSON.stringify(error)}`;
      expect(everything).not.toContain(CANARY_KEY);
      expect(error.message).toContain('[REDACTED]');
    });

    it('the health check is healthy when the provider answers', async () => {
      const health = await provider.healthCheck();
      expect(health).toEqual({ healthy: true, latencyMs: expect.any(Number) });
      expect(fake.requests()[0]?.operation).toBe('health');
    });

    it('the health check reports a failure with scrubbed text instead of rejecting', async () => {
      fake.respond(() => ({ type: 'unauthorized' }));
      const health = await provider.healthCheck();
      expect(health.healthy).toBe(false);
      expect(health.error).toMatch(/auth/);
      expect(health.error).not.toContain(CANARY_KEY);
    });

    it('the health check of an unreachable provider is unhealthy, not a rejection', async () => {
      const down = make({ baseUrl: subject.baseUrl(fake).replace(/:\d+/, ':1') });
      const health = await down.healthCheck();
      expect(health.healthy).toBe(false);
      expect(health.error).toBeTruthy();
    });
  });
}
