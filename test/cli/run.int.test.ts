import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import type { TopicMessage } from '../../src/events.js';
import { conversationIdFor } from '../../src/events.js';
import { publishTopics } from '../../src/intake/enqueue.js';
import { createLogger } from '../../src/logger.js';
import { createKafkaClient } from '../../src/services/kafka/client.js';
import { KafkaEventBus } from '../../src/services/kafka/event-bus.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { enqueueTopic } from '../../src/services/redis/topic-queue.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { collectEvents, configFor, deleteKeys, infraEnv, uniqueNames, until } from '../support/infra.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const logger = createLogger({ level: 'silent' });
const cleanups = cleanupsAfterEach();

function daemon(args: string[], env: Record<string, string>): DaemonProcess {
  const run = startDaemon(args, env);
  cleanups.add(async () => run.child.kill('SIGKILL'));
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
    cleanups.add(() => deleteKeys(names.prefix));
    const env = {
      ...infraEnv(names.env),
      LOG_LEVEL: 'info',
      // Up to ten turns of 500 ms each (repetition ends some sooner): many conversations outlast the
      // one-second drain, so some are cut off mid-way.
      SIMULATED_LATENCY_MS: '500',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: '6',
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
    cleanups.add(() => redis.quit());
    for (const topic of topics.slice(0, 6)) await enqueueTopic(redis, config.redis!.topicQueue, topic);
    const bus = new KafkaEventBus({
      kafka: createKafkaClient(config.kafka!, { logger }),
      topics: config.kafka!.topics,
      logger,
    });
    cleanups.add(() => bus.close());
    await publishTopics(bus, topics.slice(6));

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    const endedIds = () => new Set(reader.ended().map((e) => e.conversationId));
    await until(() => endedIds().size >= 1, 60_000, 'a first conversation.ended on the events topic');

    first.child.kill('SIGTERM');
    expect(await first.exitWithin(SHUTDOWN_BOUND_MS)).toEqual({ code: 0, signal: null });

    // Nothing lost: each conversation that started either ended on the events topic, or is active in
    // the store with its lease given up, ready for the next daemon to adopt.
    const store = new RedisSnapshotStore({ redis, keyPrefix: names.prefix, finishedTtlMs: 60_000 });
    const orphaned = new Set(await store.listOrphaned(Date.now() + 1, 1000));
    const resumable: string[] = [];
    /** Texts of the turns each cut-off conversation had saved when the daemon stopped. */
    const savedTurns = new Map<string, string[]>();
    for (const topic of topics) {
      const id = conversationIdFor(topic.id!);
      const stored = await store.load(id);
      if (stored === null) continue; // never started: still in its intake (proved below)
      if (stored.status === 'active') {
        expect(orphaned.has(id), `${id} is active with a live lease`).toBe(true);
        resumable.push(id);
        const { context } = stored.snapshot as { context: { turns: Array<{ text: string }> } };
        savedTurns.set(
          id,
          context.turns.map((t) => t.text),
        );
      } else {
        await until(() => endedIds().has(id), 20_000, `conversation.ended of ${id}`);
      }
    }
    expect(resumable.length).toBeGreaterThan(0);

    // A second daemon adopts the cut-off conversations and takes the topics nobody started.
    const second = daemon(args, env);
    await until(() => endedIds().size === topics.length, 90_000, 'every topic ended on the events topic');
    expect(endedIds()).toEqual(new Set(topics.map((t) => conversationIdFor(t.id!))));
    // A resumed conversation carries on from its last saved turn: the turns it had are kept as they
    // were, none is missing and none is there twice.
    for (const event of reader.ended()) {
      const saved = savedTurns.get(event.conversationId);
      if (!saved) continue;
      const { turns } = event.record;
      expect(turns.map((t) => t.index)).toEqual(turns.map((_, i) => i));
      expect(turns.slice(0, saved.length).map((t) => t.text)).toEqual(saved);
    }

    second.child.kill('SIGTERM');
    expect((await second.exitWithin(SHUTDOWN_BOUND_MS)).code).toBe(0);
  });

  it('a second signal during the drain exits 1 at once, and the cut-off conversations become adoptable once their leases lapse', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = {
      ...infraEnv(names.env),
      LOG_LEVEL: 'info',
      // Turns slow enough that nothing finishes during the test's drain.
      SIMULATED_LATENCY_MS: '3000',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
      LEASE_TTL_SECONDS: '2',
    };
    const run = daemon(['--provider', 'simulated', '--http-port', '0', '--drain-timeout', '60'], env);
    const port = await run.httpPort();
    await run.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');

    const config = configFor(env);
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const topics: TopicMessage[] = [0, 1, 2].map((i) => ({
      id: `${names.id}-slow-${i}`,
      title: `Slow topic ${i}`,
    }));
    for (const topic of topics) await enqueueTopic(redis, config.redis!.topicQueue, topic);
    const store = new RedisSnapshotStore({ redis, keyPrefix: names.prefix, finishedTtlMs: 60_000 });
    const ids = topics.map((t) => conversationIdFor(t.id!));
    await until(
      async () => (await store.counts()).active === ids.length,
      30_000,
      'three conversations in flight',
    );

    run.child.kill('SIGTERM');
    await run.waitForLog((l) => l.msg.startsWith('shutting down'), 'the drain');
    const draining = await readyz(port);
    expect(draining.status).toBe(503);
    expect(draining.body).toMatchObject({ phase: 'draining', reasons: ['draining'] });

    run.child.kill('SIGTERM');
    // Well inside the 60-second drain: the second signal did not wait for it.
    expect(await run.exitWithin(15_000)).toEqual({ code: 1, signal: null });

    // Leases were not released, so they lapse on their own; then every conversation is adoptable.
    await until(
      async () => {
        const orphaned = new Set(await store.listOrphaned(Date.now(), 1000));
        return ids.every((id) => orphaned.has(id));
      },
      20_000,
      'the leases of the cut-off conversations to lapse',
    );
    for (const id of ids) expect((await store.load(id))?.status).toBe('active');
  });
});
