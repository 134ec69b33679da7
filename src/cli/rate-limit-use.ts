/**
 * How much of a provider's shared rate budget is in use, read from the GCRA state the Redis limiter keeps
 * (`src/services/redis/rate-limiter.ts`: a hash with `rtat`, `ttat`, `penalty` in microseconds on the
 * server's clock). Each budget's theoretical arrival time (TAT) runs ahead of now by the interval of every
 * request (or token) still counted against the budget, so `(TAT - now) / interval` is that count, and a
 * new request waits once it passes the burst.
 */
import type { Redis } from 'ioredis';
import type { ProviderConfig } from '../config.js';
import { gcraParams, rateLimitSettingsFor } from '../resilience/gcra.js';
import { RedisRateLimiter } from '../services/redis/rate-limiter.js';

export interface BudgetUse {
  perMinute: number;
  /** Requests (or tokens) still counted against the budget. */
  inUse: number;
  /** What may go back to back from an idle budget. */
  burst: number;
  /** How long one more request would wait now (0 when it would go at once). */
  waitMs: number;
}

export interface RateLimitUse {
  requests: BudgetUse;
  tokens: BudgetUse;
  /** Time left of a hold after a 429 (nothing is granted before it ends). */
  penaltyMs: number;
}

const US_PER_MS = 1000;

function budget(
  tatMs: number,
  nowMs: number,
  intervalMs: number,
  toleranceMs: number,
  perMinute: number,
): BudgetUse {
  const ahead = Math.max(0, tatMs - nowMs);
  return {
    perMinute,
    inUse: ahead / intervalMs,
    burst: toleranceMs / intervalMs,
    // One more unit is admitted once TAT - now <= tolerance - interval (see `earliest` in gcra.ts).
    waitMs: Math.max(0, ahead - Math.max(0, toleranceMs - intervalMs)),
  };
}

/** The budget use of one provider on the Redis limiter state shared by every daemon. */
export async function readRateLimitUse(
  redis: Redis,
  keyPrefix: string,
  provider: Pick<ProviderConfig, 'name' | 'rpm' | 'tpm'>,
): Promise<RateLimitUse> {
  const settings = rateLimitSettingsFor(provider);
  const params = gcraParams(settings);
  // The limiter names its own key; building one (no I/O) keeps this reader on the same key for sure.
  const { redisKey } = new RedisRateLimiter(redis, { key: provider.name, keyPrefix, settings });
  const [[seconds, micros], values] = await Promise.all([
    redis.time(),
    redis.hmget(redisKey, 'rtat', 'ttat', 'penalty'),
  ]);
  const nowMs = (Number(seconds) * 1_000_000 + Number(micros)) / US_PER_MS;
  const [rtat, ttat, penalty] = values.map((v) => (v === null ? 0 : Number(v) / US_PER_MS)) as [
    number,
    number,
    number,
  ];
  return {
    requests: budget(
      rtat,
      nowMs,
      params.requestIntervalMs,
      params.requestToleranceMs,
      settings.requestsPerMinute,
    ),
    tokens: budget(ttat, nowMs, params.tokenIntervalMs, params.tokenToleranceMs, settings.tokensPerMinute),
    penaltyMs: Math.max(0, penalty - nowMs),
  };
}
