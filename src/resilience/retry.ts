import { type ChimeraError, isChimeraError } from '../errors.js';
import { abortReason, type Sleep, sleep as timerSleep } from './sleep.js';

/**
 * Retries with exponential backoff and full jitter: the n-th retry waits a uniformly random time in
 * [0, min(maxDelayMs, baseDelayMs * 2^n)], never less than the provider's retry-after, and gives up when
 * the attempts or the total waiting budget run out. Full jitter spreads a fleet's retries evenly instead
 * of letting them hit a recovering provider in waves.
 */
export interface RetryPolicy {
  /** Calls in total, the first one included. @default 4 (config `RETRY_MAX_ATTEMPTS`) */
  maxAttempts: number;
  /** Ceiling of the first backoff; doubles per retry. @default 500 (config `RETRY_BASE_DELAY_MS`) */
  baseDelayMs: number;
  /** Cap of one backoff step. @default 30000 (config `RETRY_MAX_DELAY_SECONDS`) */
  maxDelayMs: number;
  /** Waiting across all retries of one call; a retry that would exceed it is not made. @default 120000 */
  maxTotalDelayMs: number;
}

/**
 * The resilience settings of the parsed config (`Config['resilience']`), declared here so that this
 * folder depends on no config module: the config's object fits it as it is.
 */
export interface ResilienceSettings {
  rateLimitMaxWaitMs: number;
  breakerFailureThreshold: number;
  breakerCooldownMs: number;
  retryMaxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  retryMaxTotalDelayMs: number;
}

/** The policy the service runs with, from the parsed config. */
export function retryPolicyFromConfig(resilience: ResilienceSettings): RetryPolicy {
  return {
    maxAttempts: resilience.retryMaxAttempts,
    baseDelayMs: resilience.retryBaseDelayMs,
    maxDelayMs: resilience.retryMaxDelayMs,
    maxTotalDelayMs: resilience.retryMaxTotalDelayMs,
  };
}

/** One retry about to be made. */
export interface RetryEvent {
  /** The attempt that just failed, 1-based. */
  attempt: number;
  /** How long the retry waits before attempt `attempt + 1`. */
  delayMs: number;
  /** Waiting so far across this call's retries, this delay included. */
  totalDelayMs: number;
  error: ChimeraError;
}

/** Why the last error was passed on instead of retried. */
export type GiveUpReason = 'not_retryable' | 'max_attempts' | 'delay_budget' | 'aborted';

export interface GiveUpEvent {
  attempts: number;
  reason: GiveUpReason;
  error: unknown;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** Uniform in [0, 1); tests pass a fixed sequence. @default Math.random */
  random?: () => number;
  /** @default a `setTimeout` wait (fake timers control it) */
  sleep?: Sleep;
  /** Called before each retry's wait: for metrics and logs. */
  onRetry?: (event: RetryEvent) => void;
  /** Called once when the last error is passed on. */
  onGiveUp?: (event: GiveUpEvent) => void;
}

export interface RetryOutcome<T> {
  value: T;
  /** Calls made, the successful one included (a turn records this). */
  attempts: number;
  /** Time spent waiting between attempts. */
  totalDelayMs: number;
}

/**
 * The one retry predicate: a `ChimeraError` that says it is `retryable`. Anything else (a bug, an abort, an
 * unknown SDK error, an open breaker, an exhausted rate-limit wait) is handed back as it is.
 */
export const isRetryable = (error: unknown): error is ChimeraError =>
  isChimeraError(error) && error.retryable;

/** The provider's own wait request, when the error carries one (`ProviderError.retryAfterMs`). */
export function retryAfterOf(error: unknown): number {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * The wait before retry number `retry` (0 for the first retry): full jitter under the exponential
 * ceiling, raised to the error's retry-after when the provider asked for longer.
 */
export function backoffDelay(
  policy: RetryPolicy,
  retry: number,
  random: () => number,
  error?: unknown,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, Math.ceil(retryAfterOf(error)));
}

/**
 * Runs `operation` until it succeeds or the policy gives up, then resolves with the value and the number
 * of attempts, or rejects with the last error as it was (never wrapped, so callers branch on its code).
 * @throws the signal's reason when aborted, before an attempt or during a wait.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  options: RetryOptions = {},
): Promise<RetryOutcome<T>> {
  const random = options.random ?? Math.random;
  const wait = options.sleep ?? timerSleep;
  const { signal } = options;
  let totalDelayMs = 0;

  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) {
      const reason = abortReason(signal);
      options.onGiveUp?.({ attempts: attempt - 1, reason: 'aborted', error: reason });
      throw reason;
    }
    try {
      const value = await operation(attempt);
      return { value, attempts: attempt, totalDelayMs };
    } catch (error) {
      const giveUp = (reason: GiveUpReason): never => {
        options.onGiveUp?.({ attempts: attempt, reason, error });
        throw error;
      };
      if (signal?.aborted) giveUp('aborted');
      if (!isRetryable(error)) return giveUp('not_retryable');
      if (attempt >= policy.maxAttempts) giveUp('max_attempts');
      const delayMs = backoffDelay(policy, attempt - 1, random, error);
      if (totalDelayMs + delayMs > policy.maxTotalDelayMs) giveUp('delay_budget');
      totalDelayMs += delayMs;
      options.onRetry?.({ attempt, delayMs, totalDelayMs, error });
      await wait(delayMs, signal);
    }
  }
}
