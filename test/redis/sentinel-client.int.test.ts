/**
 * Clients made from a Sentinel configuration reach the master the sentinels name and follow it through a
 * failover: the shared client, its `duplicate()` (the topic queue's blocking connection) and the CLI's
 * one-shot connection. Against a primary, a replica and three sentinels started by the test.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/cli/connect.js';
import { loadConfig } from '../../src/config.js';
import { createRedis } from '../../src/services/redis/client.js';
import { type SentinelSet, startSentinelSet } from '../support/sentinel-set.js';

let set: SentinelSet;
const opened: Redis[] = [];

beforeAll(async () => {
  set = await startSentinelSet({ name: 'chimera-client-test', downAfterMs: 1000, failoverTimeoutMs: 3000 });
});

afterAll(async () => {
  for (const client of opened) client.disconnect();
  await set?.stop();
});

function portOf(client: Redis): Promise<number> {
  return client.config('GET', 'port').then((reply) => Number((reply as string[])[1]));
}

describe('Redis through Sentinel', () => {
  it('the configured client writes to the master, and it and its duplicate follow a failover', async () => {
    const config = loadConfig({ ...set.env, REDIS_KEY_PREFIX: 'sentinel-client' });
    const redis = createRedis(config.redis!.url);
    const blocking = redis.duplicate();
    opened.push(redis, blocking);

    expect(await portOf(redis)).toBe(set.primary.port);
    await redis.set('sentinel-client:before', 'a');
    // Reached a master: the write replicates to the replica.
    const replica = new Redis(set.replicas[0]!.url);
    opened.push(replica);
    await redis.wait(1, 2000);
    expect(await replica.get('sentinel-client:before')).toBe('a');

    // A manual failover demotes the old primary (it keeps running, read-only) and promotes the replica.
    const sentinel = new Redis({ port: set.sentinelPorts[0]!, password: set.sentinelPassword });
    opened.push(sentinel);
    await sentinel.call('SENTINEL', 'FAILOVER', set.name);
    const { address } = await set.waitForPromotion(set.primary.port, 20_000);
    expect(address).toBe(`127.0.0.1:${set.replicas[0]!.port}`);

    // The shared client's next writes land on the new master (a READONLY reply makes it reconnect).
    const deadline = Date.now() + 15_000;
    for (;;) {
      try {
        await redis.set('sentinel-client:after', 'b');
        if ((await portOf(redis)) === set.replicas[0]!.port) break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
      if (Date.now() > deadline) throw new Error('the client did not follow the failover');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await replica.get('sentinel-client:after')).toBe('b');

    // The duplicate, made before the failover, follows too: a blocking pop is served by the new master.
    const popped = blocking.blpop('sentinel-client:list', 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await replica.rpush('sentinel-client:list', 'x');
    expect(await popped).toEqual(['sentinel-client:list', 'x']);
    expect(await portOf(blocking)).toBe(set.replicas[0]!.port);
  });

  it("the CLI's connection finds the current master, and names the sentinels when none answers", async () => {
    const config = loadConfig(set.env);
    const redis = await connectRedis(config.redis!.url);
    try {
      expect(`127.0.0.1:${await portOf(redis)}`).toBe(await set.masterAddress());
    } finally {
      await closeRedis(redis);
    }

    const nowhere = loadConfig({ REDIS_SENTINELS: '127.0.0.1:1,127.0.0.1:2', REDIS_SENTINEL_NAME: 'gone' });
    const started = Date.now();
    await expect(connectRedis(nowhere.redis!.url)).rejects.toThrow(
      /^cannot reach Redis at master gone via sentinels 127\.0\.0\.1:1,127\.0\.0\.1:2/,
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
