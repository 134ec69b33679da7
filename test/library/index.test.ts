import { afterEach, describe, expect, it } from 'vitest';
import {
  ConversationManager,
  conversationRecordSchema,
  createLogger,
  isChimeraError,
  loadConfig,
  ProviderFactory,
  SimulatedProvider,
} from '../../src/index.js';

const logger = createLogger({ level: 'silent' });
const managers: ConversationManager[] = [];
afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.stop();
});

/** The embedded mode: no Redis, no Kafka, no keys, so the simulated provider on both sides. */
const settings = () => loadConfig({ MAX_CONVERSATION_TURNS: '4', MIN_CONVERSATION_TURNS: '2' });

describe('the package entry point, embedded', () => {
  it('a provider client starts, generates a reply with usage, and reports itself healthy', async () => {
    const client = new SimulatedProvider();
    await client.start();
    const response = await client.generate({
      system: 'You are a helpful expert.',
      messages: [{ role: 'user', content: 'What are the benefits of renewable energy?' }],
      maxTokens: 256,
      temperature: 0.7,
    });
    expect(response.text.length).toBeGreaterThan(0);
    expect(response.usage.outputTokens).toBeGreaterThan(0);
    expect(await client.healthCheck()).toEqual({ healthy: true, latencyMs: 0 });
  });

  it('the factory checks the health of every configured provider', async () => {
    const factory = new ProviderFactory(settings());
    expect(await factory.healthCheckAll()).toEqual({ simulated: { healthy: true, latencyMs: 0 } });
  });

  it("the conversation manager returns the new conversation's id, and that conversation finishes", async () => {
    const config = settings();
    const manager = new ConversationManager(new ProviderFactory(config), undefined, config, { logger });
    managers.push(manager);
    await manager.start();
    const conversationId = await manager.startNewConversation({
      title: 'The Future of AI in Healthcare',
      source: 'hackernews',
      url: 'https://example.com/topic',
    });
    expect(conversationId).toMatch(/^c-[0-9a-f]{24}$/);
    const record = conversationRecordSchema.parse(await manager.waitFor(conversationId, 20_000));
    expect(record).toMatchObject({
      conversationId,
      status: 'ended',
      simulated: true,
      topic: {
        title: 'The Future of AI in Healthcare',
        source: 'hackernews',
        url: 'https://example.com/topic',
      },
    });
    expect(record.turns.length).toBeGreaterThanOrEqual(2);
  });

  it('the same topic twice is one conversation', async () => {
    const config = settings();
    const manager = new ConversationManager(new ProviderFactory(config), undefined, config, { logger });
    managers.push(manager);
    const first = await manager.startNewConversation({ title: 'Tidal power' });
    const second = await manager.startNewConversation({ title: 'Tidal power' });
    expect(second).toBe(first);
  });

  it('a title the intake would refuse is refused at once with a typed error', async () => {
    const config = settings();
    const manager = new ConversationManager(new ProviderFactory(config), undefined, config, { logger });
    managers.push(manager);
    const error = await manager.startNewConversation({ title: 'hidden\u200Btext' }).catch((e: unknown) => e);
    expect(isChimeraError(error) && error.code).toBe('invalid_topic');
  });
});
