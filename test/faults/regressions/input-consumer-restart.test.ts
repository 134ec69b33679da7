import type { Kafka } from 'kafkajs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { CONSUMER_RESTART_BASE_MS, KafkaTopicSource } from '../../../src/services/kafka/topic-source.js';
import { InMemoryEventBus } from '../../../src/services/memory/event-bus.js';
import { InMemoryTopicClaims } from '../../../src/services/memory/topic-claims.js';

/**
 * Found by the Kafka-restart fault scenario (the input group had one member instead of two afterwards):
 * kafkajs restarts a crashed consumer only after errors it deems retriable; "Failed to find group
 * coordinator" while the broker restarts is not one, so that daemon lost its Kafka intake for good. The
 * real broker case is that scenario; this pins the restart policy on the consumer's own crash event.
 */

type Listener = (event: { payload: { error: Error; restart: boolean } }) => void;

/** Just what KafkaTopicSource calls on a kafkajs consumer, counting connects and runs. */
function stoppableConsumer() {
  const listeners = new Map<string, Listener[]>();
  const calls = { connect: 0, run: 0 };
  const consumer = {
    events: { GROUP_JOIN: 'group_join', CRASH: 'crash' },
    on(event: string, listener: Listener) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
    },
    connect: async () => {
      calls.connect += 1;
    },
    subscribe: async () => {},
    run: async () => {
      calls.run += 1;
    },
    disconnect: async () => {},
    pause: () => {},
    resume: () => {},
    commitOffsets: async () => {},
  };
  const crash = (restart: boolean) => {
    for (const listener of listeners.get('crash') ?? [])
      listener({ payload: { error: new Error('boom'), restart } });
  };
  return { kafka: { consumer: () => consumer } as unknown as Kafka, calls, crash };
}

const base = {
  topic: 'input',
  groupId: 'daemons',
  bus: new InMemoryEventBus(),
  claims: new InMemoryTopicClaims(),
  maxTitleLength: 500,
  logger: createLogger({ level: 'silent' }),
};

afterEach(() => {
  vi.useRealTimers();
});

describe('the input consumer after a crash', () => {
  it('is connected and run again by the source when kafkajs will not restart it', async () => {
    vi.useFakeTimers();
    const { kafka, calls, crash } = stoppableConsumer();
    const source = await KafkaTopicSource.start({ ...base, kafka });
    expect(calls).toEqual({ connect: 1, run: 1 });

    crash(false);
    await vi.advanceTimersByTimeAsync(CONSUMER_RESTART_BASE_MS);
    expect(calls).toEqual({ connect: 2, run: 2 });
    // Still failing: the next attempt waits twice as long.
    crash(false);
    await vi.advanceTimersByTimeAsync(CONSUMER_RESTART_BASE_MS);
    expect(calls.run).toBe(2);
    await vi.advanceTimersByTimeAsync(CONSUMER_RESTART_BASE_MS);
    expect(calls.run).toBe(3);
    await source.close();
  });

  it('is left to kafkajs when kafkajs restarts it itself', async () => {
    vi.useFakeTimers();
    const { kafka, calls, crash } = stoppableConsumer();
    const source = await KafkaTopicSource.start({ ...base, kafka });
    crash(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.run).toBe(1);
    await source.close();
  });

  it('is not restarted once the source is closed', async () => {
    vi.useFakeTimers();
    const { kafka, calls, crash } = stoppableConsumer();
    const source = await KafkaTopicSource.start({ ...base, kafka });
    crash(false);
    await source.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.run).toBe(1);
  });
});
