import { describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisEventBus } from '../../src/services/redis/event-bus.js';
import { eventBusContract, startedEvent } from '../contracts/event-bus.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';

async function redisHarness(maxLength = 100_000) {
  const redis = createRedis(inject('redisUrl'));
  const prefix = uniquePrefix('bus');
  const bus = new RedisEventBus({ redis, keyPrefix: prefix, maxLength, handlerRetryDelayMs: 50 });
  return {
    redis,
    prefix,
    bus,
    waitMs: 10_000,
    cleanup: async () => {
      await bus.close();
      await deleteKeys(redis, prefix);
      await redis.quit();
    },
  };
}

eventBusContract('Redis streams', () => redisHarness());

describe('Redis streams event bus', () => {
  it('keeps each topic in <prefix>:stream:<topic>, trimmed to about the configured length', async () => {
    const { bus, redis, prefix, cleanup } = await redisHarness(100);
    try {
      for (let batch = 0; batch < 10; batch += 1) {
        await bus.publish(
          'events',
          Array.from({ length: 100 }, (_, i) => ({
            key: 'c-1',
            value: startedEvent('c-1', batch * 100 + i),
          })),
        );
      }
      const length = await redis.xlen(`${prefix}:stream:events`);
      // `MAXLEN ~` trims whole stream nodes (100 entries each by default): at least 100, well under 1000.
      expect(length).toBeGreaterThanOrEqual(100);
      expect(length).toBeLessThanOrEqual(200);
      // The newest are kept.
      const [last] = await redis.xrevrange(`${prefix}:stream:events`, '+', '-', 'COUNT', 1);
      const value = JSON.parse(last![1][last![1].indexOf('value') + 1]!) as { eventId: string };
      expect(value.eventId).toBe('c-1:999');
    } finally {
      await cleanup();
    }
  });

  it('dead letters keep their original bytes, key and headers in the deadLetter stream', async () => {
    const { bus, cleanup } = await redisHarness();
    try {
      const raw = Buffer.from([0x7b, 0xff, 0x00]);
      await bus.publishRaw('deadLetter', [
        { key: null, value: raw, headers: { 'chimera-dlq-reason': 'bad' } },
      ]);
      expect(await bus.length('deadLetter')).toBe(1);
      const [stored] = await bus.read('deadLetter', 10);
      expect(stored?.key).toBeNull();
      expect(stored?.value.equals(raw)).toBe(true);
      expect(stored?.headers).toEqual({ 'chimera-dlq-reason': 'bad' });
    } finally {
      await cleanup();
    }
  });
});
