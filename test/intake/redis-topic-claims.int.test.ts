import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { RedisTopicClaims } from '../../src/intake/redis-topic-claims.js';
import { createRedis } from '../../src/services/redis/client.js';

describe('Redis topic claims', () => {
  let redis: Redis;
  let keyPrefix: string;

  beforeEach(() => {
    redis = createRedis(inject('redisUrl'));
    keyPrefix = `chimera-test-${randomUUID()}`;
  });

  afterEach(async () => {
    await redis.del(`${keyPrefix}:topic:t`);
    redis.disconnect();
  });

  it('two daemons claiming one id: only one wins', async () => {
    const first = new RedisTopicClaims({ redis, keyPrefix });
    const second = new RedisTopicClaims({ redis, keyPrefix });
    const results = await Promise.all([first.claim('t', 'kafka:in:0:1'), second.claim('t', 'kafka:in:0:7')]);
    expect(results.sort()).toEqual([false, true]);
  });

  it('the claiming message gets through again until completed, then the id is taken for good', async () => {
    const claims = new RedisTopicClaims({ redis, keyPrefix });
    expect(await claims.claim('t', 'origin-1')).toBe(true);
    expect(await claims.claim('t', 'origin-1')).toBe(true);
    await claims.complete('t');
    expect(await claims.claim('t', 'origin-1')).toBe(false);
    expect(await redis.get(`${keyPrefix}:topic:t`)).toBe('done');
  });

  it('a claim expires after its TTL', async () => {
    const claims = new RedisTopicClaims({ redis, keyPrefix, ttlMs: 60_000 });
    await claims.claim('t', 'o');
    const ttl = await redis.pttl(`${keyPrefix}:topic:t`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
