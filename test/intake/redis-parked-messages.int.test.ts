import { inject } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisParkedMessages } from '../../src/services/redis/parked-messages.js';
import { parkedMessagesContract } from '../contracts/parked-messages.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

parkedMessagesContract('redis', async () => {
  const redis = createRedis(inject('redisUrl'));
  const prefix = uniquePrefix('parked');
  return {
    parked: new RedisParkedMessages(redis, `${prefix}:parked`, 100),
    maxLength: 100,
    cleanup: async () => {
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
});
