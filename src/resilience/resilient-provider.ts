import { DEFAULTS } from '../defaults.js';
import { isChimeraError, isCircuitOpenError, type ProviderErrorCode } from '../errors.js';
import type { Usage } from '../events.js';
import type { Logger } from '../logger.js';
import { BREAKER_STATE_VALUE, type ProviderMetrics } from '../metrics.js';
import {
  type Clock,
  type GenerateRequest,
  type GenerateResult,
  type LlmProvider,
  type RateLimiter,
  type RateLimitPermit,
  systemClock,
} from '../services/ports.js';
import type { CallTicket, ProviderBreaker } from './provider-breaker.js';
import { type RetryPolicy, retryAfterOf, withRetry } from './retry.js';
import { abortReason, type Sleep, sleep as timerSleep } from './sleep.js';

/** Hold-off imposed on every limiter of the provider after a 429 that named no retry-after. */
export const DEFAULT_PENALTY_MS = 2_000; // providers that omit retry-after usually recover within seconds

/**
 * Errors after which the provider generated nothing, so the reserved tokens go back to the budget. After
 * a timeout or a malformed answer the provider may well have spent them, and the reservation stands.
 */
const NOTHING_GENERATED: ReadonlySet<string> = new Set<ProviderErrorCode>([
  'rate_limited',
  'overloaded',
  'auth',
  'invalid_request',
  'quota_exhausted',
]);

export interface ResilienceDeps {
  limiter: RateLimiter;
  breaker: ProviderBreaker;
  retry: RetryPolicy;
  metrics: ProviderMetrics;
  logger: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** Longest wait for a rate-limit slot per attempt. @default DEFAULTS.RATE_LIMIT_MAX_WAIT_SECONDS (120 s) */
  maxWaitMs?: number;
  /** Hold-off after a 429 without retry-after. @default 2000 */
  defaultPenaltyMs?: number;
  /** Backoff jitter source. @default Math.random */
  random?: () => number;
  /** Backoff wait. @default a `setTimeout` wait */
  sleep?: Sleep;
}

/** A result with the number of calls it took, retries included (a turn records it). */
export type ResilientResult = GenerateResult & { attempts: number };

export interface ResilientProvider extends LlmProvider {
  generate(request: GenerateRequest): Promise<ResilientResult>;
}

/** Tokens to reserve before a call: the prompt at about four characters a token, plus the whole output budget. */
export function estimateTokens(request: GenerateRequest): number {
  const chars = request.messages.reduce(
    (sum, message) => sum + message.content.length,
    request.system.length,
  );
  return Math.ceil(chars / 4) + request.maxTokens;
}

/** Everything the provider processed, cached prompt included: what most providers count against TPM. */
function usedTokens(usage: Usage): number {
  return (
    usage.inputTokens + usage.outputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0)
  );
}

function outcomeOf(error: unknown, signal: AbortSignal | undefined): string {
  if (signal?.aborted) return 'aborted';
  return isChimeraError(error) ? error.code : 'unknown_error';
}

/**
 * Wraps a provider with what every model call needs: a rate-limit slot (requests and tokens), the
 * breaker's verdict, the call, its outcome back to the breaker (only retryable failures count) and the
 * token budget (settled with actual usage), a hold-off for every daemon after a 429, retries with
 * backoff, and metrics for all of it. The result says how many attempts it took.
 */
