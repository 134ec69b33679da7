import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { turnCacheContract, turnFor } from '../contracts/turn-cache.js';
import { deleteKeys, uniquePrefix } from './redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
afterAll(async () => {
  await admin.quit();
});

// Two daemons: two connections on one Redis.
turnCacheContract('redis', async () => {
  const keyPrefix = uniquePrefix('turns');
  const a = createRedis(redisUrl);
  const b = createRedis(redisUrl);
  return {
    cache: new RedisTurnCache(a, keyPrefix),
    other: new RedisTurnCache(b, keyPrefix),
    cleanup: async () => {
      await Promise.all([a.quit(), b.quit()]);
      await deleteKeys(admin, keyPrefix);
    },
  };
});

describe('Redis turn cache', () => {
  it('keeps a conversation’s answers in one hash that expires after its TTL', async () => {
    const keyPrefix = uniquePrefix('turns-ttl');
    const cache = new RedisTurnCache(admin, keyPrefix, 60_000);
    await cache.putIfAbsent({ conversationId: 'c-1', turnIndex: 0, generation: 0 }, turnFor(0, 'kept'));
    const ttl = await admin.pttl(`${keyPrefix}:turns:{c-1}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await deleteKeys(admin, keyPrefix);
  });
});
