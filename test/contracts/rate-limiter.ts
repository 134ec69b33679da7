import { describe, expect, it } from 'vitest';
import { type ChimeraError, isChimeraError } from '../../src/errors.js';
import type { RateLimitSettings } from '../../src/resilience/gcra.js';
import type { RateLimiter, RateLimitPermit } from '../../src/services/ports.js';

/** What a contract run needs from an adapter under test. */
export interface RateLimiterHarness {
  /** A limiter on `key`; limiters created on the same key share one budget. */
  create(key: string, settings: RateLimitSettings): RateLimiter;
  /** Awaits `promise` while time passes for it: fake timers run in memory, real time for Redis. */
  settle<T>(promise: Promise<T>): Promise<T>;
  /** Lets `ms` pass. */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Slack for adapters on real time: between two calls a few milliseconds pass on the server, so a wait can
 * be that much shorter than the ideal spacing. Only lower bounds on waits are asserted, never upper ones.
 */
const SLACK_MS = 25;

/** Budgets generous enough that the other dimension never binds. */
const MANY = 1_000_000_000;

async function rejection(promise: Promise<unknown>): Promise<ChimeraError> {
  try {
    await promise;
  } catch (error) {
    if (isChimeraError(error)) return error;
    throw error;
  }
  throw new Error('expected the call to reject');
}

let counter = 0;
const uniqueKey = (label: string) =>
  `contract-${label}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;

/** The behaviour every `RateLimiter` adapter must share. */
export function rateLimiterContract(name: string, makeHarness: () => Promise<RateLimiterHarness>): void {
  async function withHarness(run: (h: RateLimiterHarness) => Promise<void>): Promise<void> {
    const harness = await makeHarness();
    try {
      await run(harness);
    } finally {
      await harness.cleanup();
    }
  }

  const one = (tokens = 1) => ({ requests: 1, tokens });
  const now = { maxWaitMs: 0 };

  describe(`RateLimiter contract: ${name}`, () => {
    it('a fresh budget grants its burst at once, then spaces requests by 60000 / rpm', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('burst'), {
          requestsPerMinute: 600,
          tokensPerMinute: MANY,
          requestBurst: 2,
        });
        const first = await h.settle(limiter.acquire(one(), now));
        const second = await h.settle(limiter.acquire(one(), now));
        expect(first.waitedMs).toBe(0);
        expect(second.waitedMs).toBe(0);
        expect((await rejection(h.settle(limiter.acquire(one(), now)))).code).toBe(
          'rate_limit_wait_exceeded',
        );
        const third = await h.settle(limiter.acquire(one(), { maxWaitMs: 1_000 }));
        expect(third.waitedMs).toBeGreaterThanOrEqual(100 - SLACK_MS);
      }));

    it('a wait longer than maxWaitMs is refused with a retryable RateLimitWaitError and reserves nothing', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('refuse'), {
          requestsPerMinute: 600,
          tokensPerMinute: MANY,
          requestBurst: 1,
        });
        await h.settle(limiter.acquire(one(), now));
        const error = await rejection(h.settle(limiter.acquire(one(), { maxWaitMs: 50 })));
        expect(error.code).toBe('rate_limit_wait_exceeded');
        expect(error.retryable).toBe(true);
        // Had the refused call reserved its slot, this one would need 200 ms.
        const next = await h.settle(limiter.acquire(one(), { maxWaitMs: 150 }));
        expect(next.waitedMs).toBeGreaterThanOrEqual(100 - SLACK_MS);
      }));

    it('the token budget limits on its own', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('tokens'), {
          requestsPerMinute: MANY,
          tokensPerMinute: 60_000, // one token per millisecond
          tokenBurst: 100,
        });
        await h.settle(limiter.acquire(one(100), now));
        expect((await rejection(h.settle(limiter.acquire(one(50), now)))).code).toBe(
          'rate_limit_wait_exceeded',
        );
        const permit = await h.settle(limiter.acquire(one(50), { maxWaitMs: 1_000 }));
        expect(permit.waitedMs).toBeGreaterThanOrEqual(50 - SLACK_MS);
      }));

    it('a request dearer than the whole token burst goes through on a full budget and then holds others off', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('dear'), {
          requestsPerMinute: MANY,
          tokensPerMinute: 6_000,
          tokenBurst: 100,
        });
        await h.settle(limiter.acquire(one(500), now));
        expect((await rejection(h.settle(limiter.acquire(one(1), { maxWaitMs: 1_000 })))).code).toBe(
          'rate_limit_wait_exceeded',
        );
      }));

    it('settling with less than reserved refunds the difference', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('refund'), {
          requestsPerMinute: MANY,
          tokensPerMinute: 6_000, // 100 tokens take a second to come back
          tokenBurst: 100,
        });
        const permit = await h.settle(limiter.acquire(one(100), now));
        await permit.settle(0);
        await h.settle(limiter.acquire(one(100), now));
      }));

    it('settling with more than reserved charges the difference', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('charge'), {
          requestsPerMinute: MANY,
          tokensPerMinute: 6_000,
          tokenBurst: 100,
        });
        const permit = await h.settle(limiter.acquire(one(10), now));
        await h.settle(limiter.acquire(one(10), now)); // still room before the extra charge
        await permit.settle(100);
        expect((await rejection(h.settle(limiter.acquire(one(10), now)))).code).toBe(
          'rate_limit_wait_exceeded',
        );
      }));

    it('only the first settle of a permit counts', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('settle-once'), {
          requestsPerMinute: MANY,
          tokensPerMinute: 6_000,
          tokenBurst: 100,
        });
        const permit: RateLimitPermit = await h.settle(limiter.acquire(one(50), now));
        await permit.settle(50);
        await permit.settle(5_000);
        await h.settle(limiter.acquire(one(50), now));
      }));

    it('limiters on the same key share one budget; another key has its own', () =>
      withHarness(async (h) => {
        const key = uniqueKey('shared');
        const settings = { requestsPerMinute: 60, tokensPerMinute: MANY, requestBurst: 1 };
        const a = h.create(key, settings);
        const b = h.create(key, settings);
        const other = h.create(uniqueKey('other'), settings);
        await h.settle(a.acquire(one(), now));
        expect((await rejection(h.settle(b.acquire(one(), now)))).code).toBe('rate_limit_wait_exceeded');
        await h.settle(other.acquire(one(), now));
      }));

    it('penalize holds off every limiter on the key for that long', () =>
      withHarness(async (h) => {
        const key = uniqueKey('penalty');
        const settings = { requestsPerMinute: MANY, tokensPerMinute: MANY };
        const a = h.create(key, settings);
        const b = h.create(key, settings);
        await a.penalize(300);
        expect((await rejection(h.settle(b.acquire(one(), now)))).code).toBe('rate_limit_wait_exceeded');
        const permit = await h.settle(b.acquire(one(), { maxWaitMs: 2_000 }));
        expect(permit.waitedMs).toBeGreaterThanOrEqual(300 - SLACK_MS);
      }));

    it('a shorter penalty never shortens a longer one', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('penalty-max'), {
          requestsPerMinute: MANY,
          tokensPerMinute: MANY,
        });
        await limiter.penalize(5_000);
        await limiter.penalize(10);
        expect((await rejection(h.settle(limiter.acquire(one(), { maxWaitMs: 1_000 })))).code).toBe(
          'rate_limit_wait_exceeded',
        );
      }));

    it('a penalty imposed while a caller waits for its slot moves that caller past the penalty', () =>
      withHarness(async (h) => {
        const key = uniqueKey('penalty-waiting');
        const settings = { requestsPerMinute: 600, tokensPerMinute: MANY, requestBurst: 1 };
        const limiter = h.create(key, settings);
        await h.settle(limiter.acquire(one(), now));
        const waiting = limiter.acquire(one(), { maxWaitMs: 2_000 });
        await h.advance(20); // the waiter holds a slot about 80 ms ahead
        await h.create(key, settings).penalize(300);
        const permit = await h.settle(waiting);
        expect(permit.waitedMs).toBeGreaterThanOrEqual(20 + 300 - SLACK_MS);
      }));

    it('an abort while waiting rejects with the abort reason', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('abort'), {
          requestsPerMinute: 60,
          tokensPerMinute: MANY,
          requestBurst: 1,
        });
        await h.settle(limiter.acquire(one(), now));
        const controller = new AbortController();
        const waiting = limiter.acquire(one(), { maxWaitMs: 5_000, signal: controller.signal });
        await h.advance(10);
        controller.abort(new Error('stop'));
        await expect(h.settle(waiting)).rejects.toThrow('stop');
      }));
  });
}
