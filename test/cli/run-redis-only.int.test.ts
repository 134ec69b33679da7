import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import type { StatusReport } from '../../src/cli/commands/status.js';
import { type ConversationEvent, conversationIdFor, EVENT_HEADERS } from '../../src/events.js';
import { RedisEventBus } from '../../src/services/redis/event-bus.js';
import { enqueueTopic } from '../../src/services/redis/topic-queue.js';
import { startedEvent } from '../contracts/event-bus.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { runCli } from '../support/cli.js';
import { deleteKeys, uniqueNames, until } from '../support/infra.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const cleanups = cleanupsAfterEach();

function daemon(env: Record<string, string>): DaemonProcess {
  const run = startDaemon(['--provider', 'simulated', '--http-port', '0', '--drain-timeout', '5'], env);
  cleanups.add(async () => run.child.kill('SIGKILL'));
  return run;
}

const STREAM_MAX_LENGTH = 100;

/** Every entry of a stream, oldest first, with its fields by name. */
async function entries(redis: Redis, key: string): Promise<Array<Map<string, string>>> {
  const all = await redis.xrange(key, '-', '+');
  return all.map(([, fields]) => {
    const map = new Map<string, string>();
    for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
    return map;
  });
}

async function events(redis: Redis, key: string): Promise<ConversationEvent[]> {
  return (await entries(redis, key)).map((e) => JSON.parse(e.get('value')!) as ConversationEvent);
}

describe('chimera run with Redis and without Kafka', () => {
  it('keeps events and dead letters in bounded Redis streams that outlive the daemon', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = {
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: names.env.REDIS_KEY_PREFIX,
      REDIS_TOPIC_QUEUE: names.env.REDIS_TOPIC_QUEUE,
      REDIS_STREAM_MAX_LENGTH: String(STREAM_MAX_LENGTH),
      LOG_LEVEL: 'info',
      SIMULATED_LATENCY_MS: '0',
      MAX_CONVERSATION_TURNS: '2',
      MIN_CONVERSATION_TURNS: '2',
    };
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const eventsKey = `${names.prefix}:stream:events`;
    const deadLetterKey = `${names.prefix}:stream:deadLetter`;

    // Older events, far more than the configured length: the daemon's first publish trims them.
    const filler = new RedisEventBus({ redis, keyPrefix: names.prefix, maxLength: 1_000_000 });
    for (let batch = 0; batch < 5; batch += 1) {
      await filler.publish(
        'events',
        Array.from({ length: 100 }, (_, i) => ({ key: 'old', value: startedEvent('old', batch * 100 + i) })),
      );
    }
    expect(await redis.xlen(eventsKey)).toBe(500);

    const first = daemon(env);
    const started = await first.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');
    expect(started.msg).toContain('(redis)');

    const topics = [0, 1].map((i) => ({
      id: `${names.id}-topic-${i}`,
      title: `Topic ${i}: salt in the sea`,
    }));
    for (const topic of topics) await enqueueTopic(redis, names.env.REDIS_TOPIC_QUEUE, topic);
    // Not a topic message: no title.
    const invalid = JSON.stringify({ id: `${names.id}-broken` });
    await redis.lpush(names.env.REDIS_TOPIC_QUEUE, invalid);

    const endedIds = async () =>
      new Set(
        (await events(redis, eventsKey))
          .filter((e) => e.type === 'conversation.ended')
          .map((e) => e.conversationId),
      );
    const wanted = topics.map((t) => conversationIdFor(t.id));
    await until(
      async () => {
        const ids = await endedIds();
        return wanted.every((id) => ids.has(id));
      },
      60_000,
      'both conversations ended in the events stream',
    );
    await until(async () => (await redis.xlen(deadLetterKey)) === 1, 20_000, 'the dead letter');
    const [dead] = await entries(redis, deadLetterKey);
    expect(dead!.get('value')).toBe(invalid);
    const headers = JSON.parse(dead!.get('headers')!) as Record<string, string>;
    expect(headers[EVENT_HEADERS.deadLetterReason]).toMatch(/^invalid_payload: .*title/);
    expect(headers[EVENT_HEADERS.deadLetterTopic]).toBe(names.env.REDIS_TOPIC_QUEUE);

    // Bounded: `MAXLEN ~` trims whole stream nodes (100 entries each), never below the length asked for.
    const length = await redis.xlen(eventsKey);
    expect(length).toBeGreaterThanOrEqual(STREAM_MAX_LENGTH);
    expect(length).toBeLessThanOrEqual(2 * STREAM_MAX_LENGTH);

    const status = await runCli(['status', '--json'], { env });
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout) as StatusReport;
    expect(report.streams).toEqual({ events: length, deadLetter: 1 });

    first.child.kill('SIGTERM');
    expect((await first.exitWithin(30_000)).code).toBe(0);

    // A restarted daemon finds the events and the dead letter where the first one left them, and adds its own.
    const second = daemon(env);
    await second.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'second start-up');
    expect(await endedIds()).toEqual(new Set(wanted));
    expect(await redis.xlen(deadLetterKey)).toBe(1);
    const later = { id: `${names.id}-topic-later`, title: 'Topic later: tides' };
    await enqueueTopic(redis, names.env.REDIS_TOPIC_QUEUE, later);
    await until(
      async () => (await endedIds()).has(conversationIdFor(later.id)),
      60_000,
      'the later conversation ended in the events stream',
    );
    expect(await endedIds()).toEqual(new Set([...wanted, conversationIdFor(later.id)]));
    second.child.kill('SIGTERM');
    expect((await second.exitWithin(30_000)).code).toBe(0);
  });
});
