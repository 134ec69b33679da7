import { describe, expect, it } from 'vitest';
import { type ChimeraError, isChimeraError } from '../../src/errors.js';
import type { RateLimitSettings } from '../../src/resilience/gcra.js';
import type { GcraBackend } from '../../src/resilience/rate-limit-wait.js';
import type { RateLimiter, RateLimitPermit } from '../../src/services/ports.js';

/** What a contract run needs from an adapter under test. */
export interface RateLimiterHarness {
  /**
   * A limiter on `key`; limiters created on the same key share one budget. Its backend side (`reserve`)
   * lets a test take reservations far ahead without sleeping through them.
   */
  create(key: string, settings: RateLimitSettings): RateLimiter & GcraBackend;
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

const WINDOW_MS = 60_000;
const DAY_MS = 86_400_000;

/** One grant of a stream: its slot on the limiter's time base, and what it cost. */
interface Grant {
  at: number;
  tokens: number;
}

/**
 * Takes the next slot as a reservation (the caller would sleep until it and then go): a stream of these
 * keeps the budget saturated for as long as it runs, in no real time.
 */
async function reserveAhead(limiter: GcraBackend, tokens = 1): Promise<Grant> {
  const reservation = await limiter.reserve({ requests: 1, tokens, maxWaitMs: DAY_MS });
  if (!reservation.granted) throw new Error(`a slot ${reservation.waitMs} ms ahead was refused`);
  return { at: reservation.slotAt, tokens };
}

/**
 * Visits every window [grants[i].at, grants[j].at] no longer than `maxSpanMs`, with its grant count and
 * token sum. Windows that start and end on a grant are the fullest of their length, so this covers every
 * window, ends included.
 */
function eachWindow(
  grants: Grant[],
  maxSpanMs: number,
  visit: (window: { count: number; tokens: number; spanMs: number; last: Grant }) => void,
): void {
  const sorted = [...grants].sort((a, b) => a.at - b.at);
  for (let i = 0; i < sorted.length; i++) {
    let tokens = 0;
    for (let j = i; j < sorted.length && sorted[j]!.at - sorted[i]!.at <= maxSpanMs; j++) {
      tokens += sorted[j]!.tokens;
      visit({ count: j - i + 1, tokens, spanMs: sorted[j]!.at - sorted[i]!.at, last: sorted[j]! });
    }
  }
}

/**
 * The request burst `gcraParams` documents: 3 (or a millisecond's worth of requests, rpm / 60,000, when that
 * is more), capped at a tenth of rpm, never below 1.
 */
const expectedBurst = (rpm: number) =>
  Math.max(1, Math.min(Math.max(3, Math.ceil(rpm / 60_000)), Math.floor(rpm / 10)));

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
    it('a fresh budget grants its burst at once, then spaces requests by 60000 / (rpm - burst)', () =>
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
        expect(third.waitedMs).toBeGreaterThanOrEqual(60_000 / (600 - 2) - SLACK_MS);
      }));

    it.each([1, 2, 3, 5, 12, 25, 60, 600])(
      'rpm %i: a saturated stream gets at most rpm grants in any 60-second window, and rpm - burst a minute',
      (rpm) =>
        withHarness(async (h) => {
          const limiter = h.create(uniqueKey(`window-${rpm}`), {
            requestsPerMinute: rpm,
            tokensPerMinute: MANY,
          });
          const burst = expectedBurst(rpm);
          // With no room to pay for even a burst of one, 1 a minute goes every two minutes.
          const sustained = Math.max(rpm - burst, rpm / 2);
          const minutes = 6;
          const grants: Grant[] = [await reserveAhead(limiter)];
          while (grants.at(-1)!.at - grants[0]!.at < minutes * WINDOW_MS) {
            grants.push(await reserveAhead(limiter));
          }
          const start = grants[0]!.at;

          // Exactly the burst goes at once from a full budget (each at its call's own now), not burst + 1.
          expect(grants.filter((g) => g.at < start + WINDOW_MS / sustained / 2)).toHaveLength(burst);

          let most = 0;
          eachWindow(grants, WINDOW_MS, ({ count }) => {
            most = Math.max(most, count);
          });
          expect(most).toBeLessThanOrEqual(rpm);
          // rpm + 1 grants span (rpm + 1 - burst) intervals: a minute and a whole interval (rpm 1: two
          // minutes), slack for a call that reaches the provider a little late.
          for (let i = 0; i + rpm < grants.length; i++) {
            expect(grants[i + rpm]!.at - grants[i]!.at).toBeGreaterThanOrEqual(
              ((rpm + 1 - burst) * WINDOW_MS) / sustained - 0.001,
            );
          }

          // No under-use: every whole minute of the stream gets its share.
          for (let minute = 1; minute <= minutes; minute++) {
            const granted = grants.filter((g) => g.at < start + minute * WINDOW_MS).length;
            expect(granted).toBeGreaterThanOrEqual(Math.floor(minute * sustained));
          }
          let fewest = Number.POSITIVE_INFINITY;
          for (const first of grants) {
            if (first.at + WINDOW_MS > grants.at(-1)!.at) break;
            const inMinute = grants.filter((g) => g.at >= first.at && g.at < first.at + WINDOW_MS);
            fewest = Math.min(fewest, inMinute.length);
          }
          expect(fewest).toBeGreaterThanOrEqual(Math.floor(sustained));
        }),
    );

    it('idle spells and bursts in any mix: a window of T ms holds at most burst + T / (60000 / (rpm - burst)) grants', () =>
      withHarness(async (h) => {
        const rpm = 6_000; // a 10 ms interval, so idle spells long enough to refill the burst cost little real time
        const burst = expectedBurst(rpm);
        const intervalMs = WINDOW_MS / (rpm - burst);
        const limiter = h.create(uniqueKey('mix'), { requestsPerMinute: rpm, tokensPerMinute: MANY });
        const grants: Grant[] = [];
        for (let round = 0; round < 40; round++) {
          for (let k = 0; k <= round % 5; k++) grants.push(await reserveAhead(limiter));
          await h.advance([0, 3, 15, 90, 7][round % 5]!);
        }
        let worst = Number.NEGATIVE_INFINITY;
        eachWindow(grants, Number.POSITIVE_INFINITY, ({ count, spanMs }) => {
          worst = Math.max(worst, count - (burst + Math.floor(spanMs / intervalMs + 1e-9)));
        });
        expect(worst).toBeLessThanOrEqual(0);
        // The idle spells did refill the budget: after the first burst, others went at once.
        expect(grants.some((g, i) => i > burst && g.at - grants[i - 1]!.at < intervalMs / 2)).toBe(true);
      }));

    it.each([
      [1_000, 100],
      [60_000, 3_000],
    ])(
      'tpm %i (token burst %i): tokens in any 60-second window stay within tpm, but for one request dearer than the burst',
      (tpm, tokenBurst) =>
        withHarness(async (h) => {
          const limiter = h.create(uniqueKey(`tokens-${tpm}`), {
            requestsPerMinute: MANY,
            tokensPerMinute: tpm,
            tokenBurst,
          });
          const shares = [0.07, 0.99, 0.23, 0.64, 0.01, 0.5, 0.9, 0.3];
          const costs = shares.map((share) => Math.max(1, Math.round(share * tokenBurst)));
          const dearCost = 3 * tokenBurst;
          const minutes = 4;
          const grants: Grant[] = [];
          let dear: Grant | undefined;
          for (let i = 0; !grants.length || grants.at(-1)!.at - grants[0]!.at < minutes * WINDOW_MS; i++) {
            if (i === 40) {
              dear = await reserveAhead(limiter, dearCost);
              grants.push(dear);
            } else {
              grants.push(await reserveAhead(limiter, costs[i % costs.length]));
            }
          }
          expect(dear).toBeDefined();

          eachWindow(grants, WINDOW_MS, ({ tokens, last }) => {
            // A window the dear request ends may hold it on top of a minute's worth less the burst.
            expect(tokens).toBeLessThanOrEqual(last === dear ? tpm - tokenBurst + dearCost : tpm);
          });
          // No under-use: tpm - tokenBurst a minute, the dear request's wait included.
          const start = grants[0]!.at;
          const inMinutes = grants
            .filter((g) => g.at < start + minutes * WINDOW_MS)
            .reduce((sum, g) => sum + g.tokens, 0);
          expect(inMinutes).toBeGreaterThanOrEqual(minutes * (tpm - tokenBurst));
        }),
    );

    it('a wait longer than maxWaitMs is refused with a RateLimitWaitError (not retryable: the wait was as long as allowed) and reserves nothing', () =>
      withHarness(async (h) => {
        const limiter = h.create(uniqueKey('refuse'), {
          requestsPerMinute: 600,
          tokensPerMinute: MANY,
          requestBurst: 1,
        });
        await h.settle(limiter.acquire(one(), now));
        const error = await rejection(h.settle(limiter.acquire(one(), { maxWaitMs: 50 })));
        expect(error.code).toBe('rate_limit_wait_exceeded');
        expect(error.retryable).toBe(false);
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
