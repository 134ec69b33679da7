/**
 * Intake stuck on one message: a topic message whose dead-letter publish keeps failing must not hold up
 * its source forever, nor the other sources. On the real broker: the dead-letter topic is created with a
 * `max.message.bytes` smaller than the invalid message, so Kafka refuses every dead-letter write of it
 * (MESSAGE_TOO_LARGE, not retriable). The message must be retried with a pause, counted and logged, then
 * parked in the Redis stream and acknowledged, so the valid topic behind it in the same partition starts
 * and the partition's offset is committed past it; meanwhile a topic on the Redis queue starts at once.
 */
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { conversationIdFor } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import { enqueueTopic } from '../../src/services/redis/topic-queue.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import {
  configFor,
  deleteKeys,
  fakeProviderEnv,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups = cleanupsAfterEach();

interface LogLine {
  level: number;
  msg: string;
  source?: string;
  attempt?: number;
}

describe('a topic message whose dead-letter publish keeps failing', () => {
  it('is retried with pauses, counted, logged and parked in Redis, without holding up the rest', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const kafka = new kafkajs.Kafka({
      clientId: 'intake-failures-test',
      brokers: [inject('kafkaBrokers')],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.add(() => admin.disconnect());
    const input = names.env.KAFKA_TOPIC_INPUT;
    const deadLetter = names.env.KAFKA_TOPIC_DEAD_LETTER;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: input, numPartitions: 1, replicationFactor: 1 },
        // Smaller than the invalid message below: every dead-letter write of it is refused.
        {
          topic: deadLetter,
          numPartitions: 1,
          replicationFactor: 1,
          configEntries: [{ name: 'max.message.bytes', value: '512' }],
        },
      ],
    });
    cleanups.add(() => admin.deleteTopics({ topics: [input, deadLetter, names.env.KAFKA_TOPIC_EVENTS] }));

    const server: FakeProviderServer = await startFakeProviderServer({ latencyMs: 0 });
    cleanups.add(() => server.close());
    const lines: LogLine[] = [];
    const registry = new Registry();
    const config = configFor(
      infraEnv({
        ...names.env,
        ...fakeProviderEnv(server),
        MAX_CONVERSATION_TURNS: '2',
        MIN_CONVERSATION_TURNS: '1',
        INTAKE_MAX_ATTEMPTS: '4',
      }),
    );
    const chimera: Chimera = await startChimera(config, {
      registry,
      logger: createLogger({
        level: 'info',
        destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
      }),
    });
    cleanups.add(() => chimera.stop());

    // Invalid (no title) and larger than the dead-letter topic takes, compressed or not (random bytes);
    // then a valid topic behind it.
    const padding = randomBytes(2_000).toString('base64');
    const invalid = Buffer.from(JSON.stringify({ id: 'bad-1', padding }));
    const producer = kafka.producer();
    await producer.connect();
    cleanups.add(() => producer.disconnect());
    await producer.send({ topic: input, messages: [{ key: 'k', value: invalid }] });
    await producer.send({
      topic: input,
      messages: [{ key: 'k', value: JSON.stringify({ id: 'behind-1', title: 'Tidal power in estuaries' }) }],
    });

    const store = chimera.parts.store;
    const started = async (topicId: string) => (await store.load(conversationIdFor(topicId))) !== null;

    // The first failures happen; the Redis queue goes on meanwhile.
    await until(() => lines.some((l) => l.source === 'kafka' && l.attempt === 1), 20_000, 'a first failure');
    await enqueueTopic(chimera.parts.redis!, names.env.REDIS_TOPIC_QUEUE, {
      id: 'queued-1',
      title: 'Peat bogs as carbon stores',
    });
    await until(() => started('queued-1'), 5_000, 'the Redis topic started while Kafka intake fails');
    expect(await chimera.parts.parked.size()).toBe(0);

    // Parked after the fourth failure (pauses of 1, 2 and 4 s between), then the topic behind it starts.
    await until(async () => (await chimera.parts.parked.size()) === 1, 20_000, 'the message parked');
    const [parked] = await chimera.parts.parked.read(10);
    expect(parked!.value.equals(invalid)).toBe(true);
    expect(parked!.reason).toContain('intake failed 4 times');
    expect(parked!.from).toEqual({ topic: input, partition: 0, offset: '0' });
    await until(() => started('behind-1'), 10_000, 'the topic behind the parked message started');

    // Kafka's committed offset moves past both messages.
    await until(
      async () => {
        const [offsets] = await admin.fetchOffsets({
          groupId: names.env.KAFKA_CONSUMER_GROUP_ID,
          topics: [input],
        });
        return offsets?.partitions[0]?.offset === '2';
      },
      10_000,
      'the partition committed past the parked message',
    );

    const failures = lines.filter((l) => l.source === 'kafka' && l.attempt !== undefined);
    expect(failures.map((l) => l.attempt)).toEqual([1, 2, 3, 4]);
    const metric = await registry.getSingleMetricAsString('chimera_intake_failures_total');
    expect(metric).toContain('chimera_intake_failures_total{source="kafka",outcome="retry"} 3');
    expect(metric).toContain('chimera_intake_failures_total{source="kafka",outcome="parked"} 1');
  }, 60_000);
});
