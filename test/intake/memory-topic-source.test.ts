import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import { InMemoryParkedMessages } from '../../src/services/memory/parked-messages.js';
import { InMemoryTopicClaims } from '../../src/services/memory/topic-claims.js';
import { InMemoryTopicSource } from '../../src/services/memory/topic-source.js';
import type { EventBus } from '../../src/services/ports.js';
import { topicSourceContract } from '../contracts/topic-source.js';

const logger = createLogger({ level: 'silent' });

topicSourceContract('in memory', async () => {
  const bus = new InMemoryEventBus();
  const source = new InMemoryTopicSource({
    bus,
    claims: new InMemoryTopicClaims(),
    maxTitleLength: DEFAULTS.TOPIC_MAX_LENGTH,
    logger,
  });
  return {
    source,
    produce: async (raw) => source.push(raw),
    deadLetters: async () => bus.read('deadLetter').map(({ value, headers }) => ({ value, headers })),
    inputName: 'memory',
    maxTitleLength: DEFAULTS.TOPIC_MAX_LENGTH,
    waitMs: 1000,
    quietMs: 20,
    cleanup: async () => {
      await source.close();
      await bus.close();
    },
  };
});

describe('InMemoryTopicSource', () => {
  it('push takes a topic message object as well as bytes', async () => {
    const bus = new InMemoryEventBus();
    const source = new InMemoryTopicSource({
      bus,
      claims: new InMemoryTopicClaims(),
      maxTitleLength: 100,
      logger,
    });
    source.push({ id: 'x', title: 'An object' });
    expect((await source.next(0))?.topic).toEqual({ id: 'x', title: 'An object' });
  });

  it('a topic pushed while next is waiting is delivered at once', async () => {
    const bus = new InMemoryEventBus();
    const source = new InMemoryTopicSource({
      bus,
      claims: new InMemoryTopicClaims(),
      maxTitleLength: 100,
      logger,
    });
    const waiting = source.next(60_000);
    source.push({ id: 'y', title: 'Arrives while waiting' });
    expect((await waiting)?.topic.id).toBe('y');
  });

  it('when the dead-letter write fails, next rejects and the message is not lost', async () => {
    const failing: Pick<EventBus, 'publishRaw'> = {
      publishRaw: async () => {
        throw new Error('dead-letter topic unavailable');
      },
    };
    const bus = new InMemoryEventBus();
    let fail = true;
    const source = new InMemoryTopicSource({
      bus: {
        publishRaw: (topic, messages) =>
          fail ? failing.publishRaw(topic, messages) : bus.publishRaw(topic, messages),
      },
      claims: new InMemoryTopicClaims(),
      maxTitleLength: 100,
      logger,
      failures: { parked: new InMemoryParkedMessages(10), maxAttempts: 5, backoffBaseMs: 100 },
    });
    source.push('not json');
    await expect(source.next(0)).rejects.toThrow('dead-letter topic unavailable');
    fail = false;
    // The source pauses after a failure: nothing is handed out, nothing is dead-lettered yet.
    expect(await source.next(0)).toBeNull();
    expect(bus.read('deadLetter')).toEqual([]);
    // Once the pause is over the same message is tried again.
    expect(await source.next(500)).toBeNull();
    expect(bus.read('deadLetter').map((m) => m.value.toString())).toEqual(['not json']);
  });
});
