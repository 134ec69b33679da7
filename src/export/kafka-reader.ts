/**
 * Reads the final records on the events topic as it stood when the read began: the end offset of every
 * partition is fetched first, then a consumer in a fresh group reads from the beginning up to those
 * offsets and stops. Events published meanwhile are left for the next export, so a busy topic still
 * gives a read that ends.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { ChimeraError } from '../errors.js';
import { type ConversationRecord, conversationEventSchema } from '../events.js';

export interface KafkaRecordsOptions {
  kafka: Kafka;
  /** The physical events topic (`config.kafka.topics.events`). */
  topic: string;
  /**
   * Start of the throwaway consumer group's id; a random suffix makes it unique, and the group is deleted
   * afterwards, so an export never moves a daemon's offsets.
   * @default 'chimera-export'
   */
  groupPrefix?: string;
  /** Called for each `conversation.ended` and `conversation.failed` record, one at a time, in log order. */
  onRecord: (record: ConversationRecord) => Promise<void>;
}

export interface KafkaRecordsResult {
  /** Messages read. */
  messages: number;
  /** Final records handed to `onRecord`. */
  records: number;
  /** Messages that are not valid events (skipped). */
  unreadable: number;
}

/**
 * @throws {ChimeraError} `invalid_event` when the topic does not exist; whatever kafkajs throws when the
 *   broker cannot be reached.
 */
export async function readRecordsFromKafka(options: KafkaRecordsOptions): Promise<KafkaRecordsResult> {
  const { kafka, topic } = options;
  const groupId = `${options.groupPrefix ?? 'chimera-export'}-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  const result: KafkaRecordsResult = { messages: 0, records: 0, unreadable: 0 };
  try {
    if (!(await admin.listTopics()).includes(topic)) {
      throw new ChimeraError(
        'invalid_event',
        `events topic ${topic} does not exist (nothing was ever published)`,
      );
    }
    // The last offset to read per partition; empty partitions are done before they start.
    const lastOffset = new Map<number, bigint>();
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) lastOffset.set(partition, BigInt(high) - 1n);
    }
    if (lastOffset.size === 0) return result;

    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        consumer.on(consumer.events.CRASH, ({ payload }) => reject(payload.error));
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              const last = lastOffset.get(partition);
              const offset = BigInt(message.offset);
              if (last === undefined || offset > last) return;
              result.messages += 1;
              const record = recordOf(message.value);
              if (record === undefined) result.unreadable += 1;
              else if (record !== null) {
                result.records += 1;
                await options.onRecord(record);
              }
              if (offset === last) {
                lastOffset.delete(partition);
                if (lastOffset.size === 0) resolve();
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
    return result;
  } finally {
    await admin.deleteGroups([groupId]).catch(() => {
      // A group that never joined does not exist; one that did is empty now and only costs a few bytes.
    });
    await admin.disconnect();
  }
}

/** The final record an event carries; null for other event types; undefined for an unreadable message. */
function recordOf(value: Buffer | null): ConversationRecord | null | undefined {
  if (value === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = conversationEventSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const event = parsed.data;
  return event.type === 'conversation.ended' || event.type === 'conversation.failed' ? event.record : null;
}
