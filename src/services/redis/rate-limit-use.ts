/**
 * How much of a provider's shared rate budget is in use, read from the GCRA state the Redis limiter keeps
 * (`rate-limiter.ts`: a hash with `rtat`, `ttat`, `penalty` in microseconds on the
 * server's clock). Each budget's theoretical arrival time (TAT) runs ahead of now by the interval of every
 * request (or token) still counted against the budget, so `(TAT - now) / interval` is that count, and a
 * new request waits once it passes the burst.
 */
import type { Redis } from 'ioredis';
import { gcraParams, rateLimitSettingsFor } from '../../resilience/gcra.js';
import { RedisRateLimiter } from './rate-limiter.js';

export interface BudgetUse {
  perMinute: number;
  /** Requests (or tokens) still counted against the budget. */
  inUse: number;
  /** What may go back to back from an idle budget (the burst in effect, after `gcraParams` caps it). */
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
  tatUs: number,
  nowUs: number,
  intervalUs: number,
  toleranceUs: number,
  burst: number,
  perMinute: number,
): BudgetUse {
  const aheadUs = Math.max(0, tatUs - nowUs);
  return {
    perMinute,
    inUse: aheadUs / intervalUs,
    burst,
    // One more unit is admitted once TAT - now <= tolerance - interval (see `earliest` in gcra.ts).
    waitMs: Math.max(0, aheadUs - Math.max(0, toleranceUs - intervalUs)) / US_PER_MS,
  };
}

/** The budget use of one provider on the Redis limiter state shared by every daemon. */
export async function readRateLimitUse(
  redis: Redis,
  keyPrefix: string,
  provider: { name: string; rpm: number; tpm: number },
): Promise<RateLimitUse> {
  const settings = rateLimitSettingsFor(provider);
  const params = gcraParams(settings);
  // The limiter names its own key; building one (no I/O) keeps this reader on the same key for sure.
  const { redisKey } = new RedisRateLimiter(redis, { key: provider.name, keyPrefix, settings });
  const [[seconds, micros], values] = await Promise.all([
    redis.time(),
    redis.hmget(redisKey, 'rtat', 'ttat', 'penalty'),
  ]);
  const nowUs = Number(seconds) * 1_000_000 + Number(micros);
  const [rtat, ttat, penalty] = values.map((v) => (v === null ? 0 : Number(v))) as [number, number, number];
  return {
    requests: budget(
      rtat,
      nowUs,
      params.requestIntervalUs,
      params.requestToleranceUs,
      params.requestBurst,
      settings.requestsPerMinute,
    ),
    tokens: budget(
      ttat,
      nowUs,
      params.tokenIntervalUs,
      params.tokenToleranceUs,
      params.tokenBurst,
      settings.tokensPerMinute,
    ),
    penaltyMs: Math.max(0, penalty - nowUs) / US_PER_MS,
  };
}
