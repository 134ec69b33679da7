/**
 * A daemon that takes one topic from the Redis queue and then hangs until it is killed: the test kills it
 * with SIGKILL, so nothing of its own shutdown runs. Prints the topic id it holds.
 */

import { createLogger } from '../../../src/logger.js';
import { InMemoryEventBus } from '../../../src/services/memory/event-bus.js';
import { InMemoryTopicClaims } from '../../../src/services/memory/topic-claims.js';
import { createRedis } from '../../../src/services/redis/client.js';
import { RedisTopicQueue } from '../../../src/services/redis/topic-queue.js';

const { REDIS_URL, QUEUE, KEY_PREFIX, INSTANCE_ID, HEARTBEAT_TTL_MS } = process.env;
const queue = new RedisTopicQueue({
  redis: createRedis(REDIS_URL!),
  queue: QUEUE!,
  keyPrefix: KEY_PREFIX!,
  instanceId: INSTANCE_ID!,
  heartbeatTtlMs: Number(HEARTBEAT_TTL_MS),
  bus: new InMemoryEventBus(),
  claims: new InMemoryTopicClaims(),
  maxTitleLength: 500,
  logger: createLogger({ level: 'silent' }),
});
const delivery = await queue.next(30_000);
process.stdout.write(`${JSON.stringify({ holding: delivery?.topic.id ?? null })}\n`);
setInterval(() => {}, 60_000);
