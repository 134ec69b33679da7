import { afterAll, inject } from 'vitest';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { batchStoreContract } from '../contracts/batch-store.js';
import { deleteKeys, uniquePrefix } from './redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
afterAll(async () => {
  await admin.quit();
});

// Two daemons: two connections on one Redis.
batchStoreContract('redis', async () => {
  const keyPrefix = uniquePrefix('batches');
  const a = createRedis(redisUrl);
  const b = createRedis(redisUrl);
  return {
    store: new RedisBatchStore(a, keyPrefix),
    other: new RedisBatchStore(b, keyPrefix),
    cleanup: async () => {
      await Promise.all([a.quit(), b.quit()]);
      await deleteKeys(admin, keyPrefix);
    },
  };
});
