import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';

/** While Redis is unreachable ioredis reports every reconnect attempt; one line per this interval is enough. */
const ERROR_LOG_INTERVAL_MS = 10_000;

export interface CreateRedisOptions extends RedisOptions {
  /** Where connection errors are reported (throttled); they are retried by ioredis either way. */
  logger?: Logger;
}

/**
 * One way to open Redis for every adapter. `rediss://` URLs get TLS from ioredis itself. Commands wait
 * in ioredis' offline queue while reconnecting, so a Redis restart delays work instead of failing it.
 */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  const { logger, ...redisOptions } = options;
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...redisOptions,
  });
  // The `error` event must have a listener or Node would crash; ioredis reconnects on its own.
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    const now = Date.now();
    if (!logger || now - lastLogged < ERROR_LOG_INTERVAL_MS) return;
    lastLogged = now;
    logger.warn({ err }, 'redis connection error; reconnecting');
  });
  return client;
}
