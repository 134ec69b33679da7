import { afterAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTopicClaims } from '../../src/services/redis/topic-claims.js';
import { topicClaimsContract } from '../contracts/topic-claims.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
afterAll(async () => {
  await admin.quit();
});

// Two daemons: two connections on one Redis.
topicClaimsContract('redis', async () => {
  const keyPrefix = uniquePrefix('claims');
  const a = createRedis(redisUrl);
  const b = createRedis(redisUrl);
  return {
    claims: new RedisTopicClaims({ redis: a, keyPrefix }),
    other: new RedisTopicClaims({ redis: b, keyPrefix }),
    cleanup: async () => {
      await Promise.all([a.quit(), b.quit()]);
      await deleteKeys(admin, keyPrefix);
    },
  };
});

describe('Redis topic claims', () => {
  it('a completed claim is stored as done under <prefix>:topic:<id>, and a claim expires after its TTL', async () => {
    const keyPrefix = uniquePrefix('claims-ttl');
    const claims = new RedisTopicClaims({ redis: admin, keyPrefix, ttlMs: 60_000 });
    await claims.claim('t', 'o');
    const ttl = await admin.pttl(`${keyPrefix}:topic:t`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await claims.complete('t');
    expect(await admin.get(`${keyPrefix}:topic:t`)).toBe('done');
    await deleteKeys(admin, keyPrefix);
  });
});
