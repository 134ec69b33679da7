/**
 * `REDIS_WAIT_REPLICAS`: a new conversation's topic is acknowledged to its source, and an event published,
 * only once a replica holds what they follow from. Against a primary and a replica of the test's own, the replica reading through a
 * proxy that holds everything 300 ms, so what it holds at any moment is visibly behind the primary.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createRedis } from '../../src/services/redis/client.js';
import { eventStreamKey, snapshotKeys } from '../../src/services/redis/keys.js';
import { ReplicaBarrier } from '../../src/services/redis/replica-barrier.js';
import { type SentinelSet, startSentinelSet } from '../support/sentinel-set.js';

const LAG_MS = 300;
const logger = createLogger({ level: 'silent' });
let set: SentinelSet;
let primary: Redis;
let replica: Redis;

beforeAll(async () => {
  set = await startSentinelSet({
    name: 'chimera-replica-wait',
    sentinels: 1,
    replicationDelayMs: LAG_MS,
    failoverTimeoutMs: 120_000,
  });
  primary = createRedis(set.primary.url);
  replica = createRedis(set.replicas[0]!.url);
});

afterAll(async () => {
  primary?.disconnect();
  replica?.disconnect();
  await set?.stop();
});

/** A barrier on the primary asking for `replicas`, and how many of its waits fell short so far. */
function openBarrier(replicas: number, timeoutMs: number) {
  let shortfalls = 0;
  const barrier = new ReplicaBarrier({
    redis: primary,
    markKey: 'replica-wait:mark',
    replicas,
    timeoutMs,
    logger,
    onShortfall: () => shortfalls++,
  });
  return { barrier, shortfalls: () => shortfalls };
}

describe('waiting for the Redis replicas', () => {
  it('the barrier returns once the replica holds what was written before it; callers meanwhile share rounds', async () => {
    const { barrier, shortfalls } = openBarrier(1, 5_000);
    try {
      await primary.set('replica-wait:a', '1');
      // The replica is behind: without waiting it does not have the write yet.
      expect(await replica.get('replica-wait:a')).toBeNull();
      expect(await barrier.wait()).toBe(true);
      expect(await replica.get('replica-wait:a')).toBe('1');

      await primary.set('replica-wait:b', '1');
      const before = Number(await primary.get('replica-wait:mark'));
      const held = await Promise.all(Array.from({ length: 10 }, () => barrier.wait()));
      expect(held).toEqual(held.map(() => true));
      expect(await replica.get('replica-wait:b')).toBe('1');
      // Ten callers, at most two rounds: the one under way and the one they share after it.
      expect(Number(await primary.get('replica-wait:mark')) - before).toBeLessThanOrEqual(2);
      expect(shortfalls()).toBe(0);
    } finally {
      await barrier.close();
    }
  });

  it('asking for more replicas than there are ends after the timeout, false, and is counted', async () => {
    const { barrier, shortfalls } = openBarrier(2, 200);
    try {
      const started = Date.now();
      expect(await barrier.wait()).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
      expect(shortfalls()).toBe(1);
      // Right after a shortfall the next caller is told at once instead of blocking for the timeout again.
      const again = Date.now();
      const before = await primary.get('replica-wait:mark');
      expect(await barrier.wait()).toBe(false);
      expect(Date.now() - again).toBeLessThan(100);
      expect(await primary.get('replica-wait:mark')).toBe(before);
      expect(shortfalls()).toBe(1);
    } finally {
      await barrier.close();
    }
  });

  it('with REDIS_WAIT_REPLICAS=1 a daemon acknowledges a topic, and publishes an event, only once the replica holds them', async () => {
    const prefix = `replica-wait-${Date.now()}`;
    const config = loadConfig({
      REDIS_URL: set.primary.url,
      REDIS_KEY_PREFIX: prefix,
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT_MS: '5000',
      MAX_CONVERSATION_TURNS: '6',
      MIN_CONVERSATION_TURNS: '6',
      SIMULATED_LATENCY_MS: '100',
    });
    const chimera = await Chimera.create(config, { logger, intake: 'none', pollMs: 10 });
    const running = chimera.start();
    try {
      const keys = snapshotKeys(prefix);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++)
        ids.push(
          await chimera.startNewConversation({ id: `wait-${i}`, title: `Replica topic ${i}: tidal power` }),
        );
      // Watched together, as it happens: the moment the primary says a topic is acknowledged (its claim
      // completed), the replica must already hold that conversation's saved step; and the relay publishes
      // nothing the replica does not hold: when a conversation's start (and later its end) is in the events
      // stream (Redis streams here: no Kafka), the replica already has it saved (ended).
      const acked = new Map<string, boolean>();
      const onReplica = new Map<string, boolean>();
      const deadline = Date.now() + 30_000;
      while ((acked.size < ids.length || onReplica.size < 2 * ids.length) && Date.now() < deadline) {
        for (const [i, id] of ids.entries()) {
          if (acked.has(id)) continue;
          if ((await primary.get(`${prefix}:topic:wait-${i}`)) !== 'done') continue;
          acked.set(id, (await replica.hexists(keys.conversation(id), 'data')) === 1);
        }
        const entries = await primary.xrange(eventStreamKey(prefix, 'events'), '-', '+');
        for (const [, fields] of entries) {
          const event = JSON.parse(fields[fields.indexOf('value') + 1]!) as {
            type: string;
            conversationId: string;
          };
          const seenAs = `${event.type} ${event.conversationId}`;
          if (onReplica.has(seenAs)) continue;
          if (event.type !== 'conversation.started' && event.type !== 'conversation.ended') continue;
          const status = await replica.hget(keys.conversation(event.conversationId), 'status');
          onReplica.set(seenAs, event.type === 'conversation.started' ? status !== null : status === 'ended');
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect([...acked.keys()].sort()).toEqual([...ids].sort());
      expect([...acked.values()]).toEqual(ids.map(() => true));
      const expected = ids.flatMap((id) => [`conversation.started ${id}`, `conversation.ended ${id}`]);
      expect([...onReplica.keys()].sort()).toEqual(expected.sort());
      expect([...onReplica.values()]).toEqual(expected.map(() => true));
      const metrics = await chimera.parts.registry
        .getSingleMetric('chimera_redis_replica_wait_shortfalls_total')!
        .get();
      expect(metrics.values[0]?.value ?? 0).toBe(0);
    } finally {
      await running.stop();
    }
  });
});
