import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SimulatedClock } from 'xstate';
import { type CircuitOpenError, isCircuitOpenError, ProviderError } from '../../src/errors.js';
import type { CircuitBreakerState } from '../../src/machines/circuit-breaker.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';

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

describe('ProviderBreaker', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const create = (threshold = 2) => new ProviderBreaker({ name: 'p', threshold, cooldownMs: COOLDOWN });

  function trip(breaker: ProviderBreaker, times = 2): void {
    for (let i = 0; i < times; i++) breaker.onFailure(overloaded(), breaker.admit());
  }

  it('lets calls through while closed', () => {
    const breaker = create();
    expect(breaker.admit()).toEqual({ probe: false });
    expect(breaker.state).toBe('closed');
  });

  it('fails fast with CircuitOpenError naming when a probe will be allowed', () => {
    const breaker = create();
    trip(breaker);
    expect(breaker.state).toBe('open');
    const error = circuitOpen(() => breaker.admit());
    expect(error.provider).toBe('p');
    expect(error.retryAt).toBe(T0 + COOLDOWN);
    // Waiting out the breaker is the resilient provider's job (waitForBreakerUntil); a retry would be refused too.
    expect(error.retryable).toBe(false);
  });

  it('a non-retryable error does not count against the provider', () => {
    const breaker = create();
    for (let i = 0; i < 5; i++) breaker.onFailure(invalid(), breaker.admit());
    breaker.onFailure(new Error('a bug, not the provider'), breaker.admit());
    expect(breaker.state).toBe('closed');
  });

  it('after the cool-down exactly one caller becomes the probe; the others fail fast', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.admit()).toEqual({ probe: true });
    expect(breaker.probing).toBe(true);
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + COOLDOWN);
  });

  it('a good probe closes the breaker', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.onSuccess(breaker.admit());
    expect(breaker.state).toBe('closed');
    expect(breaker.admit()).toEqual({ probe: false });
  });

  it('a failed probe opens it again for another cool-down', () => {
    const breaker = create();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    const probe = breaker.admit();
    vi.advanceTimersByTime(300);
    breaker.onFailure(overloaded(), probe);
    expect(breaker.state).toBe('open');
    expect(circuitOpen(() => breaker.admit()).retryAt).toBe(T0 + COOLDOWN + 300 + COOLDOWN);
  });

  it('a call admitted before the breaker opened cannot close it when it finishes during half-open', () => {
    const breaker = create();
    const early = breaker.admit();
    trip(breaker);
    vi.advanceTimersByTime(COOLDOWN);
    const probe = breaker.admit();
    breaker.onSuccess(early);
    expect(breaker.state).toBe('halfOpen');
    expect(breaker.probing).toBe(true);
    breaker.onSuccess(probe);
    expect(breaker.state).toBe('closed');
  });

  it('admits a probe once the cool-down is over even if the timer has not fired', () => {
    const clock = { now: () => T0 };
    const timers = new SimulatedClock(); // never advanced: the timer never fires
    const breaker = new ProviderBreaker({ name: 'p', threshold: 1, cooldownMs: COOLDOWN, clock, timers });
    breaker.onFailure(overloaded(), breaker.admit());
    clock.now = () => T0 + COOLDOWN;
    expect(breaker.admit()).toEqual({ probe: true });
  });

  it('admit({ claim: false }) fails fast like admit() but does not take the probe slot', () => {
    const breaker = create();
    trip(breaker);
    expect(() => breaker.admit({ claim: false })).toThrow(/circuit for provider p is open/);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.admit({ claim: false });
    expect(breaker.probing).toBe(false);
    breaker.admit();
    expect(() => breaker.admit({ claim: false })).toThrow(/circuit for provider p is open/);
  });

  it('subscribers see every change of state and nothing else', () => {
    const breaker = create();
    const seen: CircuitBreakerState[] = [];
    const unsubscribe = breaker.subscribe((state) => seen.push(state));
    breaker.onFailure(overloaded(), breaker.admit());
    trip(breaker, 1);
    vi.advanceTimersByTime(COOLDOWN);
    breaker.onSuccess(breaker.admit());
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
    const restored = new ProviderBreaker({ name: 'p', snapshot: persisted });
    expect(restored.state).toBe('open');
    expect(circuitOpen(() => restored.admit()).retryAt).toBe(T0 + COOLDOWN);
    vi.advanceTimersByTime(COOLDOWN - 4_000 - 1);
    expect(restored.state).toBe('open');
    vi.advanceTimersByTime(1);
    expect(restored.state).toBe('halfOpen');
  });
});
