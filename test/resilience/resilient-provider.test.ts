import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ChimeraError,
  isChimeraError,
  ProviderError,
  type ProviderErrorCode,
} from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics, type ProviderMetrics } from '../../src/metrics.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';
import { estimateTokens, withResilience } from '../../src/resilience/resilient-provider.js';
import type { RetryPolicy } from '../../src/resilience/retry.js';
import { MemoryRateLimiter } from '../../src/services/memory/rate-limiter.js';
import type {
  GenerateRequest,
  GenerateResult,
  LlmProvider,
  RateLimiter,
  RateLimitPermit,
  RateLimitRequest,
} from '../../src/services/ports.js';

const T0 = 1_700_000_000_000;
const COOLDOWN = 30_000;
const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1_000, maxTotalDelayMs: 60_000 };

const request: GenerateRequest = {
  system: 'You are terse.', // 14 characters
  messages: [{ role: 'user', content: 'Tell me about tides.' }], // 20 characters
  maxTokens: 100,
  temperature: 0.5,
};

const ok = (): GenerateResult => ({
  text: 'Tides follow the moon.',
  model: 'm-1',
  stopReason: 'end_turn',
  usage: { inputTokens: 9, outputTokens: 6, cacheReadTokens: 4 },
  latencyMs: 0,
  requestId: 'req-1',
});

const failure = (code: ProviderErrorCode, retryAfterMs?: number) =>
  new ProviderError(code, `${code} from the test provider`, { provider: 'test', retryAfterMs });

/** A provider that plays a script of outcomes (an error to throw, or a result), then succeeds. */
class ScriptedProvider implements LlmProvider {
  readonly name = 'test';
  readonly model = 'm-1';
  readonly calls: number[] = [];
  constructor(public script: (ProviderError | 'ok')[] = []) {}
  async start() {}
  async healthCheck() {
    return { healthy: true, latencyMs: 0 };
  }
  async generate(): Promise<GenerateResult> {
    this.calls.push(Date.now() - T0);
    const next = this.script.shift() ?? 'ok';
    if (next !== 'ok') throw next;
    return ok();
  }
}

/** A limiter that grants everything and records what it was asked. */
class RecordingLimiter implements RateLimiter {
  readonly acquired: RateLimitRequest[] = [];
  readonly settled: number[] = [];
  readonly penalties: number[] = [];
  async acquire(req: RateLimitRequest): Promise<RateLimitPermit> {
    this.acquired.push(req);
    return { waitedMs: 0, settle: async (actual) => void this.settled.push(actual) };
  }
  async penalize(forMs: number) {
    this.penalties.push(forMs);
  }
}

/** Settles `promise` running fake timers one at a time, so later timers (a breaker's cool-down) stay pending. */
async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: ChimeraError }> {
  let done = false;
  const settled = promise
    .then(
      (value) => ({ value }),
      (error: unknown) => {
        if (isChimeraError(error)) return { error };
        throw error;
      },
    )
    .finally(() => {
      done = true;
    });
  for (let i = 0; i < 1_000; i++) {
    // A real macrotask lets every pending microtask run first: only then is "not done yet" true.
    await new Promise((resolve) => setImmediate(resolve));
    if (done) break;
    await vi.advanceTimersToNextTimerAsync();
  }
  return settled;
}

async function sampleValue(
  metric: { get(): Promise<{ values: { value: number; labels: object; metricName?: string }[] }> },
  labels: object,
  metricName?: string,
): Promise<number | undefined> {
  const { values } = await metric.get();
  return values.find(
    (v) =>
      (metricName === undefined || v.metricName === metricName) &&
      Object.entries(labels).every(([k, value]) => (v.labels as Record<string, unknown>)[k] === value),
  )?.value;
}

