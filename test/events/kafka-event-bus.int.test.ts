import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/events.js';
import { KafkaEventBus } from '../../src/services/kafka/event-bus.js';
import { createMissingTopics, ensureTopics } from '../../src/services/kafka/topics.js';
import type { ReceivedMessage } from '../../src/services/ports.js';
import { eventBusContract, startedEvent, waitFor } from '../contracts/event-bus.js';
import { deleteTopics, FAST_CONSUMER, quietLogger, testKafka, uniqueKafkaConfig } from './kafka-support.js';

async function kafkaHarness() {
  const config = uniqueKafkaConfig();
  const kafka = testKafka(config);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, config);
  const bus = new KafkaEventBus({
    kafka,
    topics: config.topics,
    logger: quietLogger(),
    consumer: FAST_CONSUMER,
    handlerRetryBaseMs: 50,
  });
  return {
    config,
    admin,
    bus,
    waitMs: 60_000,
    cleanup: async () => {
      await bus.close();
      await deleteTopics(admin, config);
      await admin.disconnect();
    },
  };
}

eventBusContract('Kafka', kafkaHarness);

describe('Kafka event bus', () => {
  it('foundation: a message produced to the real Kafka broker is consumed back through a consumer group', async () => {
    const { bus, config, cleanup } = await kafkaHarness();
    try {
      const received: ReceivedMessage<ConversationEvent>[] = [];
      await bus.subscribe('events', {
        groupId: config.groupId,
        fromBeginning: true,
        onMessage: async (message) => void received.push(message),
        onInvalid: async () => {},
      });
      const event = startedEvent(`c-${randomUUID()}`, 1);
      await bus.publish('events', [{ key: event.conversationId, value: event }]);

      await waitFor(() => received.length === 1, 60_000, 'the message back from Kafka');
      expect(received[0]?.value).toEqual(event);
      expect(received[0]?.topic).toBe(config.topics.events);
      expect(received[0]?.key).toBe(event.conversationId);
    } finally {
      await cleanup();
    }
  });

  it('ensureTopics creates the input, events and dead-letter topics once, with the partitions asked for', async () => {
    const config = uniqueKafkaConfig();
    const kafka = testKafka(config);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const created = await ensureTopics(admin, config, { partitions: 2 });
      expect(created.sort()).toEqual(Object.values(config.topics).sort());
      const metadata = await admin.fetchTopicMetadata({ topics: [config.topics.events] });
      expect(metadata.topics[0]?.partitions).toHaveLength(2);

      expect(await ensureTopics(admin, config)).toEqual([]);
      expect(await createMissingTopics(admin, [config.topics.input, `${config.topics.input}-more`])).toEqual([
        `${config.topics.input}-more`,
      ]);
      await admin.deleteTopics({ topics: [`${config.topics.input}-more`] });
    } finally {
      await deleteTopics(admin, config);
      await admin.disconnect();
    }
  });

  it('dead letters go to the dead-letter topic with their bytes and headers unchanged', async () => {
    const { bus, config, cleanup } = await kafkaHarness();
    const kafka = testKafka(config);
    const consumer = kafka.consumer({ groupId: `g-${randomUUID()}`, ...FAST_CONSUMER });
    try {
      const bytes = Buffer.from([0xff, 0xfe, 0x7b, 0x00]);
      await bus.publishRaw('deadLetter', [
        { key: 'k', value: bytes, headers: { 'chimera-dead-letter-reason': 'r' } },
      ]);
      const seen: Array<{ value: Buffer | null; reason?: string }> = [];
      await consumer.connect();
      await consumer.subscribe({ topics: [config.topics.deadLetter], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) =>
          void seen.push({
            value: message.value,
            reason: message.headers?.['chimera-dead-letter-reason']?.toString(),
          }),
      });
      await waitFor(() => seen.length === 1, 60_000, 'the dead letter');
      expect(seen[0]?.value?.equals(bytes)).toBe(true);
      expect(seen[0]?.reason).toBe('r');
    } finally {
      await consumer.disconnect();
      await cleanup();
    }
  });
});
