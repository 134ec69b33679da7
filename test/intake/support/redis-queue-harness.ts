import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { InMemoryEventBus } from '../../../src/services/memory/event-bus.js';
import { createRedis } from '../../../src/services/redis/client.js';
import { RedisTopicClaims } from '../../../src/services/redis/topic-claims.js';
import { RedisTopicQueue, type RedisTopicQueueOptions } from '../../../src/services/redis/topic-queue.js';

export const logger = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Keys under a prefix no other test uses; `cleanup` deletes every one of them. */
export function redisQueueSpace() {
  const keyPrefix = `chimera-test-${randomUUID()}`;
  const redis = createRedis(inject('redisUrl'));
  const queue = `${keyPrefix}:queue`;
  const bus = new InMemoryEventBus();
  const queues: RedisTopicQueue[] = [];
  const open = (instanceId: string, options: Partial<RedisTopicQueueOptions> = {}) => {
    const source = new RedisTopicQueue({
      redis,
      queue,
      keyPrefix,
      instanceId,
      bus,
      claims: new RedisTopicClaims({ redis, keyPrefix }),
      maxTitleLength: 500,
      logger,
      ...options,
    });
    queues.push(source);
    return source;
  };
  return {
    redis,
    keyPrefix,
    queue,
    bus,
    open,
    cleanup: async () => {
      for (const source of queues) await source.close();
      await deleteUnder(redis, keyPrefix);
      await bus.close();
      redis.disconnect();
    },
  };
}

async function deleteUnder(redis: Redis, keyPrefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
