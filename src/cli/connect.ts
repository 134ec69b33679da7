/**
 * Connections for one-shot commands. The daemon's clients wait through outages (a Redis restart delays
 * work instead of failing it); a command run by hand or by a script should instead say within seconds
 * that it cannot reach Redis or Kafka, and exit 1.
 */
import type { Redis } from 'ioredis';
import { Kafka } from 'kafkajs';
import type { KafkaConfig } from '../config.js';
import { ChimeraError } from '../errors.js';
import type { Logger } from '../logger.js';
import { scrubString } from '../redact.js';
import { describeRedisUrl } from '../redis-url.js';
import { kafkaClientConfig } from '../services/kafka/client.js';
import { createRedis } from '../services/redis/client.js';

/** Reconnect attempts before a command gives up on Redis. */
const REDIS_ATTEMPTS = 3;
/** Connection timeout of one attempt. */
const REDIS_CONNECT_TIMEOUT_MS = 3_000;
/** kafkajs retries of a request before a command gives up on the broker. */
const KAFKA_RETRIES = 3;

/**
 * Opens Redis and waits until it answers.
 * @throws {ChimeraError} `closed` naming the host when it cannot be reached after a few attempts.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = createRedis(url, {
    lazyConnect: true,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: REDIS_ATTEMPTS,
    retryStrategy: (attempt) => (attempt > REDIS_ATTEMPTS ? null : attempt * 200),
    // Through Sentinel: give up when no sentinel answers, as for a single node that does not.
    sentinelRetryStrategy: (attempt) => (attempt > REDIS_ATTEMPTS ? null : attempt * 200),
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ChimeraError(
      'closed',
      `cannot reach Redis at ${describeRedisUrl(url)}: ${scrubString(reason)}`,
      {
        retryable: true,
      },
    );
  }
  return redis;
}

/** Closes a client opened by {@link connectRedis}, whatever state it is in. */
export async function closeRedis(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/**
 * A kafkajs client that gives up after a few retries instead of kafkajs' default half minute. kafkajs
 * logs every failed connection attempt as an error; a command reports the failure itself in one line, so
 * those lines are kept out unless `LOG_LEVEL` asks for them.
 */
export function kafkaClient(
  config: KafkaConfig,
  logger: Logger,
  env: Record<string, string | undefined> = process.env,
): Kafka {
  const kafkaLogger = env.LOG_LEVEL?.trim() ? logger : logger.child({}, { level: 'fatal' });
  return new Kafka({
    ...kafkaClientConfig(config, { logger: kafkaLogger }),
    retry: { retries: KAFKA_RETRIES },
  });
}
