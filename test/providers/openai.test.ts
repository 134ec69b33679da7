import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import { OpenAiProvider, PLACEHOLDER_API_KEY } from '../../src/services/providers/openai.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import {
  type AdapterSettings,
  CANARY_KEY,
  describeLlmProviderContract,
  REQUEST,
} from '../contracts/llm-provider.js';

function config(settings: Partial<AdapterSettings> & { baseUrl: string }): ProviderConfig {
  return { name: 'openai', model: 'gpt-test', rpm: 60, tpm: 100_000, timeoutMs: 5000, ...settings };
}

describeLlmProviderContract({
  dialect: 'openai',
  create: (settings) => new OpenAiProvider(config(settings)),
  baseUrl: (fake) => fake.urls.openai,
  sentKey: (headers) => headers.authorization?.replace(/^Bearer /, ''),
});

describe('openai-compatible adapter', () => {
  let fake: FakeProviderServer;

  beforeAll(async () => {
    fake = await startFakeProviderServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  it('sends the system prompt as the first message and max_tokens to a compatible server', async () => {
    const provider = new OpenAiProvider(config({ baseUrl: fake.urls.openai, apiKey: CANARY_KEY }));
    await provider.generate(REQUEST);
    const body = fake.requests()[0]!.body as { messages: Array<{ role: string; content: string }> };
    expect(body.messages.map((message) => message.role)).toEqual(['system', 'user']);
    expect(body.messages[0]!.content).toBe(REQUEST.system);
    expect(body).toMatchObject({ model: 'gpt-test', max_tokens: 300, temperature: 0.7 });
  });

  it('works without a key against a local server, sending a placeholder', async () => {
    const provider = new OpenAiProvider(config({ baseUrl: fake.urls.openai }));
    const result = await provider.generate(REQUEST);
    expect(result.text).not.toBe('');
    expect(fake.requests()[0]!.headers.authorization).toBe(`Bearer ${PLACEHOLDER_API_KEY}`);
  });

  it('the request id is the x-request-id header', async () => {
    const provider = new OpenAiProvider(config({ baseUrl: fake.urls.openai, apiKey: CANARY_KEY }));
    expect((await provider.generate(REQUEST)).requestId).toMatch(/^req_/);
  });

  it('a 402 from a credit-based gateway is quota_exhausted', async () => {
    const provider = new OpenAiProvider(config({ baseUrl: fake.urls.openai, apiKey: CANARY_KEY }));
    fake.script({ type: 'status', status: 402, message: 'Insufficient credits' });
    await expect(provider.generate(REQUEST)).rejects.toMatchObject({
      code: 'quota_exhausted',
      retryable: false,
    });
  });
});
