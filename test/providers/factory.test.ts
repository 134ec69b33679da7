import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { isConfigError } from '../../src/errors.js';
import { AnthropicProvider } from '../../src/services/providers/anthropic.js';
import { createProvider, ProviderFactory } from '../../src/services/providers/factory.js';
import { GeminiProvider } from '../../src/services/providers/gemini.js';
import { OpenAiProvider } from '../../src/services/providers/openai.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';

describe('provider factory', () => {
  let fake: FakeProviderServer;

  beforeAll(async () => {
    fake = await startFakeProviderServer();
  });
  afterAll(async () => {
    await fake.close();
  });

  const configFor = (server: FakeProviderServer) =>
    loadConfig({
      ANTHROPIC_API_KEY: 'anthropic-test-key',
      ANTHROPIC_BASE_URL: server.urls.anthropic,
      GOOGLE_API_KEY: 'gemini-test-key',
      GOOGLE_GEMINI_BASE_URL: server.urls.gemini,
      PROVIDER_TIMEOUT_SECONDS: '5',
      SIMULATED_LATENCY_MS: '0',
    });

  it('checks every configured provider at once and reports each one', async () => {
    fake.reset();
    fake.respond((request) => (request.dialect === 'gemini' ? { type: 'server_error' } : undefined));
    const factory = new ProviderFactory(configFor(fake));
    const health = await factory.healthCheckAll();
    fake.respond(undefined);

    expect(Object.keys(health).sort()).toEqual(['anthropic', 'gemini', 'simulated']);
    expect(health.anthropic).toMatchObject({ healthy: true });
    expect(health.simulated).toMatchObject({ healthy: true });
    expect(health.gemini).toMatchObject({ healthy: false, error: expect.stringMatching(/server_error/) });
    expect(health.gemini!.error).not.toContain('gemini-test-key');
  });

  it('a provider whose adapter cannot be built is reported unhealthy, not thrown', async () => {
    const factory = new ProviderFactory(configFor(fake));
    const health = await factory.healthCheckAll({ names: ['openai', 'simulated'] });
    expect(health.openai).toMatchObject({ healthy: false, error: expect.stringMatching(/OPENAI_API_KEY/) });
    expect(health.simulated).toMatchObject({ healthy: true });
  });

  it('builds each adapter once and shares it', () => {
    const factory = new ProviderFactory(configFor(fake));
    expect(factory.get('anthropic')).toBe(factory.get('anthropic'));
    expect(factory.configured()).toEqual(['anthropic', 'gemini', 'simulated']);
  });

  it('refuses a provider without credentials, naming the variable to set', () => {
    const factory = new ProviderFactory(loadConfig({}));
    let error: unknown;
    try {
      factory.get('anthropic');
    } catch (caught) {
      error = caught;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/^ANTHROPIC_API_KEY: provider anthropic is not configured/);
  });

  it('creates the adapter that matches the config name', () => {
    const config = configFor(fake);
    expect(createProvider(config.providers.anthropic)).toBeInstanceOf(AnthropicProvider);
    expect(createProvider(config.providers.gemini)).toBeInstanceOf(GeminiProvider);
    expect(createProvider({ ...config.providers.openai, baseUrl: fake.urls.openai })).toBeInstanceOf(
      OpenAiProvider,
    );
    const simulated = createProvider(config.providers.simulated, { simulatedLatencyMs: 5 });
    expect(simulated).toBeInstanceOf(SimulatedProvider);
    expect(simulated.name).toBe('simulated');
  });

  it('the simulated provider takes its latency from the config', async () => {
    const factory = new ProviderFactory(loadConfig({ SIMULATED_LATENCY_MS: '20' }));
    const result = await factory.get('simulated').generate({
      system: '',
      messages: [{ role: 'user', content: 'Topic: tides.' }],
      maxTokens: 100,
      temperature: 0.5,
    });
    expect(result.latencyMs).toBeGreaterThanOrEqual(20);
  });

  it("builds each configured provider's batch API once, and the simulated one takes its delay from the config", async () => {
    const factory = new ProviderFactory(
      loadConfig({
        ANTHROPIC_API_KEY: 'anthropic-test-key',
        ANTHROPIC_BASE_URL: fake.urls.anthropic,
        SIMULATED_BATCH_DELAY_MS: '60000',
      }),
    );
    const anthropic = factory.batchApi('anthropic');
    expect(anthropic.provider).toBe('anthropic');
    expect(factory.batchApi('anthropic')).toBe(anthropic);
    expect(() => factory.batchApi('gemini')).toThrow(/GOOGLE_API_KEY/);
    const simulated = factory.batchApi('simulated');
    const request = {
      system: '',
      messages: [{ role: 'user' as const, content: 'Topic: tides.' }],
      maxTokens: 100,
      temperature: 0.5,
    };
    const { id } = await simulated.submit([{ customId: 'tides:1:0', request }]);
    expect((await simulated.retrieve(id)).state).toBe('in_progress');
    expect(() => loadConfig({ SIMULATED_BATCH_DELAY_MS: 'soon' })).toThrow(/SIMULATED_BATCH_DELAY_MS/);
  });
});
