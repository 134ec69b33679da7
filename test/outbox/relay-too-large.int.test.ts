/**
 * Events larger than Kafka takes, on the real broker: the events topic is created with a small
 * `max.message.bytes`, and events are written to the real Redis outbox. An event Kafka refuses must be
 * parked (Redis stream) and counted, never block the events behind it; batches must be sized under the
 * limit so events that fit are not refused for travelling together.
 */
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import { OutboxRelay } from '../../src/outbox/relay.js';
import { startedEvent, stepEvents } from '../../src/records.js';
import { KafkaEventBus } from '../../src/services/kafka/event-bus.js';
import { MemoryLeaderLock } from '../../src/services/memory/leader-lock.js';
import type { OutboxEvent } from '../../src/services/ports.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisParkedMessages } from '../../src/services/redis/parked-messages.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { deleteTopics, FAST_CONSUMER, testKafka, uniqueKafkaConfig } from '../events/kafka-support.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { activeContext, persistedConversation, turnFor } from '../support/conversation-fixtures.js';

const cleanups = cleanupsAfterEach();

/** The topic refuses any record batch above this, compressed. */
const TOPIC_MAX_BYTES = 16_384;

interface LogLine {
  level: number;
  msg: string;
}

async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Text that gzip cannot shrink much: `bytes` of random base64. */
const incompressible = (bytes: number) => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64');

async function setUp() {
  const config = uniqueKafkaConfig();
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  cleanups.add(async () => {
    await deleteTopics(admin, config);
    await admin.disconnect();
  });
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: config.topics.events,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_MAX_BYTES) }],
      },
    ],
  });
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const bus = new KafkaEventBus({ kafka, topics: config.topics, logger, consumer: FAST_CONSUMER });
  cleanups.add(() => bus.close());
  const redis = createRedis(inject('redisUrl'));
  const prefix = uniquePrefix('relay-large');
  cleanups.add(async () => {
    await deleteKeys(redis, prefix);
    await redis.quit();
  });
  const store = new RedisSnapshotStore({ redis, keyPrefix: prefix, finishedTtlMs: 60_000 });
  const parked = new RedisParkedMessages(redis, `${prefix}:parked`, 1_000);

  /** Writes one conversation's events to the outbox, as its owner's save does. */
  async function write(conversationId: string, events: OutboxEvent[]) {
    const lease = await store.acquireLease(conversationId, 'writer', 60_000);
    await store.save(
      lease!,
      {
        schemaVersion: 1,
        machineVersion: CONVERSATION_MACHINE_VERSION,
        status: 'active',
        snapshot: persistedConversation(activeContext({ conversationId })),
        updatedAt: Date.now(),
      },
      events,
    );
  }

  /** Event ids read from the events topic. */
  const received: string[] = [];
  const reader = new kafkajs.Kafka({
    clientId: 'relay-large-reader',
    brokers: [inject('kafkaBrokers')],
    logLevel: kafkajs.logLevel.NOTHING,
  }).consumer({ groupId: `g-${prefix}`, ...FAST_CONSUMER });
  await reader.connect();
  cleanups.add(() => reader.disconnect());
  await reader.subscribe({ topics: [config.topics.events], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      received.push(String(message.headers?.['chimera-event-id'] ?? ''));
    },
  });

  return { store, bus, parked, logger, lines, write, received };
}

function turnEvents(conversationId: string, texts: string[]): OutboxEvent[] {
  const context = activeContext({
    conversationId,
    turns: texts.map((text, index) => turnFor(index, { text })),
  });
  return stepEvents(context, 0, false, 1, Date.now());
}

describe('the outbox relay and events larger than Kafka takes', () => {
  it('parks an event Kafka refuses as too large, counts and logs it, and delivers the events around it', async () => {
    const { store, bus, parked, logger, lines, write, received } = await setUp();
    const before = startedEvent(activeContext({ conversationId: 'conv-before' }), 1, Date.now());
    const huge = turnEvents('conv-huge', [incompressible(60_000)]);
    const after = startedEvent(activeContext({ conversationId: 'conv-after' }), 1, Date.now());
    await write('conv-before', [before]);
    await write('conv-huge', huge);
    await write('conv-after', [after]);

    let counted = 0;
    const relay = new OutboxRelay({
      store,
      bus,
      logger,
      lock: new MemoryLeaderLock({ key: 'relay', owner: 'me', ttlMs: 10_000 }),
      parked,
      onTooLarge: () => {
        counted += 1;
      },
    });
    relay.start();
    cleanups.add(() => relay.stop(1_000));

    await until(async () => (await store.outboxSize()) === 0, 'an empty outbox');
    await until(() => received.length >= 2, 'the two events that fit on the topic');
    expect(received).toEqual([before.headers['chimera-event-id'], after.headers['chimera-event-id']]);
    expect(relay.delivered).toBe(2);
    expect(counted).toBe(1);
    const [entry, ...rest] = await parked.read(10);
    expect(rest).toEqual([]);
    expect(entry!.key).toBe('conv-huge');
    expect(entry!.reason).toMatch(/^event_too_large: /);
    expect(JSON.parse(entry!.value.toString()).eventId).toBe(huge[0]!.headers['chimera-event-id']);
    expect(lines.some((l) => l.level >= 50 && /too large; parked/.test(l.msg))).toBe(true);
  });

  it('sizes batches under its byte limit, so events that fit one by one are never refused together', async () => {
    const { store, bus, parked, logger, lines, write, received } = await setUp();
    // Five turns of about 5 KB each: one batch of all five is over the topic's 16 KiB, two are not.
    const events = turnEvents(
      'conv-medium',
      Array.from({ length: 5 }, () => incompressible(5_000)),
    );
    await write('conv-medium', events);
    const relay = new OutboxRelay({
      store,
      bus,
      logger,
      lock: new MemoryLeaderLock({ key: 'relay', owner: 'me', ttlMs: 10_000 }),
      parked,
      maxBatchBytes: 11_000,
    });
    relay.start();
    cleanups.add(() => relay.stop(1_000));

    await until(async () => (await store.outboxSize()) === 0, 'an empty outbox');
    await until(() => received.length >= 5, 'all five events');
    expect(received).toEqual(events.map((e) => e.headers['chimera-event-id']));
    expect(await parked.size()).toBe(0);
    expect(lines.filter((l) => /too large/.test(l.msg))).toEqual([]);
  });
});
