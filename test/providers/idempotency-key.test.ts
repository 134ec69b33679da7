import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ProviderFactory } from '../../src/services/providers/factory.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

describe('the Idempotency-Key header of a model call', () => {
  let fake: FakeProviderServer;

  beforeAll(async () => {
    fake = await startFakeProviderServer();
  });
  afterAll(async () => {
    await fake.close();
  });

  it.each(['anthropic', 'openai', 'gemini'] as const)(
    '%s sends it, once per call, as the fake server counts it',
    async (name) => {
      fake.reset();
      const factory = new ProviderFactory(
        loadConfig({
          ANTHROPIC_API_KEY: 'anthropic-test-key',
          ANTHROPIC_BASE_URL: fake.urls.anthropic,
          GOOGLE_API_KEY: 'gemini-test-key',
          GOOGLE_GEMINI_BASE_URL: fake.urls.gemini,
          OPENAI_API_KEY: 'openai-test-key',
          OPENAI_BASE_URL: fake.urls.openai,
          PROVIDER_TIMEOUT_SECONDS: '5',
        }),
      );
      const provider = factory.get(name);
      const request = {
        system: 'Be brief.',
        messages: [{ role: 'user' as const, content: 'Why is the sky blue?' }],
        maxTokens: 64,
        temperature: 0.5,
      };
      await provider.generate({ ...request, idempotencyKey: 'conv-1:3:0' });
      await provider.generate({ ...request, idempotencyKey: 'conv-1:3:0' });
      await provider.generate({ ...request, idempotencyKey: 'conv-1:4:0' });
      await provider.generate(request);

      expect(fake.requestKeys()).toEqual([
        { key: 'conv-1:3:0', conversationId: 'conv-1', turnIndex: 3, generation: 0, sent: 2, answered: 2 },
        { key: 'conv-1:4:0', conversationId: 'conv-1', turnIndex: 4, generation: 0, sent: 1, answered: 1 },
      ]);
      expect(fake.stats().byDialect[name]).toBe(4);
    },
  );
});
