import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { ConversationStateStore } from '../../src/compat/conversation-state-store.js';
import { loadConfig } from '../../src/config.js';
import { isChimeraError, isConfigError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/services/redis/client.js';
import { conversationStateKey } from '../../src/services/redis/keys.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
const opened: Array<{ store: ConversationStateStore; keyPrefix: string }> = [];

function open(extra: { ttlMs?: number; lines?: string[] } = {}) {
  const keyPrefix = uniquePrefix('state');
  const lines = extra.lines;
  const logger = lines
    ? createLogger({
        level: 'error',
        destination: new Writable({
          write(chunk, _encoding, done) {
            lines.push(String(chunk));
            done();
          },
        }),
      })
    : undefined;
  const store = new ConversationStateStore({ url: redisUrl, keyPrefix, ttlMs: extra.ttlMs, logger });
  opened.push({ store, keyPrefix });
  return { store, keyPrefix };
}

afterEach(async () => {
  for (const { store, keyPrefix } of opened.splice(0)) {
    await store.close();
    await deleteKeys(admin, keyPrefix);
  }
});

afterAll(async () => {
  await admin.quit();
});

describe('conversation state store', () => {
  it('a saved state loads back as the same object', async () => {
    const { store } = open();
    await store.start();
    const state = { topic: 'tides', turns: [{ speaker: 'questioner', text: 'Why?' }], count: 1 };
    expect(await store.saveConversationState('c-1', state)).toBe(true);
    expect(await store.loadConversationState('c-1')).toEqual(state);
  });

  it('a conversation never saved loads as null', async () => {
    const { store } = open();
    expect(await store.loadConversationState('nobody')).toBeNull();
  });

  it('a later save replaces the earlier one and restarts the TTL', async () => {
    const { store, keyPrefix } = open({ ttlMs: 30_000 });
    await store.saveConversationState('c-2', { v: 1 });
    await admin.pexpire(conversationStateKey(keyPrefix, 'c-2'), 1_000);
    await store.saveConversationState('c-2', { v: 2 });
    expect(await store.loadConversationState('c-2')).toEqual({ v: 2 });
    expect(await admin.pttl(conversationStateKey(keyPrefix, 'c-2'))).toBeGreaterThan(1_000);
  });

  it('states live under the configured prefix with the configured TTL', async () => {
    const { store, keyPrefix } = open({ ttlMs: 45_000 });
    await store.saveConversationState('c-3', { ok: true });
    const key = `${keyPrefix}:state:c-3`;
    expect(JSON.parse((await admin.get(key))!)).toEqual({ ok: true });
    const ttl = await admin.pttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(45_000);
  });

  it('a state JSON cannot hold is not saved, returns false and is logged', async () => {
    const lines: string[] = [];
    const { store } = open({ lines });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(await store.saveConversationState('c-4', circular)).toBe(false);
    expect(await store.loadConversationState('c-4')).toBeNull();
    expect(lines.join('')).toContain('saving conversation state failed');
  });

  it('stored text that is not a JSON object is reported as invalid', async () => {
    const { store, keyPrefix } = open();
    await admin.set(conversationStateKey(keyPrefix, 'c-5'), 'not json');
    await admin.set(conversationStateKey(keyPrefix, 'c-6'), '42');
    for (const id of ['c-5', 'c-6']) {
      const error = await store.loadConversationState(id).catch((e: unknown) => e);
      expect(isChimeraError(error) && error.code).toBe('invalid_snapshot');
    }
  });

  it('a deleted state loads as null', async () => {
    const { store } = open();
    await store.saveConversationState('c-7', { a: 1 });
    expect(await store.deleteConversationState('c-7')).toBe(true);
    expect(await store.loadConversationState('c-7')).toBeNull();
    expect(await store.deleteConversationState('c-7')).toBe(false);
  });

  it('is built from the loaded configuration', async () => {
    const keyPrefix = uniquePrefix('state-config');
    const config = loadConfig({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix });
    const store = new ConversationStateStore(config);
    opened.push({ store, keyPrefix });
    await store.start();
    await store.saveConversationState('c-8', { from: 'config' });
    expect(await admin.exists(`${keyPrefix}:state:c-8`)).toBe(1);
    expect(await admin.pttl(`${keyPrefix}:state:c-8`)).toBeGreaterThan(60 * 60 * 1000);
  });

  it('without Redis in the configuration it names the missing variable', () => {
    let error: unknown;
    try {
      new ConversationStateStore(loadConfig({}));
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error) && error.variable).toBe('REDIS_URL');
  });

  it('a closed store refuses further calls', async () => {
    const { store } = open();
    await store.close();
    const error = await store.loadConversationState('c-9').catch((e: unknown) => e);
    expect(isChimeraError(error) && error.code).toBe('closed');
  });
});
