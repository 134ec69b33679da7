import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import { AnthropicProvider } from '../../src/services/providers/anthropic.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import {
  type AdapterSettings,
  CANARY_KEY,
  describeLlmProviderContract,
  failure,
  REQUEST,
} from '../contracts/llm-provider.js';

function config(settings: AdapterSettings): ProviderConfig {
  return { name: 'anthropic', model: 'claude-test', rpm: 60, tpm: 100_000, ...settings };
}

describeLlmProviderContract({
  dialect: 'anthropic',
  create: (settings) => new AnthropicProvider(config(settings)),
  baseUrl: (fake) => fake.urls.anthropic,
  // The 1.x SDK sends the key as a bearer token; the API also takes x-api-key.
  sentKey: (headers) => headers['x-api-key'] ?? headers.authorization?.replace(/^Bearer /, ''),
});

describe('anthropic adapter', () => {
  let fake: FakeProviderServer;
  let provider: AnthropicProvider;

  beforeAll(async () => {
    fake = await startFakeProviderServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    provider = new AnthropicProvider(
      config({ baseUrl: fake.urls.anthropic, apiKey: CANARY_KEY, timeoutMs: 5000 }),
    );
  });

  it('marks the system block and the last message as prompt-cache breakpoints', async () => {
    await provider.generate({
      ...REQUEST,
      messages: [
        { role: 'user', content: 'Topic: tides. Why are there two a day?' },
        { role: 'assistant', content: 'Because the Moon pulls the near and far sides differently.' },
        { role: 'user', content: 'Does the Sun matter too?' },
      ],
    });
    const body = fake.requests()[0]!.body as {
      system: Array<{ cache_control?: unknown }>;
      messages: Array<{ content: string | Array<{ cache_control?: unknown }> }>;
    };
    expect(body.system[0]!.cache_control).toEqual({ type: 'ephemeral' });
    expect(typeof body.messages[0]!.content).toBe('string');
    expect(typeof body.messages[1]!.content).toBe('string');
    expect(body.messages[2]!.content).toEqual([
      { type: 'text', text: 'Does the Sun matter too?', cache_control: { type: 'ephemeral' } },
    ]);
  });

  it('maps cache writes and then cache reads of the growing conversation into usage', async () => {
    const first = await provider.generate(REQUEST);
    expect(first.usage.cacheWriteTokens).toBeGreaterThan(0);
    expect(first.usage.cacheReadTokens).toBe(0);

    const second = await provider.generate({
      ...REQUEST,
      messages: [
        ...REQUEST.messages,
        { role: 'assistant', content: first.text },
        { role: 'user', content: 'And who owns them?' },
      ],
    });
    expect(second.usage.cacheReadTokens).toBe(first.usage.cacheWriteTokens);
    expect(second.usage.cacheWriteTokens).toBeGreaterThan(0);
  });

  it('leaves out an empty system prompt, which the API would refuse', async () => {
    await provider.generate({ ...REQUEST, system: '' });
    expect(fake.requests()[0]!.body).not.toHaveProperty('system');
  });

  it('sends no temperature unless asked, since current models refuse sampling parameters', async () => {
    await provider.generate(REQUEST);
    const withTemperature = new AnthropicProvider(
      config({ baseUrl: fake.urls.anthropic, apiKey: CANARY_KEY, timeoutMs: 5000 }),
      { sendTemperature: true },
    );
    await withTemperature.generate(REQUEST);
    const [plain, tuned] = fake.requests();
    expect(plain!.body).not.toHaveProperty('temperature');
    expect(tuned!.body).toMatchObject({ temperature: REQUEST.temperature, max_tokens: REQUEST.maxTokens });
  });

  it('the request id is the request-id header', async () => {
    const result = await provider.generate(REQUEST);
    expect(result.requestId).toMatch(/^req_/);
  });

  it('a 429 carries its request id and the HTTP-date form of retry-after', async () => {
    fake.script({ type: 'rate_limited', retryAfterSeconds: 30, retryAfterAsDate: true });
    const error = await failure(provider);
    // HTTP dates have one-second resolution, so the wait is within the last second before 30 s.
    expect(error.retryAfterMs).toBeGreaterThan(28_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(30_000);
    expect(error.requestId).toMatch(/^req_/);
  });

  it('retry-after-ms wins over retry-after', async () => {
    fake.script({ type: 'rate_limited', retryAfterSeconds: 5, retryAfterMs: 1250 });
    const error = await failure(provider);
    expect(error.retryAfterMs).toBe(1250);
  });

  it('refuses to be built without a key, naming the variable', () => {
    expect(
      () => new AnthropicProvider({ name: 'anthropic', model: 'm', rpm: 1, tpm: 1, timeoutMs: 1000 }),
    ).toThrow(/ANTHROPIC_API_KEY/);
  });
});
