import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type CircuitOpenError, isCircuitOpenError, ProviderError } from '../../src/errors.js';
import type { CircuitBreakerState } from '../../src/machines/circuit-breaker.js';
import { CircuitBreaker } from '../../src/resilience/circuit-breaker.js';

const COOLDOWN = 10_000;
const T0 = 1_700_000_000_000;

const overloaded = () => new ProviderError('overloaded', 'overloaded', { provider: 'p', status: 529 });
const invalid = () => new ProviderError('invalid_request', 'bad request', { provider: 'p', status: 400 });

function circuitOpen(run: () => unknown): CircuitOpenError {
  try {
    run();
  } catch (error) {
    if (isCircuitOpenError(error)) return error;
    throw error;
  }
  throw new Error('expected a CircuitOpenError');
}

describe('CircuitBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const create = (threshold = 2) => new CircuitBreaker({ name: 'p', threshold, cooldownMs: COOLDOWN });

  function trip(breaker: CircuitBreaker, times = 2): void {
    for (let i = 0; i < times; i++) breaker.onFailure(overloaded(), breaker.beforeCall());
  }

  it('lets calls through while closed', () => {
    const breaker = create();
    expect(breaker.beforeCall()).toEqual({ probe: false });
    expect(breaker.state).toBe('closed');
  });

  it('fails fast with CircuitOpenError naming when a probe will be allowed', () => {
    const breaker = create();
    trip(breaker);
    expect(breaker.state).toBe('open');
    const error = circuitOpen(() => breaker.beforeCall());
    expect(error.provider).toBe('p');
    expect(error.retryAt).toBe(T0 + COOLDOWN);
    expect(error.retryable).toBe(true);
  });

  it('a non-retryable error does not count against the provider', () => {
    const breaker = create();
    for (let i = 0; i < 5; i++) breaker.onFailure(invalid(), breaker.beforeCall());
    breaker.onFailure(new Error('a bug, not the provider'), breaker.beforeCall());
    expect(breaker.state).toBe('closed');
  });

  it('after the cool-down exactly one caller becomes the probe; the others fail fast', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.beforeCall()).toEqual({ probe: true });
    expect(breaker.probing).toBe(true);
    expect(circuitOpen(() => breaker.beforeCall()).retryAt).toBe(T0 + COOLDOWN);
  });

  it('a good probe closes the breaker', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.onSuccess(breaker.beforeCall());
    expect(breaker.state).toBe('closed');
    expect(breaker.beforeCall()).toEqual({ probe: false });
  });

  it('a failed probe opens it again for another cool-down', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    const probe = breaker.beforeCall();
    vi.advanceTimersByTime(300);
    breaker.onFailure(overloaded(), probe);
    expect(breaker.state).toBe('open');
    expect(circuitOpen(() => breaker.beforeCall()).retryAt).toBe(T0 + COOLDOWN + 300 + COOLDOWN);
  });

  it('a call admitted before the breaker opened cannot close it when it finishes during half-open', () => {
    const breaker = create();
    const early = breaker.beforeCall();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    const probe = breaker.beforeCall();
    breaker.onSuccess(early);
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.probing).toBe(true);
    breaker.onSuccess(probe);
    expect(breaker.state).toBe('closed');
  });

  it('admits a probe once the cool-down is over even if the timer has not fired', () => {
    const clock = { now: () => T0 };
    const timers = new SimulatedClock(); // never advanced: the timer never fires
    const breaker = new CircuitBreaker({ name: 'p', threshold: 1, cooldownMs: COOLDOWN, clock, timers });
    breaker.onFailure(overloaded(), breaker.beforeCall());
    clock.now = () => T0 + COOLDOWN;
    expect(breaker.beforeCall()).toEqual({ probe: true });
  });

  it('check() fails fast like beforeCall() but does not take the probe slot', () => {
    const breaker = create();
    trip(breaker);
    expect(() => breaker.check()).toThrow(/circuit for provider p is open/);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.check();
    expect(breaker.probing).toBe(false);
    breaker.beforeCall();
    expect(() => breaker.check()).toThrow(/circuit for provider p is open/);
  });

  it('subscribers see every change of state and nothing else', () => {
    const breaker = create();
    const seen: CircuitBreakerState[] = [];
    const unsubscribe = breaker.subscribe((state) => seen.push(state));
    breaker.onFailure(overloaded(), breaker.beforeCall());
    trip(breaker, 1);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.onSuccess(breaker.beforeCall());
    unsubscribe();
    trip(breaker);
    expect(seen).toEqual(['open', 'halfOpen', 'closed']);
  });

  it('restored from its persisted snapshot after a restart, it half-opens when the original cool-down ends', () => {
    const breaker = create();
    trip(breaker);
    const persisted = JSON.parse(JSON.stringify(breaker.getPersistedSnapshot()));
    breaker.stop();

    vi.setSystemTime(T0 + 4_000); // the process was down for four seconds
    const restored = new CircuitBreaker({ name: 'p', snapshot: persisted });
    expect(restored.state).toBe('open');
    expect(circuitOpen(() => restored.beforeCall()).retryAt).toBe(T0 + COOLDOWN);
    vi.advanceTimersByTime(COOLDOWN - 4_000 - 1);
    expect(restored.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(restored.state).toBe('halfOpen');
  });
});
