/**
 * Clients made from a Sentinel configuration reach the master the sentinels name and follow it through a
 * failover: the shared client, its `duplicate()` (the topic queue's blocking connection) and the CLI's
 * one-shot connection; also when the failover is announced while they are asking a sentinel, and when the
 * old master hangs instead of dying. Against a primary, a replica and three sentinels started by the test.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, connectRedis } from '../../src/cli/connect.js';
import { loadConfig } from '../../src/config.js';
import { createRedis } from '../../src/services/redis/client.js';
import { delayProxy, type SentinelSet, startSentinelSet } from '../support/sentinel-set.js';

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

/** `promise`, or an error naming `what` once `ms` have passed. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

describe('Redis through Sentinel, when the master is lost', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start(name: string): Promise<SentinelSet> {
    const started = await startSentinelSet({ name, downAfterMs: 1000, failoverTimeoutMs: 3000 });
    cleanups.push(() => started.stop());
    return started;
  }

  it('clients asking far-away sentinels follow a failover announced while they look for the master', async () => {
    const far = await start('chimera-far-sentinels');
    // Each sentinel 100 ms away: a client between connections spends most of its time asking one.
    const proxies = await Promise.all(far.sentinelPorts.map((port) => delayProxy(port, 100)));
    cleanups.push(() => {
      for (const proxy of proxies) proxy.close();
    });
    const env = { ...far.env, REDIS_SENTINELS: proxies.map((p) => `127.0.0.1:${p.port}`).join(',') };
    const clients = Array.from({ length: 8 }, () => createRedis(loadConfig(env).redis!.url));
    cleanups.push(() => {
      for (const client of clients) client.disconnect();
    });
    await Promise.all(clients.map((client) => client.ping()));

    // The killed primary's connections close; the clients keep asking the sentinels until one names the
    // replica, and the announcement of the switch reaches them in the middle of that.
    await far.primary.kill('SIGKILL');
    await far.waitForPromotion(far.primary.port, 20_000);

    const answers = await Promise.all(
      clients.map((client, i) => within(20_000, `client ${i}`, client.incr('far-sentinels:after'))),
    );
    expect(answers.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const client of clients) expect(await portOf(client)).toBe(far.replicas[0]!.port);
    expect(clients.map((client) => client.status)).toEqual(clients.map(() => 'ready'));
  });

  it('a client whose master hangs moves to the promoted replica when the sentinels announce it', async () => {
    const hung = await start('chimera-hung-master');
    const redis = createRedis(loadConfig(hung.env).redis!.url);
    cleanups.push(() => redis.disconnect());
    expect(await portOf(redis)).toBe(hung.primary.port);

    // The primary stops answering but its connections stay open: nothing closes the client's socket.
    hung.primary.freeze();
    const sentToHungMaster = redis.incr('hung-master:during');
    const { address } = await hung.waitForPromotion(hung.primary.port, 20_000);
    expect(address).toBe(`127.0.0.1:${hung.replicas[0]!.port}`);

    // The unanswered command is sent again to the new master, and the client stays there.
    expect(await within(20_000, 'the command sent to the hung master', sentToHungMaster)).toBe(1);
    expect(await portOf(redis)).toBe(hung.replicas[0]!.port);

    // Its listeners on the sentinels close with it.
    const sentinel = new Redis({ port: hung.sentinelPorts[0]!, password: hung.sentinelPassword });
    cleanups.push(() => sentinel.disconnect());
    const subscribers = async () =>
      ((await sentinel.call('CLIENT', 'LIST')) as string).split('\n').filter((line) => / sub=1 /.test(line))
        .length;
    expect(await subscribers()).toBe(1);
    await redis.quit();
    const deadline = Date.now() + 5_000;
    while ((await subscribers()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await subscribers()).toBe(0);
  });
});
