import { describe, expect, it } from 'vitest';
import type { Turn } from '../../src/events.js';
import type { TurnCache } from '../../src/services/ports.js';

/** What a contract run needs from a turn cache adapter under test. */
export interface TurnCacheHarness {
  cache: TurnCache;
  cleanup(): Promise<void>;
}

let counter = 0;
const conversation = (label: string) =>
  `conv-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** A turn as the conversation machine stores it. */
export function sampleTurn(text: string, index = 0): Turn {
  return {
    index,
    speaker: index % 2 === 0 ? 'questioner' : 'answerer',
    provider: 'anthropic',
    model: 'claude-sonnet-5-5',
    text,
    usage: { inputTokens: 120, outputTokens: 48, cacheReadTokens: 64, cacheWriteTokens: 8 },
    latencyMs: 812,
    attempts: 1,
    requestId: `req-${text}`,
    at: 1_700_000_000_000 + index,
  };
}

/** The behaviour every `TurnCache` adapter shares. */
export function turnCacheContract(name: string, makeCache: () => Promise<TurnCacheHarness>): void {
  async function withCache(run: (h: TurnCacheHarness) => Promise<void>): Promise<void> {
    const harness = await makeCache();
    try {
      await run(harness);
    } finally {
      await harness.cleanup();
    }
  }

  describe(`${name} turn cache contract`, () => {
    it('an unknown turn is null; the first answer stored is kept and handed back for later ones', () =>
      withCache(async ({ cache }) => {
        const key = { conversationId: conversation('first'), turnIndex: 2, generation: 0 };
        expect(await cache.get(key)).toBeNull();
        expect(await cache.putIfAbsent(key, sampleTurn('first', 2))).toEqual(sampleTurn('first', 2));
        expect(await cache.putIfAbsent(key, sampleTurn('second', 2))).toEqual(sampleTurn('first', 2));
        expect(await cache.get(key)).toEqual(sampleTurn('first', 2));
      }));

    it('keeps turns apart by conversation, turn index and generation', () =>
      withCache(async ({ cache }) => {
        const id = conversation('apart');
        await cache.putIfAbsent({ conversationId: id, turnIndex: 1, generation: 0 }, sampleTurn('g0', 1));
        await cache.putIfAbsent({ conversationId: id, turnIndex: 1, generation: 1 }, sampleTurn('g1', 1));
        expect(await cache.get({ conversationId: id, turnIndex: 1, generation: 1 })).toEqual(
          sampleTurn('g1', 1),
        );
        expect(await cache.get({ conversationId: id, turnIndex: 2, generation: 0 })).toBeNull();
        expect(await cache.get({ conversationId: `${id}-other`, turnIndex: 1, generation: 0 })).toBeNull();
      }));

    it('of two owners racing to store a turn, both get the same answer', () =>
      withCache(async ({ cache }) => {
        const key = { conversationId: conversation('race'), turnIndex: 0, generation: 0 };
        const [a, b] = await Promise.all([
          cache.putIfAbsent(key, sampleTurn('a')),
          cache.putIfAbsent(key, sampleTurn('b')),
        ]);
        expect(a).toEqual(b);
        expect(await cache.get(key)).toEqual(a);
      }));
  });
}
