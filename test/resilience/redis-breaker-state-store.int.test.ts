import { afterAll, describe, expect, inject, it } from 'vitest';
import { breakersKey, RedisBreakerStateStore } from '../../src/services/redis/breaker-state-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { breakerStateStoreContract } from '../contracts/breaker-state-store.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
afterAll(async () => {
  await admin.quit();
});

breakerStateStoreContract('redis', async () => {
  const keyPrefix = uniquePrefix('breakers');
  const a = createRedis(redisUrl);
  const b = createRedis(redisUrl);
  return {
    store: new RedisBreakerStateStore(a, keyPrefix),
    other: new RedisBreakerStateStore(b, keyPrefix),
    cleanup: async () => {
      await Promise.all([a.quit(), b.quit()]);
      await deleteKeys(admin, keyPrefix);
    },
  };
});

describe('Redis breaker state store', () => {
  it('keeps one JSON field per provider in <prefix>:breakers, and leaves out a field that is not a report', async () => {
    const keyPrefix = uniquePrefix('breakers-raw');
    const store = new RedisBreakerStateStore(admin, keyPrefix);
    await store.write('anthropic', {
      state: 'closed',
      since: 1,
      instance: 'd',
      failures: 0,
      openedAt: null,
      cooldownMs: 1000,
    });
    expect(JSON.parse((await admin.hget(breakersKey(keyPrefix), 'anthropic'))!)).toMatchObject({
      instance: 'd',
    });
    await admin.hset(breakersKey(keyPrefix), 'gemini', 'not json', 'openai', '{"state":"sideways"}');
    expect(Object.keys(await store.readAll())).toEqual(['anthropic']);
    await deleteKeys(admin, keyPrefix);
  });
});
