import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ChimeraError, CircuitOpenError, ProviderError, RateLimitWaitError } from '../../src/errors.js';
import {
  backoffDelay,
  type GiveUpEvent,
  type RetryEvent,
  type RetryPolicy,
  retryPolicyFromConfig,
  withRetry,
} from '../../src/resilience/retry.js';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxTotalDelayMs: 10_000 };

const overloaded = (retryAfterMs?: number) =>
  new ProviderError('overloaded', 'overloaded', { provider: 'p', status: 529, retryAfterMs });
const quota = () => new ProviderError('quota_exhausted', 'spend limit', { provider: 'p', status: 429 });

/** An operation that fails with `errors` in turn, then returns 'ok'. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const operation = vi.fn(async (attempt: number) => {
    calls.push(Date.now());
    const error = errors[attempt - 1];
    if (error !== undefined) throw error;
    return 'ok';
  });
  return { operation, calls };
}

/** Settles `promise` while running fake timers, keeping its rejection observed. */
async function drive<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const outcome = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return outcome;
}

describe('backoff', () => {
  it('is full jitter under an exponential ceiling capped at maxDelayMs', () => {
    const top = () => 0.999_999;
    expect(backoffDelay(policy, 0, top)).toBe(99);
    expect(backoffDelay(policy, 1, top)).toBe(199);
    expect(backoffDelay(policy, 3, top)).toBe(799);
    expect(backoffDelay(policy, 9, top)).toBe(999);
    expect(backoffDelay(policy, 2, () => 0)).toBe(0);
    expect(backoffDelay(policy, 2, () => 0.5)).toBe(200);
  });

  it('is never shorter than the retry-after the provider asked for', () => {
    expect(backoffDelay(policy, 0, () => 0, overloaded(2_500))).toBe(2_500);
    expect(backoffDelay(policy, 3, () => 0.999, overloaded(5))).toBe(799);
  });

  it('the service policy comes from the resilience config', () => {
    const config = loadConfig({ RETRY_MAX_ATTEMPTS: '6', RETRY_BASE_DELAY_MS: '250' });
    expect(retryPolicyFromConfig(config.resilience)).toEqual({
      maxAttempts: 6,
      baseDelayMs: 250,
      maxDelayMs: 30_000,
      maxTotalDelayMs: 120_000,
    });
  });
});

describe('withRetry', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns the value and the attempts it took', async () => {
    const { operation } = failing(overloaded(), overloaded());
    const { value } = await drive(withRetry(operation, policy, { random: () => 0.5 }));
    expect(value).toEqual({ value: 'ok', attempts: 3, totalDelayMs: 50 + 100 });
  });

  it('waits the jittered backoff between attempts', async () => {
    const { operation, calls } = failing(overloaded(), overloaded(), overloaded());
    await drive(withRetry(operation, policy, { random: () => 0.5 }));
    expect(calls).toEqual([0, 50, 150, 350]);
  });

  it('does not retry earlier than the retry-after of the error', async () => {
    const { operation, calls } = failing(overloaded(3_000));
    await drive(withRetry(operation, policy, { random: () => 0 }));
    expect(calls).toEqual([0, 3_000]);
  });

  it('never retries a non-retryable error', async () => {
    const { operation } = failing(quota());
    const { error } = await drive(withRetry(operation, policy));
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).code).toBe('quota_exhausted');
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('never retries something that is not a ChimeraError', async () => {
    const { operation } = failing(new TypeError('a bug'));
    const { error } = await drive(withRetry(operation, policy));
    expect(error).toBeInstanceOf(TypeError);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('gives up after maxAttempts with the last error as it was', async () => {
    const last = overloaded();
    const { operation } = failing(overloaded(), overloaded(), overloaded(), last, overloaded());
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const { error } = await drive(withRetry(operation, policy, { onGiveUp }));
    expect(error).toBe(last);
    expect(operation).toHaveBeenCalledTimes(4);
    expect(onGiveUp).toHaveBeenCalledWith({ attempts: 4, reason: 'max_attempts', error: last });
  });

  it('stops when the next wait would exceed the total delay budget', async () => {
    const { operation, calls } = failing(overloaded(4_000), overloaded(4_000), overloaded(4_000));
    const onGiveUp = vi.fn<(event: GiveUpEvent) => void>();
    const { error } = await drive(withRetry(operation, { ...policy, maxTotalDelayMs: 9_000 }, { onGiveUp }));
    expect(error).toBeInstanceOf(ProviderError);
    expect(calls).toEqual([0, 4_000, 8_000]);
    expect(onGiveUp.mock.calls[0]![0].reason).toBe('delay_budget');
  });

  it('reports each retry to onRetry before waiting', async () => {
    const first = overloaded();
    const { operation } = failing(first, overloaded());
    const events: RetryEvent[] = [];
    await drive(withRetry(operation, policy, { random: () => 0.5, onRetry: (e) => events.push(e) }));
    expect(events.map(({ attempt, delayMs, totalDelayMs }) => ({ attempt, delayMs, totalDelayMs }))).toEqual([
      { attempt: 1, delayMs: 50, totalDelayMs: 50 },
      { attempt: 2, delayMs: 100, totalDelayMs: 150 },
    ]);
    expect(events[0]!.error).toBe(first);
  });

  it('an abort during the backoff rejects with the abort reason and makes no further attempt', async () => {
    const controller = new AbortController();
    const { operation } = failing(overloaded(5_000));
    const outcome = withRetry(operation, policy, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    controller.abort(new ChimeraError('closed', 'shutting down'));
    await vi.runAllTimersAsync();
    const error = await outcome;
    expect((error as ChimeraError).code).toBe('closed');
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('an already aborted signal makes no attempt at all', async () => {
    const { operation } = failing();
    const { error } = await drive(withRetry(operation, policy, { signal: AbortSignal.abort() }));
    expect((error as Error).name).toBe('AbortError');
    expect(operation).not.toHaveBeenCalled();
  });

  it('an open breaker or an exhausted rate-limit wait is handed back at once: they say they are not retryable', async () => {
    for (const refusal of [
      new CircuitOpenError('gemini', Date.now() + 30_000),
      new RateLimitWaitError('gemini', 200_000, 120_000),
    ]) {
      const { operation } = failing(refusal);
      const { error } = await drive(withRetry(operation, policy));
      expect(error).toBe(refusal);
      expect(operation).toHaveBeenCalledTimes(1);
    }
  });
});
