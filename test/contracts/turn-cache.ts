import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Turn } from '../../src/events.js';
import type { TurnCache, TurnKey } from '../../src/services/ports.js';

/** What one adapter gives the contract: two caches on the same storage, as two daemons would have. */
export interface TurnCacheHarness {
  cache: TurnCache;
  /** A second cache over the same storage (another process's view). @default `cache` (one-process adapters) */
  other?: TurnCache;
  cleanup(): Promise<void>;
}

/** A turn as the conversation machine stores it, with cache token counts. */
export function sampleTurn(text: string, index = 0): Turn {
  return {
    ...turnFor(index, text),
    model: 'claude-sonnet-5-5',
    usage: { inputTokens: 120, outputTokens: 48, cacheReadTokens: 64, cacheWriteTokens: 8 },
    latencyMs: 812,
  };
}

export function turnFor(index: number, text: string): Turn {
  return {
    index,
    speaker: index % 2 === 0 ? 'questioner' : 'answerer',
    provider: 'anthropic',
    model: 'm-1',
    text,
    usage: { inputTokens: 12, outputTokens: 7 },
    latencyMs: 40,
    attempts: 1,
    requestId: `req-${index}-${text}`,
    at: 1_700_000_000_000 + index,
  };
}

/** The behaviour every `TurnCache` adapter shares; run once per adapter. */
export function turnCacheContract(name: string, create: () => Promise<TurnCacheHarness>): void {
  describe(`TurnCache contract: ${name}`, () => {
    let harness: Required<TurnCacheHarness>;
    let conversationId: string;
    // Unique per run too: adapters over shared storage (Redis) keep what earlier runs wrote.
    const run = Math.random().toString(36).slice(2, 8);
    let counter = 0;

    beforeEach(async () => {
      const created = await create();
      harness = { ...created, other: created.other ?? created.cache };
      counter += 1;
      conversationId = `c-contract-${run}-${counter}`;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    const key = (turnIndex: number, generation = 0): TurnKey => ({ conversationId, turnIndex, generation });

    it('has nothing for a turn never answered', async () => {
      expect(await harness.cache.get(key(0))).toBeNull();
    });

    it('keeps the first answer for a (conversation, turn, generation) and hands it back to every later writer', async () => {
      const first = turnFor(0, 'first answer');
      expect(await harness.cache.putIfAbsent(key(0), first)).toEqual(first);
      expect(await harness.cache.putIfAbsent(key(0), turnFor(0, 'second answer'))).toEqual(first);
      expect(await harness.cache.get(key(0))).toEqual(first);
    });

    it('another process on the same storage sees the answer, and its own later answer loses', async () => {
      const first = turnFor(1, 'from daemon A');
      await harness.cache.putIfAbsent(key(1), first);
      expect(await harness.other.get(key(1))).toEqual(first);
      expect(await harness.other.putIfAbsent(key(1), turnFor(1, 'from daemon B'))).toEqual(first);
    });

    it('two writers racing for one turn both end up with the same answer', async () => {
      const [a, b] = await Promise.all([
        harness.cache.putIfAbsent(key(2), turnFor(2, 'racer A')),
        harness.other.putIfAbsent(key(2), turnFor(2, 'racer B')),
      ]);
      expect(a).toEqual(b);
      expect(['racer A', 'racer B']).toContain(a.text);
      expect(await harness.cache.get(key(2))).toEqual(a);
    });

    it('a regeneration (another generation) and another turn index are separate entries', async () => {
      await harness.cache.putIfAbsent(key(3, 0), turnFor(3, 'first try'));
      expect(await harness.cache.get(key(3, 1))).toBeNull();
      expect(await harness.cache.get(key(4, 0))).toBeNull();
      await harness.cache.putIfAbsent(key(3, 1), turnFor(3, 'nudged'));
      expect((await harness.cache.get(key(3, 0)))?.text).toBe('first try');
      expect((await harness.cache.get(key(3, 1)))?.text).toBe('nudged');
    });

    it("forgetting a conversation drops all of its turns and no other conversation's", async () => {
      const neighbour = `${conversationId}0`;
      await harness.cache.putIfAbsent(key(0), turnFor(0, 'mine'));
      await harness.cache.putIfAbsent(key(1), turnFor(1, 'mine too'));
      await harness.cache.putIfAbsent(
        { conversationId: neighbour, turnIndex: 0, generation: 0 },
        turnFor(0, 'next door'),
      );
      await harness.cache.forget(conversationId);
      expect(await harness.cache.get(key(0))).toBeNull();
      expect(await harness.other.get(key(1))).toBeNull();
      expect(
        (await harness.cache.get({ conversationId: neighbour, turnIndex: 0, generation: 0 }))?.text,
      ).toBe('next door');
      await harness.cache.forget(neighbour);
    });

    it('keeps every field of a turn as it was given', async () => {
      const turn = {
        ...turnFor(5, 'with cache tokens'),
        usage: { inputTokens: 3, outputTokens: 4, cacheReadTokens: 2 },
      };
      await harness.cache.putIfAbsent(key(5), turn);
      expect(await harness.other.get(key(5))).toEqual(turn);
    });
  });
}
