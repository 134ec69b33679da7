import type { Admin } from 'kafkajs';
import type { KafkaConfig } from '../../config.js';

/** Lets a few daemons share the input and keeps per-conversation order with room to grow. */
export const DEFAULT_TOPIC_PARTITIONS = 3;
/** A single-broker development cluster cannot hold more; production sets its own. */
export const DEFAULT_REPLICATION_FACTOR = 1;

export interface EnsureTopicsOptions {
  /** @default DEFAULT_TOPIC_PARTITIONS (3) */
  partitions?: number;
  /** @default DEFAULT_REPLICATION_FACTOR (1) */
  replicationFactor?: number;
}

/**
 * Creates the named topics that do not exist yet and waits for their partition leaders, so a producer or
 * consumer started right after sees them. Existing topics are left as they are. Returns the created names.
 */
export async function createMissingTopics(
  admin: Admin,
  names: readonly string[],
  options: EnsureTopicsOptions = {},
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(names)].filter((name) => !existing.has(name));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((topic) => ({
      topic,
      numPartitions: options.partitions ?? DEFAULT_TOPIC_PARTITIONS,
      replicationFactor: options.replicationFactor ?? DEFAULT_REPLICATION_FACTOR,
    })),
  });
  return missing;
}

/** Makes sure the input, events and dead-letter topics of `config.topics` exist. */
export async function ensureTopics(
  admin: Admin,
  config: Pick<KafkaConfig, 'topics'>,
  options: EnsureTopicsOptions = {},
): Promise<string[]> {
  const { input, events, deadLetter } = config.topics;
  return createMissingTopics(admin, [input, events, deadLetter], options);
}
