import { randomUUID } from 'node:crypto';
import { ConfigResourceTypes } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { headersToStrings, KafkaEventBus } from '../../src/services/kafka/event-bus.js';
import { KafkaTopicSource } from '../../src/services/kafka/topic-source.js';
import { ensureTopics } from '../../src/services/kafka/topics.js';
import { InMemoryTopicClaims } from '../../src/services/memory/topic-claims.js';
import type { TopicClaims } from '../../src/services/ports.js';
import { waitFor } from '../contracts/event-bus.js';
import { type DeadLetter, topicSourceContract } from '../contracts/topic-source.js';
import {
  deleteTopics,
  FAST_CONSUMER,
  quietLogger,
  testKafka,
  uniqueKafkaConfig,
} from '../events/kafka-support.js';

const logger = quietLogger();

/** A fresh input, events and dead-letter topic, a bus on them, and a reader of the dead letters. */
async function kafkaInput() {
  const config = uniqueKafkaConfig();
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  // The broker's own 1 MB limit would refuse a huge message before Chimera sees it: lift it on the input,
  // so the tests show what the daemon does with one (a topic configured so, or a broker that allows it).
  await admin.alterConfigs({
    validateOnly: false,
    resources: [
      {
        type: ConfigResourceTypes.TOPIC,
        name: config.topics.input,
        configEntries: [{ name: 'max.message.bytes', value: String(64 * 1024 * 1024) }],
      },
    ],
  });
  const bus = new KafkaEventBus({ kafka, topics: config.topics, logger, consumer: FAST_CONSUMER });
  const letters: DeadLetter[] = [];
  const reader = kafka.consumer({ groupId: `g-${randomUUID()}`, ...FAST_CONSUMER });
  await reader.connect();
  await reader.subscribe({ topics: [config.topics.deadLetter], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) =>
      void letters.push({
        value: message.value ?? Buffer.alloc(0),
        headers: headersToStrings(message.headers),
      }),
  });
  const sources: KafkaTopicSource[] = [];
  return {
    config,
    kafka,
    bus,
    letters,
    /** Produces in one partition (one key), so the order is the order sent. */
    produce: (raw: Buffer | string) =>
      bus.publishRaw('topics', [{ key: 'k', value: Buffer.from(raw), headers: {} }]),
    start: async (claims: TopicClaims, bufferSize?: number) => {
      const source = await KafkaTopicSource.start({
        kafka,
        topic: config.topics.input,
        groupId: config.groupId,
        bus,
        claims,
        logger,
        maxTitleLength: DEFAULTS.TOPIC_MAX_LENGTH,
        bufferSize,
        consumer: FAST_CONSUMER,
      });
      sources.push(source);
      return source;
    },
    cleanup: async () => {
      for (const source of sources) await source.close();
      await reader.disconnect();
      await bus.close();
      await deleteTopics(admin, config);
      await admin.disconnect();
    },
  };
}

topicSourceContract('Kafka', async () => {
  const input = await kafkaInput();
  const source = await input.start(new InMemoryTopicClaims());
  return {
    source,
    produce: input.produce,
    deadLetters: async () => [...input.letters],
    inputName: input.config.topics.input,
    maxTitleLength: DEFAULTS.TOPIC_MAX_LENGTH,
    waitMs: 60_000,
    quietMs: 1500,
    cleanup: input.cleanup,
  };
});

const topic = (id: string) => JSON.stringify({ id, title: `Topic ${id}` });

describe('KafkaTopicSource', () => {
  it('stops reading while its buffer is full and reads on as next() drains it', async () => {
    const input = await kafkaInput();
    try {
      for (let i = 0; i < 12; i += 1) await input.produce(topic(`t${i}`));
      const source = await input.start(new InMemoryTopicClaims(), 2);

      await waitFor(() => source.buffered === 2, 60_000, 'the buffer to fill');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(source.buffered).toBe(2);

      const ids: string[] = [];
      for (let i = 0; i < 12; i += 1) {
        const delivery = await source.next(60_000);
        ids.push(delivery!.topic.id);
        await delivery!.ack();
      }
      expect(ids).toEqual(Array.from({ length: 12 }, (_, i) => `t${i}`));
    } finally {
      await input.cleanup();
    }
  });

  it('acked topics are committed: the next consumer of the group starts after them', async () => {
    const input = await kafkaInput();
    try {
      for (const id of ['a', 'b', 'c']) await input.produce(topic(id));
      const first = await input.start(new InMemoryTopicClaims());
      for (let i = 0; i < 3; i += 1) await (await first.next(60_000))!.ack();
      await first.close();

      await input.produce(topic('d'));
      // Fresh claims: only the committed offset can keep a, b and c from coming back.
      const second = await input.start(new InMemoryTopicClaims());
      expect((await second.next(60_000))?.topic.id).toBe('d');
    } finally {
      await input.cleanup();
    }
  });

  it('an ack never commits past an older topic still in flight', async () => {
    const input = await kafkaInput();
    try {
      await input.produce(topic('older'));
      await input.produce(topic('newer'));
      const first = await input.start(new InMemoryTopicClaims());
      const older = await first.next(60_000);
      const newer = await first.next(60_000);
      expect([older?.topic.id, newer?.topic.id]).toEqual(['older', 'newer']);
      await newer!.ack();
      await first.close();

      const second = await input.start(new InMemoryTopicClaims());
      expect((await second.next(60_000))?.topic.id).toBe('older');
    } finally {
      await input.cleanup();
    }
  });

  it('a topic left unacked when its consumer closes goes to the next consumer of the group', async () => {
    const input = await kafkaInput();
    try {
      const claims = new InMemoryTopicClaims(); // shared, as daemons share the Redis claims
      await input.produce(topic('orphan'));
      const first = await input.start(claims);
      expect((await first.next(60_000))?.topic.id).toBe('orphan');
      await first.close();

      const second = await input.start(claims);
      const again = await second.next(60_000);
      expect(again?.topic.id).toBe('orphan');
      await again!.ack();
    } finally {
      await input.cleanup();
    }
  });
});
