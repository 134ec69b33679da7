import { Redis, type RedisOptions } from 'ioredis';

/**
 * One way to open Redis for every adapter. `rediss://` URLs get TLS from ioredis itself. Commands wait
 * in ioredis' offline queue while reconnecting, so a Redis restart delays work instead of failing it.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    maxRetriesPerRequest: null,
    enableAutoPipelining: true,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2000),
    ...options,
  });
  // Connection errors are retried by ioredis; the `error` event must have a listener or Node would crash.
  client.on('error', () => {});
  return client;
}
