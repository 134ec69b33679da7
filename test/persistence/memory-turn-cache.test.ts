import { describe, expect, it } from 'vitest';
import type { Turn } from '../../src/events.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';

const turn = (text: string) => ({ text }) as unknown as Turn;

describe('in-memory turn cache', () => {
  it('keeps the first result for a (conversation, turn, generation) and hands it back', async () => {
    const cache = new InMemoryTurnCache();
    const key = { conversationId: 'c1', turnIndex: 0, generation: 0 };
    expect(await cache.get(key)).toBeNull();
    expect(await cache.putIfAbsent(key, turn('first'))).toEqual(turn('first'));
    expect(await cache.putIfAbsent(key, turn('second'))).toEqual(turn('first'));
    expect(await cache.get(key)).toEqual(turn('first'));
    expect(await cache.get({ ...key, generation: 1 })).toBeNull();
    expect(await cache.get({ ...key, conversationId: 'c2' })).toBeNull();
  });

  it("forgetting a conversation drops all of its turns and no other conversation's", async () => {
    const cache = new InMemoryTurnCache();
    for (const conversationId of ['c1', 'c10', 'c2'])
      for (const turnIndex of [0, 1])
        await cache.putIfAbsent(
          { conversationId, turnIndex, generation: 0 },
          turn(`${conversationId}/${turnIndex}`),
        );
    expect(cache.size).toBe(6);
    cache.forget('c1');
    expect(cache.size).toBe(4);
    expect(await cache.get({ conversationId: 'c1', turnIndex: 1, generation: 0 })).toBeNull();
    expect(await cache.get({ conversationId: 'c10', turnIndex: 1, generation: 0 })).toEqual(turn('c10/1'));
    expect(await cache.get({ conversationId: 'c2', turnIndex: 0, generation: 0 })).toEqual(turn('c2/0'));
  });
});
