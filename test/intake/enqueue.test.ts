import { describe, expect, it } from 'vitest';
import { isInvalidEventError } from '../../src/errors.js';
import { deriveTopicId, type TopicMessage } from '../../src/events.js';
import { publishTopics } from '../../src/intake/enqueue.js';
import { InMemoryEventBus } from '../../src/services/memory/event-bus.js';

describe('publishing topics to the input topic', () => {
  it('each message is keyed by its id, or by the id derived from its content', async () => {
    const bus = new InMemoryEventBus();
    await publishTopics(bus, [
      { id: 'given', title: 'A' },
      { title: 'B', url: 'https://x.example' },
    ]);
    const keys = bus
      .read('topics')
      .map((m) => m.key)
      .sort();
    expect(keys).toEqual(['given', deriveTopicId({ title: 'B', url: 'https://x.example' })].sort());
  });

  it('a message that breaks the schema refuses the whole call', async () => {
    const bus = new InMemoryEventBus();
    const refusal = await publishTopics(bus, [
      { title: 'fine' },
      { title: 'bad', id: 42 } as unknown as TopicMessage,
    ]).catch((error: unknown) => error);
    expect(isInvalidEventError(refusal)).toBe(true);
    expect(bus.read('topics')).toEqual([]);
  });
});
