import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RateLimitSettings } from '../../src/resilience/gcra.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisRateLimiter } from '../../src/services/redis/rate-limiter.js';
import { rateLimiterContract } from '../contracts/rate-limiter.js';
import { recordCommands } from '../support/redis-commands.js';

const prefix = `chimera-test-rl-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
const clients: Redis[] = [];

function connect(): Redis {
  const client = createRedis(inject('redisUrl'));
  clients.push(client);
  return client;
}

/** Deletes every key this file created (SCAN, never KEYS). */
async function deleteTestKeys(redis: Redis): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
}

let redis: Redis;

beforeAll(() => {
  redis = connect();
});

afterAll(async () => {
  await deleteTestKeys(redis);
  await Promise.all(clients.map((client) => client.quit()));
});

rateLimiterContract('redis', async () => {
  // A second connection per harness, as a second daemon would have.
  const other = connect();
  let created = 0;
  return {
    create: (key, settings) =>
      new RedisRateLimiter(created++ % 2 === 0 ? redis : other, { key, keyPrefix: prefix, settings }),
    settle: (promise) => promise,
    advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {},
  };
});

interface Grant {
  /** Server time of the slot (what the script decided). */
  serverAt: number;
  /** Local time the caller went ahead (what a provider would see). */
  localAt: number;
  tokens: number;
}

/**
 * Two limiters on separate connections (two daemons) share one key; `workers` callers each take slots
 * back to back until `durationMs` has passed. Returns every grant.
 */
async function hammer(
  key: string,
  settings: RateLimitSettings,
  tokensPerRequest: number,
  workers: number,
  durationMs: number,
): Promise<Grant[]> {
  const limiters = [redis, connect()].map(
    (client) => new RedisRateLimiter(client, { key, keyPrefix: prefix, settings }),
  );
  const grants: Grant[] = [];
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      const limiter = limiters[worker % limiters.length]!;
      while (Date.now() < end) {
        const permit = await limiter.acquire(
          { requests: 1, tokens: tokensPerRequest },
          { maxWaitMs: 10_000 },
        );
        grants.push({ serverAt: permit.grantedAt, localAt: Date.now(), tokens: tokensPerRequest });
      }
    }),
  );
  return grants;
}

/**
 * The largest excess over `ratePerMs * T + burst`, over every window [t_i, t_j] between two grants
 * (windows that start and end on a grant are the tightest, so this covers every window). The limiter's
 * rate is what is left of the quota once the burst is paid for: (perMinute - burst) / 60000 per ms.
 */
function worstExcess(
  grants: Grant[],
  at: (g: Grant) => number,
  weight: (g: Grant) => number,
  ratePerMs: number,
  burst: number,
): number {
  const sorted = [...grants].sort((a, b) => at(a) - at(b));
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length; j++) {
      sum += weight(sorted[j]!);
      const allowed = ratePerMs * (at(sorted[j]!) - at(sorted[i]!)) + burst;
      worst = Math.max(worst, sum - allowed);
    }
  }
  return worst;
}

describe('RedisRateLimiter on a real Redis', () => {
  it('two daemons sharing a provider never exceed (rpm - burst) * T / 60000 + burst in any window, and use most of it', async () => {
    const rpm = 600;
    const burst = 3;
    const grants = await hammer(
      `rpm-${Math.random().toString(36).slice(2)}`,
      { requestsPerMinute: rpm, tokensPerMinute: 1_000_000_000, requestBurst: burst },
      1,
      10,
      3_500,
    );
    const perMs = (rpm - burst) / 60_000;
    // The script's decisions, on the server clock: exact.
    expect(
      worstExcess(
        grants,
        (g) => g.serverAt,
        () => 1,
        perMs,
        burst,
      ),
    ).toBeLessThanOrEqual(1e-6);
    // What callers did: a timer that fires a little late can bunch two grants, never more.
    expect(
      worstExcess(
        grants,
        (g) => g.localAt,
        () => 1,
        perMs,
        burst,
      ),
    ).toBeLessThanOrEqual(1);

    const times = grants.map((g) => g.serverAt);
    const span = Math.max(...times) - Math.min(...times);
    const ceiling = perMs * span + burst;
    expect(grants.length).toBeGreaterThanOrEqual(0.9 * ceiling);
    expect(grants.length).toBeGreaterThanOrEqual(30);
  });

  it('when tokens are the tighter budget, tokens in any window stay within (tpm - token burst) * T / 60000 + token burst', async () => {
    const tpm = 60_000; // 1000 tokens a second
    const tokenBurst = 300;
    const grants = await hammer(
      `tpm-${Math.random().toString(36).slice(2)}`,
      { requestsPerMinute: 1_000_000, tokensPerMinute: tpm, tokenBurst },
      100,
      8,
      3_000,
    );
    const perMs = (tpm - tokenBurst) / 60_000;
    expect(
      worstExcess(
        grants,
        (g) => g.serverAt,
        (g) => g.tokens,
        perMs,
        tokenBurst,
      ),
    ).toBeLessThanOrEqual(1e-3);
    const times = grants.map((g) => g.serverAt);
    const span = Math.max(...times) - Math.min(...times);
    const tokens = grants.reduce((sum, g) => sum + g.tokens, 0);
    expect(tokens).toBeGreaterThanOrEqual(0.9 * (perMs * span + tokenBurst));
  });

  it('grants follow the Redis clock, not the callers’: a daemon with a clock an hour ahead shares the same budget', async () => {
    const key = `skew-${Math.random().toString(36).slice(2)}`;
    const settings = { requestsPerMinute: 60, tokensPerMinute: 1_000_000, requestBurst: 1 };
    const honest = new RedisRateLimiter(redis, { key, keyPrefix: prefix, settings });
    const skewed = new RedisRateLimiter(connect(), {
      key,
      keyPrefix: prefix,
      settings,
      clock: { now: () => Date.now() + 3_600_000 },
    });
    await honest.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 });
    await expect(skewed.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'rate_limit_wait_exceeded',
    });
  });

  it('settles issued beside an acquire ride in its one script call, and their refunds count for it', async () => {
    const client = connect();
    const sent = recordCommands(client);
    const limiter = new RedisRateLimiter(client, {
      key: `coalesce-${Math.random().toString(36).slice(2)}`,
      keyPrefix: prefix,
      settings: { requestsPerMinute: 1_000_000, tokensPerMinute: 6_000, tokenBurst: 100 },
    });
    const first = await limiter.acquire({ requests: 1, tokens: 50 }, { maxWaitMs: 0 });
    const second = await limiter.acquire({ requests: 1, tokens: 50 }, { maxWaitMs: 0 });
    sent.length = 0;
    // Both permits hand their 50 tokens back in the same turn of the event loop as the next acquire,
    // which fits only once both refunds are applied.
    const [, , third] = await Promise.all([
      first.settle(0),
      second.settle(0),
      limiter.acquire({ requests: 1, tokens: 100 }, { maxWaitMs: 0 }),
    ]);
    expect(third.waitedMs).toBe(0);
    expect(sent).toHaveLength(1);
    // Settles with no acquire beside them still go, summed into one call.
    sent.length = 0;
    const [fourth, fifth] = [
      await limiter.acquire({ requests: 1, tokens: 0 }, { maxWaitMs: 0 }),
      await limiter.acquire({ requests: 1, tokens: 0 }, { maxWaitMs: 0 }),
    ];
    sent.length = 0;
    await Promise.all([fourth.settle(50), fifth.settle(50)]);
    expect(sent).toHaveLength(1);
    await expect(limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 })).rejects.toMatchObject({
      code: 'rate_limit_wait_exceeded',
    });
  });

  it('the budget’s state is one hash that expires once the budget would be full again', async () => {
    const limiter = new RedisRateLimiter(redis, {
      key: `ttl-${Math.random().toString(36).slice(2)}`,
      keyPrefix: prefix,
      settings: { requestsPerMinute: 60, tokensPerMinute: 1_000_000 },
    });
    await limiter.acquire({ requests: 1, tokens: 1 }, { maxWaitMs: 0 });
    expect(limiter.redisKey).toMatch(new RegExp(`^${prefix}:ratelimit:\\{ttl-`));
    expect(await redis.type(limiter.redisKey)).toBe('hash');
    const ttl = await redis.pttl(limiter.redisKey);
    // A minute past the TAT, one interval ahead: 60 s / (60 - the burst of 3).
    expect(ttl).toBeGreaterThan(60_000);
    expect(ttl).toBeLessThanOrEqual(60_000 + Math.ceil(60_000 / 57));
  });
});
