import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import { inject } from 'vitest';
import type { KafkaConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createKafkaClient } from '../../src/services/kafka/client.js';

/** Short heartbeats and fetch waits: a group join and a rebalance take about a second, not ten. */
export const FAST_CONSUMER = { heartbeatInterval: 300, sessionTimeout: 10_000, maxWaitTimeInMs: 100 };

export const quietLogger = () => createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A KafkaConfig on the test broker with topic names no other test uses. */
export function uniqueKafkaConfig(): KafkaConfig {
  const suffix = randomUUID();
  return {
    brokers: inject('kafkaBrokers').split(','),
    clientId: `chimera-test-${suffix.slice(0, 8)}`,
    groupId: `g-${suffix}`,
    ssl: false,
    topics: { input: `t-${suffix}-input`, events: `t-${suffix}-events`, deadLetter: `t-${suffix}-dead` },
  };
}

export function testKafka(config: KafkaConfig): Kafka {
  return createKafkaClient(config, { logger: quietLogger() });
}

/** Removes the test's topics; a failure here only leaves topics behind on a throwaway broker. */
export async function deleteTopics(admin: Admin, config: KafkaConfig): Promise<void> {
  const { input, events, deadLetter } = config.topics;
  await admin.deleteTopics({ topics: [input, events, deadLetter] }).catch(() => undefined);
}
