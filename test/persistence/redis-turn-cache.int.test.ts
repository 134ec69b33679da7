import { afterAll, inject } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { turnCacheContract } from '../contracts/turn-cache.js';
import { deleteKeys, uniquePrefix } from './redis-support.js';

const redis = createRedis(inject('redisUrl'));
afterAll(async () => {
  await redis.quit();
});

turnCacheContract('redis', async () => {
  const keyPrefix = uniquePrefix('turns');
  return { cache: new RedisTurnCache(redis, keyPrefix), cleanup: () => deleteKeys(redis, keyPrefix) };
});
