import type { Redis } from 'ioredis';
import { createRedis } from '../../services/redis/client.js';
import type { ReadinessCheck } from '../readiness.js';

/** A lost connection is noticed within this; the service's own client keeps retrying on its schedule. */
const CONNECT_TIMEOUT_MS = 2_000;

/**
 * Pings Redis over a connection of its own. The service's client queues commands while reconnecting (so
 * work waits out a Redis restart); a probe must not wait, so this one fails at once when not connected.
 */
export function redisCheck(url: string): ReadinessCheck {
  let lastError: string | undefined;
  const client: Redis = createRedis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
    connectionName: 'chimera-readiness',
  });
  client.on('error', (error: Error) => {
    lastError = error.message;
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  return {
    name: 'redis',
    async run() {
      if (client.status !== 'ready') {
        return { code: 'not_connected', detail: lastError ?? client.status };
      }
      const reply = await client.ping();
      return reply === 'PONG' ? null : { code: 'unexpected_reply', detail: `PING answered ${reply}` };
    },
    async close() {
      client.disconnect();
    },
  };
}
