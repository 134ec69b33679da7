import { describe, expect, it } from 'vitest';
import { CompositeTopicSource } from '../../src/services/composite-topic-source.js';
import type { TopicDelivery, TopicSource } from '../../src/services/ports.js';

function delivery(id: string): TopicDelivery {
  return { topic: { id, title: `Topic ${id}` }, ack: async () => {}, release: async () => {} };
}

/** A source whose head message cannot be admitted: every look throws. */
function failing(): TopicSource & { looks: number } {
  const source = {
    looks: 0,
    next: async () => {
      source.looks += 1;
      throw new Error('dead-letter topic unwritable');
    },
    close: async () => {},
  };
  return source;
}

function queue(ids: string[]): TopicSource {
  return { next: async () => (ids.length > 0 ? delivery(ids.shift()!) : null), close: async () => {} };
}

describe('the combined topic source', () => {
  it('a source that throws does not hold up a source that has topics', async () => {
    const bad = failing();
    const composite = new CompositeTopicSource([bad, queue(['a', 'b'])]);
    expect((await composite.next(0))?.topic.id).toBe('a');
    expect((await composite.next(0))?.topic.id).toBe('b');
    expect(bad.looks).toBeGreaterThan(0);
  });

  it('the error is thrown when no other source had a topic, and the failing source goes last next round', async () => {
    const bad = failing();
    const composite = new CompositeTopicSource([bad, queue([])]);
    await expect(composite.next(0)).rejects.toThrow('dead-letter topic unwritable');
    const ids: string[] = [];
    const other = queue(ids);
    const order: string[] = [];
    const tracked = new CompositeTopicSource([
      {
        next: async (w) => {
          order.push('bad');
          return bad.next(w);
        },
        close: async () => {},
      },
      {
        next: async (w) => {
          order.push('other');
          return other.next(w);
        },
        close: async () => {},
      },
    ]);
    await tracked.next(0).catch(() => undefined);
    ids.push('d');
    order.length = 0;
    await tracked.next(0);
    expect(order[0]).toBe('other');
  });
});
