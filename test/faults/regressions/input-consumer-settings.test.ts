import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import {
  DEFAULT_MAX_WAIT_TIME_MS,
  DEFAULT_SESSION_TIMEOUT_MS,
  KafkaTopicSource,
} from '../../../src/services/kafka/topic-source.js';
import { InMemoryEventBus } from '../../../src/services/memory/event-bus.js';
import { InMemoryTopicClaims } from '../../../src/services/memory/topic-claims.js';

/**
 * Found by the fault scenarios:
 * - crash-resume: with kafkajs' 30 s default session timeout, every SIGKILL of a daemon held the whole
 *   group's intake (and the restarted daemon's start-up) for about 30 s, because the rebalance its restart
 *   starts waits for the dead member to be evicted;
 * - hostile-input: with kafkajs' 5 s default fetch wait, which kafkajs also sleeps while every partition is
 *   paused, a backlog on the input topic came in at about 7 messages a second (the buffer pauses the
 *   consumer each time it fills).
 */
describe('the input consumer of a daemon', () => {
  /** Records the settings the source asks kafkajs for, and stops start-up right there. */
  function recordingKafka() {
    const configs: Array<Record<string, unknown>> = [];
    const kafka = {
      consumer(config: Record<string, unknown>) {
        configs.push(config);
        throw new Error('recorded');
      },
    } as unknown as Kafka;
    return { kafka, configs };
  }

  const base = {
    topic: 'input',
    groupId: 'daemons',
    bus: new InMemoryEventBus(),
    claims: new InMemoryTopicClaims(),
    maxTitleLength: 500,
    logger: createLogger({ level: 'silent' }),
  };

  it('lets the group evict a crashed member after 10 s, a third of the kafkajs default', async () => {
    const { kafka, configs } = recordingKafka();
    await expect(KafkaTopicSource.start({ ...base, kafka })).rejects.toThrow('recorded');
    expect(DEFAULT_SESSION_TIMEOUT_MS).toBe(10_000);
    expect(configs[0]).toMatchObject({
      groupId: 'daemons',
      sessionTimeout: 10_000,
      heartbeatInterval: 3_000,
    });
  });

  it('waits at most 250 ms per fetch, so a paused consumer resumes within that instead of 5 s', async () => {
    const { kafka, configs } = recordingKafka();
    await expect(KafkaTopicSource.start({ ...base, kafka })).rejects.toThrow('recorded');
    expect(DEFAULT_MAX_WAIT_TIME_MS).toBe(250);
    expect(configs[0]).toMatchObject({ maxWaitTimeInMs: 250 });
  });

  it('keeps a session timeout given explicitly', async () => {
    const { kafka, configs } = recordingKafka();
    await expect(
      KafkaTopicSource.start({ ...base, kafka, consumer: { sessionTimeout: 45_000 } }),
    ).rejects.toThrow();
    expect(configs[0]).toMatchObject({ sessionTimeout: 45_000 });
  });
});
