import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { type CircuitBreakerEvent, circuitBreakerMachine } from '../../src/machines/circuit-breaker.js';

const COOLDOWN = 30_000;
const T0 = 1_700_000_000_000;

function start(threshold = 3, clock = new SimulatedClock()) {
  clock.set(T0);
  const actor = createActor(circuitBreakerMachine, { input: { threshold, cooldownMs: COOLDOWN }, clock });
  actor.start();
  const fail = (retryable = true) => actor.send({ type: 'FAILURE', retryable, at: clock.now() });
  return { actor, clock, fail };
}

describe('circuit breaker machine', () => {
  it('starts closed with no failures', () => {
    const { actor } = start();
    expect(actor.getSnapshot().value).toBe('closed');
    expect(actor.getSnapshot().context).toMatchObject({ failures: 0, openedAt: null });
  });

  it('opens after the threshold of consecutive retryable failures and records when', () => {
    const { actor, clock, fail } = start(3);
    fail();
    fail();
    expect(actor.getSnapshot().value).toBe('closed');
    clock.increment(5);
    fail();
    expect(actor.getSnapshot().value).toBe('open');
    expect(actor.getSnapshot().context.openedAt).toBe(T0 + 5);
  });

  it('non-retryable failures neither count nor reset the count', () => {
    const { actor, fail } = start(3);
    fail();
    fail();
    fail(false);
    fail(false);
    expect(actor.getSnapshot().context.failures).toBe(2);
    fail();
    expect(actor.getSnapshot().value).toBe('open');
  });

  it('a success resets the count of failures', () => {
    const { actor, fail } = start(3);
    fail();
    fail();
    actor.send({ type: 'SUCCESS' });
    fail();
    fail();
    expect(actor.getSnapshot().value).toBe('closed');
    expect(actor.getSnapshot().context.failures).toBe(2);
  });

  it('half-opens when the cool-down has passed, not a millisecond earlier', () => {
    const { actor, clock, fail } = start(1);
    fail();
    clock.increment(COOLDOWN - 1);
    expect(actor.getSnapshot().value).toBe('open');
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: 'idle' });
  });

  it('results of calls made before the breaker opened do not move an open breaker', () => {
    const { actor, fail } = start(1);
    fail();
    actor.send({ type: 'SUCCESS' });
    fail();
    actor.send({ type: 'PROBE' });
    expect(actor.getSnapshot().value).toBe('open');
  });

  it('a successful probe closes the breaker and clears the failures', () => {
    const { actor, clock, fail } = start(1);
    fail();
    clock.increment(COOLDOWN);
    actor.send({ type: 'PROBE' });
    expect(actor.getSnapshot().value).toEqual({ halfOpen: 'probing' });
    actor.send({ type: 'SUCCESS' });
    expect(actor.getSnapshot().value).toBe('closed');
    expect(actor.getSnapshot().context).toMatchObject({ failures: 0, openedAt: null });
  });

  it('a failed probe opens the breaker again for a full cool-down from the probe failure', () => {
    const { actor, clock, fail } = start(1);
    fail();
    clock.increment(COOLDOWN);
    actor.send({ type: 'PROBE' });
    clock.increment(700);
    fail();
    expect(actor.getSnapshot().value).toBe('open');
    expect(actor.getSnapshot().context.openedAt).toBe(T0 + COOLDOWN + 700);
    clock.increment(COOLDOWN - 1);
    expect(actor.getSnapshot().value).toBe('open');
    clock.increment(1);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: 'idle' });
  });

  it('a probe that fails without being retryable frees the slot for another probe', () => {
    const { actor, clock, fail } = start(1);
    fail();
    clock.increment(COOLDOWN);
    actor.send({ type: 'PROBE' });
    fail(false);
    expect(actor.getSnapshot().value).toEqual({ halfOpen: 'idle' });
  });

  it('only one probe at a time: a second PROBE while probing changes nothing', () => {
    const { actor, clock, fail } = start(1);
    fail();
    clock.increment(COOLDOWN);
    actor.send({ type: 'PROBE' });
    const before = actor.getSnapshot();
    actor.send({ type: 'PROBE' } satisfies CircuitBreakerEvent);
    expect(actor.getSnapshot()).toBe(before);
  });

  describe('restored from a persisted snapshot', () => {
    function openedThenPersisted() {
      const { actor, clock, fail } = start(1);
      fail();
      const persisted = actor.getPersistedSnapshot();
      actor.stop();
      return { persisted: JSON.parse(JSON.stringify(persisted)), openedAt: clock.now() };
    }

    it('half-opens at openedAt + cool-down, the remaining time derived from openedAt', () => {
      const { persisted, openedAt } = openedThenPersisted();
      const clock = new SimulatedClock();
      clock.set(openedAt + 10_000); // the restart took ten seconds
      // XState's types ask for input; a restore ignores it and keeps the persisted context.
      const restored = createActor(circuitBreakerMachine, { snapshot: persisted, clock, input: {} });
      restored.start();
      restored.send({ type: 'TICK', at: clock.now() });
      expect(restored.getSnapshot().value).toBe('open');
      clock.increment(COOLDOWN - 10_000 - 1);
      expect(restored.getSnapshot().value).toBe('open');
      clock.increment(1);
      expect(restored.getSnapshot().value).toEqual({ halfOpen: 'idle' });
    });

    it('half-opens at once when the cool-down ended during the restart', () => {
      const { persisted, openedAt } = openedThenPersisted();
      const clock = new SimulatedClock();
      clock.set(openedAt + COOLDOWN + 5_000);
      const restored = createActor(circuitBreakerMachine, { snapshot: persisted, clock, input: {} });
      restored.start();
      restored.send({ type: 'TICK', at: clock.now() });
      expect(restored.getSnapshot().value).toEqual({ halfOpen: 'idle' });
    });

    it('keeps the count of failures of a closed breaker', () => {
      const { actor, fail } = start(3);
      fail();
      fail();
      const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
      const restored = createActor(circuitBreakerMachine, { snapshot: persisted, input: {} }).start();
      restored.send({ type: 'FAILURE', retryable: true, at: T0 });
      expect(restored.getSnapshot().value).toBe('open');
    });
  });
});
