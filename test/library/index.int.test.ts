import { describe, expect, it } from 'vitest';
import {
  ConversationManager,
  ConversationStateStore,
  createLogger,
  loadConfig,
  ProviderFactory,
} from '../../src/index.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { deleteKeys, infraEnv, uniqueNames } from '../support/infra.js';

const logger = createLogger({ level: 'silent' });
const cleanups = cleanupsAfterEach();

describe('the package entry point on real Redis', () => {
  it('the state store saves a conversation state and loads it back', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const settings = loadConfig(infraEnv({ REDIS_KEY_PREFIX: names.prefix }));
    const stateStore = new ConversationStateStore(settings);
    cleanups.add(() => stateStore.close());
    await stateStore.start();
    const state = {
      conversation_id: 'conv-123',
      topic: 'AI in Healthcare',
      turns: [],
      metadata: { status: 'active' },
    };
    expect(await stateStore.saveConversationState('conv-123', state)).toBe(true);
    expect(await stateStore.loadConversationState('conv-123')).toEqual(state);
    expect(await stateStore.loadConversationState('conv-unknown')).toBeNull();
  });

  it('the conversation manager with a state store saves each finished record there', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    // Redis only: the conversation's snapshot and the state store share the Redis, events stay in-process.
    const { KAFKA_BOOTSTRAP_SERVERS: _kafka, ...env } = infraEnv({
      ...names.env,
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
    });
    const settings = loadConfig(env);
    expect(settings.kafka).toBeUndefined();
    const stateStore = new ConversationStateStore(settings);
    cleanups.add(() => stateStore.close());
    await stateStore.start();
    const manager = new ConversationManager(new ProviderFactory(settings), stateStore, settings, { logger });
    cleanups.add(() => manager.stop());

    const conversationId = await manager.startNewConversation({ title: 'The Future of AI in Healthcare' });
    const record = await manager.waitFor(conversationId, 30_000);
    expect(record.status).toBe('ended');
    expect(await stateStore.loadConversationState(conversationId)).toEqual(record);
  });
});
