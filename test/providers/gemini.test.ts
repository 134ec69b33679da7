import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProviderConfig } from '../../src/config.js';
import { GeminiProvider } from '../../src/services/providers/gemini.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import {
  type AdapterSettings,
  CANARY_KEY,
  describeLlmProviderContract,
  failure,
  REQUEST,
} from '../contracts/llm-provider.js';

function config(settings: AdapterSettings): ProviderConfig {
  return { name: 'gemini', model: 'gemini-test', rpm: 60, tpm: 100_000, ...settings };
}

describeLlmProviderContract({
  dialect: 'gemini',
  create: (settings) => new GeminiProvider(config(settings)),
  baseUrl: (fake) => fake.urls.gemini,
  sentKey: (headers, query) => headers['x-goog-api-key'] ?? query.key,
});

describe('gemini adapter', () => {
  let fake: FakeProviderServer;
  let provider: GeminiProvider;

  beforeAll(async () => {
    fake = await startFakeProviderServer();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
    provider = new GeminiProvider(config({ baseUrl: fake.urls.gemini, apiKey: CANARY_KEY, timeoutMs: 5000 }));
  });

  it('maps roles to user and model and sends the system prompt as systemInstruction', async () => {
    await provider.generate({
      ...REQUEST,
      messages: [
        { role: 'user', content: 'Topic: tides. Why are there two a day?' },
        { role: 'assistant', content: 'Because the Moon pulls the near and far sides differently.' },
        { role: 'user', content: 'Does the Sun matter too?' },
      ],
    });
    const received = fake.requests()[0]!;
    expect(received.path).toBe('/v1beta/models/gemini-test:generateContent');
    const body = received.body as {
      contents: Array<{ role: string; parts: Array<{ text: string }> }>;
      systemInstruction: { parts: Array<{ text: string }> };
      generationConfig: { maxOutputTokens: number; temperature: number };
    };
    expect(body.contents.map((content) => content.role)).toEqual(['user', 'model', 'user']);
    expect(body.contents[1]!.parts[0]!.text).toBe(
      'Because the Moon pulls the near and far sides differently.',
    );
    expect(body.systemInstruction.parts[0]!.text).toBe(REQUEST.system);
    expect(body.generationConfig).toMatchObject({ maxOutputTokens: 300, temperature: 0.7 });
  });

  it('reads the wait of a 429 from the RetryInfo detail, since Google sends no retry-after header', async () => {
    fake.script({ type: 'rate_limited', retryAfterSeconds: 37 });
    const error = await failure(provider);
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterMs).toBe(37_000);
  });

  it('uses the responseId as the request id', async () => {
    const result = await provider.generate(REQUEST);
    expect(result.requestId).toMatch(/^fake\d+$/);
  });

  it('passes a thinking budget when one is configured', async () => {
    const frugal = new GeminiProvider(
      config({ baseUrl: fake.urls.gemini, apiKey: CANARY_KEY, timeoutMs: 5000 }),
      {
        thinkingBudget: 0,
      },
    );
    await frugal.generate(REQUEST);
    expect(fake.requests()[0]!.body).toMatchObject({
      generationConfig: { thinkingConfig: { thinkingBudget: 0 } },
    });
  });

  it('refuses to be built without a key, naming the variable', () => {
    expect(() => new GeminiProvider({ name: 'gemini', model: 'm', rpm: 1, tpm: 1, timeoutMs: 1000 })).toThrow(
      /GOOGLE_API_KEY/,
    );
  });
});
