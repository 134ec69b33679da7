/**
 * The real Redis and Kafka a benchmark runs against, with names unique to one run (so runs never share
 * keys or topics with each other or with tests) and the cleanup of everything the run created.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { ensureKafka, ensureRedis } from '../../scripts/services.js';

export interface Infra {
  redisUrl: string;
  kafkaBrokers: string;
}

/** Makes sure Redis and Kafka answer (starting them the way the tests do when they do not). */
export async function infra(): Promise<Infra> {
  const redis = await ensureRedis();
  const kafka = await ensureKafka();
  return { redisUrl: redis.url, kafkaBrokers: kafka.url };
}

export interface RunNames {
  id: string;
  /** Redis key prefix of the run. */
  prefix: string;
  /** The variables that point Chimera at the run's keys, topics and consumer group. */
  env: Record<string, string>;
  topics: string[];
}

/** Key prefix, topic names and group id unique to one run of one benchmark. */
export function runNames(bench: string): RunNames {
  const id = `${bench}-${randomUUID().slice(0, 8)}`;
  const prefix = `bench-${id}`;
  const env = {
    REDIS_KEY_PREFIX: prefix,
    REDIS_TOPIC_QUEUE: `${prefix}:topics:queue`,
    KAFKA_TOPIC_INPUT: `${prefix}.topics`,
    KAFKA_TOPIC_EVENTS: `${prefix}.events`,
    KAFKA_TOPIC_DEAD_LETTER: `${prefix}.topics.dead-letter`,
    KAFKA_CONSUMER_GROUP_ID: `${prefix}-daemons`,
  };
  return {
    id,
    prefix,
    env,
    topics: [env.KAFKA_TOPIC_INPUT, env.KAFKA_TOPIC_EVENTS, env.KAFKA_TOPIC_DEAD_LETTER],
  };
}

/** Deletes every key under the prefix (a benchmark may SCAN; the product never does). */
export async function deleteKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = new Redis(redisUrl);
  let cursor = '0';
  let deleted = 0;
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
  return deleted;
}

function kafkaClient(brokers: string): kafkajs.Kafka {
  return new kafkajs.Kafka({
    clientId: 'chimera-bench',
    brokers: [brokers],
    logLevel: kafkajs.logLevel.NOTHING,
  });
}

/** Messages in a topic: the sum of its partitions' high watermarks (the run's topics start empty). */
export async function topicMessageCount(brokers: string, topic: string): Promise<number> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Deletes the run's topics, so the broker does not collect one set per benchmark run. */
export async function deleteTopics(brokers: string, topics: readonly string[]): Promise<void> {
  const admin = kafkaClient(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const mine = topics.filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 });
  } finally {
    await admin.disconnect();
  }
}

/** Removes what a run created in Redis and Kafka; failures are reported, not thrown (the figures stand). */
export async function cleanup(infraInfo: Infra, names: RunNames): Promise<void> {
  await deleteKeys(infraInfo.redisUrl, names.prefix).catch((err: unknown) =>
    process.stderr.write(`[bench] could not delete Redis keys ${names.prefix}*: ${String(err)}\n`),
  );
  await deleteTopics(infraInfo.kafkaBrokers, names.topics).catch((err: unknown) =>
    process.stderr.write(`[bench] could not delete Kafka topics of ${names.id}: ${String(err)}\n`),
  );
}