export function withResilience(provider: LlmProvider, deps: ResilienceDeps): ResilientProvider {
  const clock = deps.clock ?? systemClock;
  const maxWaitMs = deps.maxWaitMs ?? DEFAULTS.RATE_LIMIT_MAX_WAIT_SECONDS * 1000;
  const penaltyMs = deps.defaultPenaltyMs ?? DEFAULT_PENALTY_MS;
  const { limiter, breaker, metrics, logger } = deps;
  const labels = { provider: provider.name };

  metrics.breakerState.set(labels, BREAKER_STATE_VALUE[breaker.state]);
  breaker.subscribe((state) => {
    metrics.breakerState.set(labels, BREAKER_STATE_VALUE[state]);
    const log = state === 'open' ? logger.warn.bind(logger) : logger.info.bind(logger);
    log({ provider: provider.name, breaker: state }, `circuit breaker for ${provider.name} is ${state}`);
  });

  /**
   * Budget bookkeeping after a call must not hide the call's own outcome: a Redis hiccup while refunding
   * tokens is logged, and the answer (or the provider's error) goes back to the caller as it was.
   */
  async function bestEffort(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      logger.warn({ provider: provider.name, err: error }, `could not ${what} for ${provider.name}`);
    }
  }

  function recordUsage(usage: Usage): void {
    metrics.tokens.inc({ ...labels, kind: 'input' }, usage.inputTokens);
    metrics.tokens.inc({ ...labels, kind: 'output' }, usage.outputTokens);
    if (usage.cacheReadTokens) metrics.tokens.inc({ ...labels, kind: 'cache_read' }, usage.cacheReadTokens);
    if (usage.cacheWriteTokens)
      metrics.tokens.inc({ ...labels, kind: 'cache_write' }, usage.cacheWriteTokens);
  }

  async function attempt(request: GenerateRequest, reserved: number): Promise<GenerateResult> {
    let permit: RateLimitPermit;
    let ticket: CallTicket;
    try {
      // Fail fast before queueing for a slot; the probe slot is only taken once the call can go.
      breaker.admit({ claim: false });
      permit = await limiter.acquire(
        { requests: 1, tokens: reserved },
        { maxWaitMs, signal: request.signal },
      );
      metrics.rateLimitWait.observe(labels, permit.waitedMs / 1000);
    } catch (error) {
      metrics.requests.inc({ ...labels, outcome: outcomeOf(error, request.signal) });
      throw error;
    }
    try {
      ticket = breaker.admit();
    } catch (error) {
      await bestEffort('return unused tokens', () => permit.settle(0));
      metrics.requests.inc({ ...labels, outcome: outcomeOf(error, request.signal) });
      throw error;
    }

    const startedAt = clock.now();
    try {
      const result = await provider.generate(request);
      breaker.onSuccess(ticket);
      metrics.requests.inc({ ...labels, outcome: 'success' });
      metrics.latency.observe({ ...labels, outcome: 'success' }, (clock.now() - startedAt) / 1000);
      recordUsage(result.usage);
      await bestEffort('settle tokens', () => permit.settle(usedTokens(result.usage)));
      return result;
    } catch (error) {
      breaker.onFailure(error, ticket);
      const outcome = outcomeOf(error, request.signal);
      metrics.requests.inc({ ...labels, outcome });
      metrics.latency.observe({ ...labels, outcome }, (clock.now() - startedAt) / 1000);
      if (isChimeraError(error) && NOTHING_GENERATED.has(error.code)) {
        await bestEffort('return unused tokens', () => permit.settle(0));
      }
      if (isChimeraError(error) && error.code === 'rate_limited') {
        const retryAfterMs = retryAfterOf(error);
        await bestEffort('impose the rate-limit hold-off', () =>
          limiter.penalize(retryAfterMs > 0 ? retryAfterMs : penaltyMs),
        );
      }
      throw error;
    }
  }

  /**
   * Waits until the breaker may let a call through: its probe time when open, or its next state change
   * while another caller's probe is in flight (the probe's outcome closes or re-opens it).
   */
  async function breakerWait(retryAt: number, until: number, signal: AbortSignal | undefined) {
    const now = clock.now();
    const waitMs = retryAt > now ? retryAt - now : until - now;
    const changed = new AbortController();
    const unsubscribe = breaker.subscribe(() => changed.abort());
    const onAbort = () => changed.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await (deps.sleep ?? timerSleep)(waitMs, changed.signal);
    } catch (error) {
      // Woken early by a state change: go and look again. An abort of the call itself is passed on.
      if (!changed.signal.aborted) throw error;
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
    if (signal?.aborted) throw abortReason(signal);
  }

  /**
   * One attempt in the retry budget's sense: a call that reached the provider (or was refused for a
   * reason other than an open breaker). Time spent waiting out an open breaker, when the request allows
   * it, is not an attempt, so the breaker opening mid-call neither ends the call early nor hands it a
   * fresh budget each time it re-opens.
   */
  async function attemptPastBreaker(request: GenerateRequest, reserved: number): Promise<GenerateResult> {
    for (;;) {
      try {
        return await attempt(request, reserved);
      } catch (error) {
        const until = request.waitForBreakerUntil;
        if (
          until === undefined ||
          !isCircuitOpenError(error) ||
          error.retryAt >= until ||
          clock.now() >= until ||
          request.signal?.aborted
        ) {
          throw error;
        }
        await breakerWait(error.retryAt, until, request.signal);
      }
    }
  }

  return {
    name: provider.name,
    model: provider.model,
    start: () => provider.start(),
    healthCheck: () => provider.healthCheck(),
    async generate(request: GenerateRequest): Promise<ResilientResult> {
      const reserved = estimateTokens(request);
      const outcome = await withRetry(() => attemptPastBreaker(request, reserved), deps.retry, {
        signal: request.signal,
        random: deps.random,
        sleep: deps.sleep,
        onRetry: ({ attempt: failed, delayMs, error }) => {
          metrics.retries.inc({ ...labels, code: error.code });
          logger.warn(
            { provider: provider.name, attempt: failed, delayMs, code: error.code },
            `${provider.name} call failed with ${error.code}; retrying in ${delayMs}ms`,
          );
        },
      });
      return { ...outcome.value, attempts: outcome.attempts };
    },
  };
}
