import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../../logger.js';
import { parseSentinelUrl } from '../../redis-url.js';
import { followSwitches } from './follow-switches.js';

/** While Redis is unreachable ioredis reports every reconnect attempt; one line per this interval is enough. */
const ERROR_LOG_INTERVAL_MS = 10_000;

export interface CreateRedisOptions extends RedisOptions {
  /** Where connection errors are reported (throttled); they are retried by ioredis either way. */
  logger?: Logger;
}

/**
 * A demoted primary answers writes with READONLY. After a failover the old primary may come back as a
 * replica while a client still holds a connection to it: reconnect (asking the sentinels again) and resend.
 */
function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * One way to open Redis for every adapter. `rediss://` URLs get TLS from ioredis itself. Commands wait
 * in ioredis' offline queue while reconnecting, so a Redis restart delays work instead of failing it.
 *
 * A `redis-sentinel://` URL (`src/redis-url.ts`) opens the master the sentinels name. On a lost connection
 * ioredis asks the sentinels again, so after a failover the client follows the promoted replica;
 * {@link followSwitches} also drops a connection to the old master as soon as a sentinel announces the
 * switch (ioredis' own `failoverDetector` is off: see there why). `duplicate()` opens another client the
 * same way, so blocking and subscriber connections follow the master too and report their errors.
 */
export function createRedis(url: string, options: CreateRedisOptions = {}): Redis {
  const { logger, ...redisOptions } = options;
  const defaults: RedisOptions = {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
  };
  const sentinel = parseSentinelUrl(url);
  const client = sentinel
    ? new Redis({
        ...defaults,
        sentinels: sentinel.sentinels,
        name: sentinel.name,
        role: 'master',
        ...(sentinel.password ? { password: sentinel.password } : {}),
        ...(sentinel.sentinelPassword ? { sentinelPassword: sentinel.sentinelPassword } : {}),
        // Every sentinel unreachable: keep asking, like a lost single node.
        sentinelRetryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2000),
        reconnectOnError: reconnectOnReadOnly,
        ...redisOptions,
      })
    : new Redis(url, { ...defaults, ...redisOptions });
  if (sentinel) followSwitches(client, sentinel);
  client.duplicate = (override) => createRedis(url, { ...options, ...override });
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
