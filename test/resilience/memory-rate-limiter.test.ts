import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRateLimiter, type MemoryRateLimitStore } from '../../src/services/memory/rate-limiter.js';
import { rateLimiterContract } from '../contracts/rate-limiter.js';

/** Awaits `promise` while running fake timers one at a time, so the time it took is exact. */
async function settle<T>(promise: Promise<T>): Promise<T> {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  tracked.catch(() => {});
  for (let i = 0; i < 10_000 && !done; i++) await vi.advanceTimersToNextTimerAsync();
  return tracked;
}

describe('MemoryRateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  rateLimiterContract('memory', async () => {
    const store: MemoryRateLimitStore = new Map();
    return {
      create: (key, settings) => new MemoryRateLimiter({ key, settings, store }),
      settle,
      advance: async (ms) => {
        await vi.advanceTimersByTimeAsync(ms);
      },
      cleanup: async () => {},
    };
  });

  it('above 3 requests a millisecond, the calls of one millisecond go at once: the clock ticks in whole milliseconds', async () => {
    // 600,000 rpm is 10 a millisecond: the default burst is those 10, and none of them waits for a timer.
    const limiter = new MemoryRateLimiter({
      key: 'fast',
      settings: { requestsPerMinute: 600_000, tokensPerMinute: 1_000_000_000_000 },
    });
    const waited = await settle(
      Promise.all(
        Array.from({ length: 11 }, () =>
          limiter
            .acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 60_000 })
            .then((permit) => permit.waitedMs),
        ),
      ),
    );
    expect(waited.slice(0, 10)).toEqual(Array(10).fill(0));
    // The eleventh is past the burst: it sleeps to the next tick.
    expect(waited[10]).toBe(1);
  });

  it('grants exactly one request per interval after the burst, in the order they asked', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'p',
      // The interval pays for the burst within the minute: 60 s / (122 - 2) = 500 ms.
      settings: { requestsPerMinute: 122, tokensPerMinute: 1_000_000, requestBurst: 2 },
    });
    const start = Date.now();
    const granted: { index: number; at: number }[] = [];
    const all = Array.from({ length: 6 }, (_, index) =>
      limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 60_000 }).then(() => {
        granted.push({ index, at: Date.now() - start });
      }),
    );
    await settle(Promise.all(all));
    expect(granted).toEqual([
      { index: 0, at: 0 },
      { index: 1, at: 0 },
      { index: 2, at: 500 },
      { index: 3, at: 1_000 },
      { index: 4, at: 1_500 },
      { index: 5, at: 2_000 },
    ]);
  });

  it('a permit reports the wait it took and when it was granted', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'p',
      settings: { requestsPerMinute: 61, tokensPerMinute: 1_000_000, requestBurst: 1 }, // 1 s apart
    });
    await limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 });
    await vi.advanceTimersByTimeAsync(250);
    const permit = await settle(limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 5_000 }));
    expect(permit.waitedMs).toBe(750);
    expect(permit.grantedAt).toBe(Date.now());
  });

  it('a full budget after an idle minute allows only the burst, never a minute of quota at once', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'p',
      settings: { requestsPerMinute: 60, tokensPerMinute: 1_000_000, requestBurst: 3 },
    });
    await vi.advanceTimersByTimeAsync(120_000);
    let immediate = 0;
    for (let i = 0; i < 10; i++) {
      try {
        await limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 });
        immediate += 1;
      } catch {
        break;
      }
    }
    expect(immediate).toBe(3);
  });

  it.each([1, 2, 3, 7, 30])(
    'rpm %i: callers arriving in clumps between idle spells for half an hour never get more than rpm calls out in any 60 s',
    async (rpm) => {
      const limiter = new MemoryRateLimiter({
        key: 'p',
        settings: { requestsPerMinute: rpm, tokensPerMinute: 1_000_000_000 },
      });
      let seed = rpm;
      const random = () => {
        seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const wentAt: number[] = [];
      const calls: Promise<void>[] = [];
      const end = Date.now() + 30 * 60_000;
      while (Date.now() < end) {
        const clump = 1 + Math.floor(random() * 4);
        for (let i = 0; i < clump; i++) {
          calls.push(
            limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 3_600_000 }).then(() => {
              wentAt.push(Date.now());
            }),
          );
        }
        // Up to six minimal intervals: demand is sometimes above the quota, sometimes idle.
        await vi.advanceTimersByTimeAsync(Math.floor((random() * 6 * 60_000) / rpm));
      }
      await settle(Promise.all(calls));
      expect(wentAt.length).toBe(calls.length);
      const sorted = [...wentAt].sort((a, b) => a - b);
      let most = 0;
      for (let i = 0, j = 0; i < sorted.length; i++) {
        while (j < sorted.length && sorted[j]! <= sorted[i]! + 60_000) j++;
        most = Math.max(most, j - i);
      }
      expect(most).toBeLessThanOrEqual(rpm);
    },
  );

  it('an abort while waiting gives the reserved tokens back', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'p',
      // 60 s / (6,100 - 100) = 10 ms a token: 100 tokens take a second to come back.
      settings: { requestsPerMinute: 1_000_000, tokensPerMinute: 6_100, tokenBurst: 100 },
    });
    await limiter.acquire({ requests: 1, tokens: 100 }, { maxWaitMs: 0 });
    const controller = new AbortController();
    const waiting = limiter
      .acquire({ requests: 1, tokens: 100 }, { maxWaitMs: 10_000, signal: controller.signal })
      .catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await waiting;
    // Only the first reservation is still held: 100 tokens come back within a second of it.
    await vi.advanceTimersByTimeAsync(990);
    await limiter.acquire({ requests: 1, tokens: 100 }, { maxWaitMs: 0 });
  });
});
