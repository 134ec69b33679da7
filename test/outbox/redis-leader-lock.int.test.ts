import { afterAll, inject } from 'vitest';
import type { LeaderLock } from '../../src/services/ports.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisLeaderLock } from '../../src/services/redis/leader-lock.js';
import { leaderLockContract } from '../contracts/leader-lock.js';
import { deleteKeys, sleep, uniquePrefix } from '../persistence/redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
afterAll(async () => {
  await admin.quit();
});

// Each owner on a connection of its own, as each daemon has.
leaderLockContract('redis', async () => {
  const keyPrefix = uniquePrefix('lock');
  const clients = new Map<string, ReturnType<typeof createRedis>>();
  const ttlMs = 400;
  return {
    lock: (owner): LeaderLock => {
      let client = clients.get(owner);
      if (!client) {
        client = createRedis(redisUrl);
        clients.set(owner, client);
      }
      return new RedisLeaderLock(client, `${keyPrefix}:outbox:relay`, owner, ttlMs);
    },
    ttlMs,
    // Redis expires the key by its own clock.
    advance: sleep,
    cleanup: async () => {
      await Promise.all([...clients.values()].map((c) => c.quit()));
      await deleteKeys(admin, keyPrefix);
    },
  };
});
