/**
 * The fault suite's own Kafka client: it submits topic messages the way any producer would, and reads a
 * topic back from the beginning with a fresh consumer group, knowing nothing of the daemons' state.
 */
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import type { OutputMessage } from '../checker.js';

/** Brokers as `host:port[,...]`, or with SASL/PLAIN credentials for a broker that requires them. */
export type KafkaTarget = string | { brokers: string; sasl: { username: string; password: string } };

function client(target: KafkaTarget) {
  const brokers = typeof target === 'string' ? target : target.brokers;
  return new kafkajs.Kafka({
    clientId: 'chimera-fault-suite',
    brokers: brokers.split(','),
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 3000 },
    ...(typeof target === 'string' ? {} : { sasl: { mechanism: 'plain' as const, ...target.sasl } }),
  });
}

export interface RawMessage {
  key: string | null;
  value: Buffer | string;
}

/** Sends messages in order, in batches, and resolves once the broker acknowledged every one. */
export async function produce(
  brokers: KafkaTarget,
  topic: string,
  messages: readonly RawMessage[],
): Promise<void> {
  const producer = client(brokers).producer({
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 100).map((m) => ({ ...m })) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** One message read back, with where it was in the log. */
export interface ReadMessage extends OutputMessage {
  partition: number;
  offset: string;
  raw: Buffer | null;
}

/**
 * Reads every message of `topic` present when the call starts, from the beginning, in partition order.
 * @throws when the messages up to the high-water marks have not all arrived within `timeoutMs`.
 */
export async function readAll(
  brokers: KafkaTarget,
  topic: string,
  timeoutMs = 60_000,
): Promise<ReadMessage[]> {
  const kafka = client(brokers);
  const admin = kafka.admin();
  await admin.connect();
  let marks: Array<{ partition: number; high: string; low: string }>;
  try {
    marks = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const remaining = new Map<number, bigint>();
  for (const { partition, high, low } of marks) {
    if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high) - 1n);
  }
  const messages: ReadMessage[] = [];
  if (remaining.size === 0) return messages;

  const consumer = kafka.consumer({ groupId: `fault-reader-${randomUUID()}`, retry: { retries: 30 } });
  await consumer.connect();
  try {
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const last = remaining.get(partition);
        if (last === undefined || BigInt(message.offset) > last) return;
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {})) {
          const first = Array.isArray(value) ? value[0] : value;
          if (first !== undefined) headers[name] = first.toString();
        }
        messages.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString('utf8') ?? '',
          raw: message.value,
          headers,
          partition,
          offset: message.offset,
        });
        if (BigInt(message.offset) >= last) {
          remaining.delete(partition);
          if (remaining.size === 0) done();
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      throw new Error(
        `reading ${topic}: partitions ${[...remaining.keys()].join(', ')} not read within ${timeoutMs}ms`,
      );
    }
  } finally {
    await consumer.disconnect();
  }
  return messages;
}

/** Deletes topics a scenario created; a topic that is already gone is fine. */
export async function deleteTopics(brokers: KafkaTarget, topics: readonly string[]): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((topic) => existing.has(topic));
    if (present.length > 0) await admin.deleteTopics({ topics: present, timeout: 10_000 });
  } finally {
    await admin.disconnect();
  }
}

/** How many members a consumer group has now (a daemon whose input consumer died is not one). */
export async function groupMembers(brokers: KafkaTarget, groupId: string): Promise<number> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const { groups } = await admin.describeGroups([groupId]);
    return groups[0]?.members.length ?? 0;
  } finally {
    await admin.disconnect();
  }
}
