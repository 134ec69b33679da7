import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { conversationIdFor } from '../../src/actors/next-work.js';
import type { TopicMessage } from '../../src/events.js';
import { publishTopics } from '../../src/intake/enqueue.js';
import { createLogger } from '../../src/logger.js';
import { createKafkaClient } from '../../src/services/kafka/client.js';
import { KafkaEventBus } from '../../src/services/kafka/event-bus.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { enqueueTopic } from '../../src/services/redis/topic-queue.js';
import { collectEvents, configFor, deleteKeys, infraEnv, uniqueNames, until } from '../support/infra.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const logger = createLogger({ level: 'silent' });
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function daemon(args: string[], env: Record<string, string>): DaemonProcess {
  const run = startDaemon(args, env);
  cleanups.push(async () => run.child.kill('SIGKILL'));
  return run;
}

/** Drain bound given on the command line; the daemon adds its fixed grace for leases and the outbox. */
const DRAIN_TIMEOUT_SECONDS = 1;
const SHUTDOWN_BOUND_MS = DRAIN_TIMEOUT_SECONDS * 1000 + 15_000;

async function readyz(port: number): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('chimera run on real Redis and Kafka', () => {
  it('takes topics from the Kafka input topic and the Redis queue, drains on SIGTERM, exits 0 and loses nothing', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const env = {
      ...infraEnv(names.env),
      LOG_LEVEL: 'info',
      // Ten turns of 300 ms each: conversations outlast the one-second drain, so some are cut off.
      SIMULATED_LATENCY_MS: '300',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: '4',
    };
    const args = [
      '--provider',
      'simulated',
      '--http-port',
      '0',
      '--drain-timeout',
      String(DRAIN_TIMEOUT_SECONDS),
    ];

    const first = daemon(args, env);
    const started = await first.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');
    expect(started).toMatchObject({ mode: 'redis+kafka', httpPort: expect.any(Number) });
    const port = started.httpPort as number;
    // The probes open their own connections on the first request: poll until they report.
    await until(async () => (await readyz(port)).status === 200, 20_000, '/readyz 200');
    expect((await readyz(port)).body).toMatchObject({
      checks: { redis: 'ok', kafka: 'ok', providers: 'ok' },
    });

    const topics: TopicMessage[] = Array.from({ length: 12 }, (_, i) => ({
      id: `${names.id}-topic-${i}`,
      title: `Topic ${i}: how tides shape coastal towns`,
    }));
    const config = configFor(env);
    const redis = new Redis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    for (const topic of topics.slice(0, 6)) await enqueueTopic(redis, config.redis!.topicQueue, topic);
    const bus = new KafkaEventBus({
      kafka: createKafkaClient(config.kafka!, { logger }),
      topics: config.kafka!.topics,
      logger,
    });
    cleanups.push(() => bus.close());
    await publishTopics(bus, topics.slice(6));

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.push(() => reader.stop());
    const endedIds = () => new Set(reader.ended().map((e) => e.conversationId));
    await until(() => endedIds().size >= 1, 60_000, 'a first conversation.ended on the events topic');

    first.child.kill('SIGTERM');
    expect(await first.exitWithin(SHUTDOWN_BOUND_MS)).toEqual({ code: 0, signal: null });

    // Nothing lost: each conversation that started either ended on the events topic, or is active in
    // the store with its lease given up, ready for the next daemon to adopt.
    const store = new RedisSnapshotStore({ redis, keyPrefix: names.prefix, finishedTtlMs: 60_000 });
    const orphaned = new Set(await store.listOrphaned(Date.now() + 1, 1000));
    const resumable: string[] = [];
    for (const topic of topics) {
      const id = conversationIdFor(topic.id!);
      const stored = await store.load(id);
      if (stored === null) continue; // never started: still in its intake (proved below)
      if (stored.status === 'active') {
        expect(orphaned.has(id), `${id} is active with a live lease`).toBe(true);
        resumable.push(id);
      } else {
        await until(() => endedIds().has(id), 20_000, `conversation.ended of ${id}`);
      }
    }
    expect(resumable.length).toBeGreaterThan(0);

    // A second daemon adopts the cut-off conversations and takes the topics nobody started.
    const second = daemon(args, env);
    await until(() => endedIds().size === topics.length, 90_000, 'every topic ended on the events topic');
    expect(endedIds()).toEqual(new Set(topics.map((t) => conversationIdFor(t.id!))));
    // A resumed conversation carries on from its last persisted turn: no turn missing, none twice.
    for (const event of reader.ended()) {
      if (!resumable.includes(event.conversationId)) continue;
      expect(event.record.turns.map((t) => t.index)).toEqual(event.record.turns.map((_, i) => i));
    }
    process.stderr.write(`resumable ${resumable.length}\n`);

    second.child.kill('SIGTERM');
    expect((await second.exitWithin(SHUTDOWN_BOUND_MS)).code).toBe(0);
  });
});