describe('withResilience', () => {
  let metrics: ProviderMetrics;
  let logLines: string[];

  beforeEach(() => {
    // setImmediate stays real: `outcome` uses it to drain microtasks between timers.
    vi.useFakeTimers({
      now: T0,
      toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
    });
    metrics = createMetrics(new Registry());
    logLines = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function wrap(
    provider: LlmProvider,
    options: { limiter?: RateLimiter; threshold?: number; retry?: Partial<RetryPolicy> } = {},
  ) {
    const breaker = new ProviderBreaker({
      name: provider.name,
      threshold: options.threshold ?? 3,
      cooldownMs: COOLDOWN,
    });
    const destination = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const limiter =
      options.limiter ??
      new MemoryRateLimiter({
        key: provider.name,
        settings: { requestsPerMinute: 6_000, tokensPerMinute: 10_000_000 },
      });
    const resilient = withResilience(provider, {
      limiter,
      breaker,
      retry: { ...policy, ...options.retry },
      metrics,
      logger: createLogger({ level: 'info', destination }),
      random: () => 0,
    });
    return { resilient, breaker, limiter };
  }

  it('returns the provider result and the attempts it took', async () => {
    const provider = new ScriptedProvider([failure('overloaded'), failure('server_error')]);
    const { resilient } = wrap(provider);
    const { value } = await outcome(resilient.generate(request));
    expect(value).toMatchObject({ text: 'Tides follow the moon.', attempts: 3 });
    expect(provider.calls).toHaveLength(3);
    expect(await sampleValue(metrics.retries, { provider: 'test', code: 'overloaded' })).toBe(1);
    expect(await sampleValue(metrics.retries, { provider: 'test', code: 'server_error' })).toBe(1);
    expect(await sampleValue(metrics.requests, { provider: 'test', outcome: 'success' })).toBe(1);
    expect(logLines.some((line) => line.includes('retrying'))).toBe(true);
  });

  it('honours retry-after: the retry is not made earlier than the provider asked', async () => {
    const provider = new ScriptedProvider([failure('rate_limited', 4_000)]);
    const { resilient } = wrap(provider);
    const { value } = await outcome(resilient.generate(request));
    expect(value?.attempts).toBe(2);
    expect(provider.calls).toEqual([0, 4_000]);
  });

  it('a 429 holds off every caller of the provider through the limiter, for its retry-after', async () => {
    const limiter = new RecordingLimiter();
    const provider = new ScriptedProvider([failure('rate_limited', 4_000)]);
    const { resilient } = wrap(provider, { limiter });
    await outcome(resilient.generate(request));
    expect(limiter.penalties).toEqual([4_000]);
  });

  it('a 429 without retry-after still imposes the default hold-off', async () => {
    const limiter = new RecordingLimiter();
    const { resilient } = wrap(new ScriptedProvider([failure('rate_limited')]), { limiter });
    await outcome(resilient.generate(request));
    expect(limiter.penalties).toEqual([2_000]);
  });

  it('a non-retryable error is not retried and does not count against the provider', async () => {
    const provider = new ScriptedProvider([failure('quota_exhausted')]);
    const { resilient, breaker } = wrap(provider, { threshold: 1 });
    const { error } = await outcome(resilient.generate(request));
    expect(error?.code).toBe('quota_exhausted');
    expect(provider.calls).toHaveLength(1);
    expect(breaker.state).toBe('closed');
    expect(await sampleValue(metrics.requests, { provider: 'test', outcome: 'quota_exhausted' })).toBe(1);
  });

  it('the breaker opens after the threshold of retryable failures; calls then fail fast without reaching the provider', async () => {
    const provider = new ScriptedProvider(Array.from({ length: 10 }, () => failure('overloaded')));
    const { resilient, breaker } = wrap(provider, { threshold: 3 });

    const first = await outcome(resilient.generate(request));
    expect(first.error?.code).toBe('circuit_open');
    expect(provider.calls).toHaveLength(3);
    expect(breaker.state).toBe('open');

    const second = await outcome(resilient.generate(request));
    expect(second.error?.code).toBe('circuit_open');
    expect(provider.calls).toHaveLength(3);
    expect(await sampleValue(metrics.breakerState, { provider: 'test' })).toBe(2);
    expect(await sampleValue(metrics.requests, { provider: 'test', outcome: 'circuit_open' })).toBe(2);
  });

  it('after the cool-down the breaker half-opens, and a good probe closes it', async () => {
    const provider = new ScriptedProvider([failure('overloaded'), failure('overloaded')]);
    const { resilient, breaker } = wrap(provider, { threshold: 2, retry: { maxAttempts: 2 } });
    await outcome(resilient.generate(request));
    expect(breaker.state).toBe('open');

    await vi.advanceTimersByTimeAsync(COOLDOWN);
    expect(breaker.state).toBe('halfOpen');
    expect(await sampleValue(metrics.breakerState, { provider: 'test' })).toBe(1);

    const { value } = await outcome(resilient.generate(request));
    expect(value?.attempts).toBe(1);
    expect(breaker.state).toBe('closed');
    expect(await sampleValue(metrics.breakerState, { provider: 'test' })).toBe(0);
  });

  it('a failed probe opens the breaker again and the call fails fast on its retry', async () => {
    const provider = new ScriptedProvider([failure('overloaded'), failure('overloaded'), failure('timeout')]);
    const { resilient, breaker } = wrap(provider, { threshold: 2, retry: { maxAttempts: 2 } });
    await outcome(resilient.generate(request));
    await vi.advanceTimersByTimeAsync(COOLDOWN);
    const { error } = await outcome(resilient.generate(request));
    expect(error?.code).toBe('circuit_open');
    expect(provider.calls).toHaveLength(3);
    expect(breaker.state).toBe('open');
  });

  it('reserves the estimated tokens and settles them with the actual usage', async () => {
    const limiter = new RecordingLimiter();
    const { resilient } = wrap(new ScriptedProvider(), { limiter });
    await outcome(resilient.generate(request));
    expect(estimateTokens(request)).toBe(Math.ceil(34 / 4) + 100);
    expect(limiter.acquired).toEqual([{ requests: 1, tokens: 109 }]);
    expect(limiter.settled).toEqual([9 + 6 + 4]);
    expect(await sampleValue(metrics.tokens, { provider: 'test', kind: 'input' })).toBe(9);
    expect(await sampleValue(metrics.tokens, { provider: 'test', kind: 'output' })).toBe(6);
    expect(await sampleValue(metrics.tokens, { provider: 'test', kind: 'cache_read' })).toBe(4);
  });

  it('a call refused before generating gives its tokens back; a timed-out one keeps them reserved', async () => {
    const limiter = new RecordingLimiter();
    const { resilient } = wrap(new ScriptedProvider([failure('overloaded'), failure('timeout')]), {
      limiter,
    });
    await outcome(resilient.generate(request));
    expect(limiter.acquired).toHaveLength(3);
    // overloaded: refunded; timeout: kept (no settle); success: actual usage.
    expect(limiter.settled).toEqual([0, 19]);
  });

  it('time spent waiting for a rate-limit slot is recorded', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'test',
      // One second apart: 60 s / (61 - the burst of 1).
      settings: { requestsPerMinute: 61, tokensPerMinute: 10_000_000, requestBurst: 1 },
    });
    const { resilient } = wrap(new ScriptedProvider(), { limiter });
    await outcome(resilient.generate(request));
    await outcome(resilient.generate(request));
    expect(
      await sampleValue(
        metrics.rateLimitWait,
        { provider: 'test' },
        'chimera_provider_rate_limit_wait_seconds_count',
      ),
    ).toBe(2);
    expect(
      await sampleValue(
        metrics.rateLimitWait,
        { provider: 'test' },
        'chimera_provider_rate_limit_wait_seconds_sum',
      ),
    ).toBe(1);
  });

  it('a rate-limit wait beyond the allowance fails the call without retrying it', async () => {
    const limiter = new MemoryRateLimiter({
      key: 'test',
      settings: { requestsPerMinute: 1, tokensPerMinute: 10_000_000, requestBurst: 1 },
    });
    const provider = new ScriptedProvider();
    const breaker = new ProviderBreaker({ name: 'test' });
    const resilient = withResilience(provider, {
      limiter,
      breaker,
      retry: policy,
      metrics,
      logger: createLogger({ level: 'silent' }),
      maxWaitMs: 1_000,
    });
    await outcome(resilient.generate(request));
    const { error } = await outcome(resilient.generate(request));
    expect(error?.code).toBe('rate_limit_wait_exceeded');
    expect(provider.calls).toHaveLength(1);
  });

  it('an abort during the backoff stops the retries', async () => {
    const provider = new ScriptedProvider([failure('overloaded', 10_000)]);
    const { resilient, breaker } = wrap(provider);
    const controller = new AbortController();
    const pending = resilient.generate({ ...request, signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    controller.abort(new Error('conversation cancelled'));
    expect(await pending).toMatchObject({ message: 'conversation cancelled' });
    expect(provider.calls).toHaveLength(1);
    expect(breaker.state).toBe('closed');
  });

  it('a probe aborted by its caller frees the half-open slot for the next caller', async () => {
    const provider = new ScriptedProvider([failure('overloaded')]);
    const { resilient, breaker } = wrap(provider, { threshold: 1, retry: { maxAttempts: 1 } });
    await outcome(resilient.generate(request));
    await vi.advanceTimersByTimeAsync(COOLDOWN);
    // The probe hangs until its caller gives up on it.
    provider.generate = (req?: GenerateRequest) =>
      new Promise<GenerateResult>((_, reject) => {
        req?.signal?.addEventListener('abort', () => reject(req.signal?.reason));
      });
    const controller = new AbortController();
    const probe = resilient.generate({ ...request, signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);
    expect(breaker.probing).toBe(true);
    controller.abort(new Error('conversation cancelled'));
    await probe;
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.probing).toBe(false);
  });

  describe('waiting out an open breaker (waitForBreakerUntil)', () => {
    const patient = { ...request, waitForBreakerUntil: T0 + 10 * COOLDOWN };

    it('a call against a provider that keeps failing gets its retry budget once in all, however often the breaker re-opens, and fails with the provider error', async () => {
      const provider = new ScriptedProvider(Array.from({ length: 20 }, () => failure('server_error')));
      const { resilient, breaker } = wrap(provider, { threshold: 2, retry: { maxAttempts: 4 } });
      const { error } = await outcome(resilient.generate(patient));
      expect(error?.code).toBe('server_error');
      // Two failures open the breaker; each later attempt is the probe after a cool-down.
      expect(provider.calls).toEqual([0, 0, COOLDOWN, 2 * COOLDOWN]);
      expect(breaker.state).toBe('open');
      const attempts = logLines.map((line) => JSON.parse(line)).filter((l) => l.attempt !== undefined);
      expect(attempts.map((l) => l.attempt)).toEqual([1, 2, 3]);
    });

    it('a call waits for the probe and succeeds on it, its attempts counting only calls made', async () => {
      const provider = new ScriptedProvider([failure('overloaded'), failure('overloaded')]);
      const { resilient, breaker } = wrap(provider, { threshold: 2, retry: { maxAttempts: 4 } });
      const { value } = await outcome(resilient.generate(patient));
      expect(value?.attempts).toBe(3);
      expect(provider.calls).toEqual([0, 0, COOLDOWN]);
      expect(breaker.state).toBe('closed');
    });

    it('a probe time after waitForBreakerUntil fails the call at once with circuit_open', async () => {
      const provider = new ScriptedProvider([failure('overloaded'), failure('overloaded')]);
      const { resilient } = wrap(provider, { threshold: 2, retry: { maxAttempts: 4 } });
      const { error } = await outcome(resilient.generate({ ...request, waitForBreakerUntil: T0 + 1_000 }));
      expect(error?.code).toBe('circuit_open');
      expect(provider.calls).toEqual([0, 0]);
    });

    it("while another caller's probe is in flight, a waiting call goes as soon as the probe closes the breaker", async () => {
      const provider = new ScriptedProvider([failure('overloaded')]);
      const { resilient, breaker } = wrap(provider, { threshold: 1, retry: { maxAttempts: 1 } });
      await outcome(resilient.generate(request));
      await vi.advanceTimersByTimeAsync(COOLDOWN);
      let answerProbe = () => {};
      provider.generate = () =>
        new Promise<GenerateResult>((resolve) => {
          answerProbe = () => resolve(ok());
        });
      const probe = resilient.generate(request);
      await vi.advanceTimersByTimeAsync(0);
      expect(breaker.probing).toBe(true);
      provider.generate = async () => ok();
      let waiterDone = false;
      const waiter = resilient.generate(patient).then((result) => {
        waiterDone = true;
        return result;
      });
      await vi.advanceTimersByTimeAsync(5_000);
      expect(waiterDone).toBe(false);
      answerProbe();
      await probe;
      // No timer needs to fire: the state change wakes the waiter.
      await expect(waiter).resolves.toMatchObject({ attempts: 1 });
      expect(breaker.state).toBe('closed');
    });

    it('an abort while waiting for the breaker rejects the call with the abort reason', async () => {
      const provider = new ScriptedProvider([failure('overloaded')]);
      const { resilient } = wrap(provider, { threshold: 1, retry: { maxAttempts: 1 } });
      await outcome(resilient.generate(request));
      const controller = new AbortController();
      const pending = resilient.generate({ ...patient, signal: controller.signal }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(1_000);
      controller.abort(new Error('conversation cancelled'));
      expect(await pending).toMatchObject({ message: 'conversation cancelled' });
      expect(provider.calls).toHaveLength(1);
    });
  });

  it('passes name, model, start and health checks through', async () => {
    const provider = new ScriptedProvider();
    const { resilient } = wrap(provider);
    expect(resilient.name).toBe('test');
    expect(resilient.model).toBe('m-1');
    await expect(resilient.healthCheck()).resolves.toEqual({ healthy: true, latencyMs: 0 });
  });
});
