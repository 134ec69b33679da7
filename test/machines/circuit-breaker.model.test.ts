import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, SimulatedClock, type SnapshotFrom } from 'xstate';
import { type CircuitBreakerEvent, circuitBreakerMachine } from '../../src/machines/circuit-breaker.js';
import {
  type BreakerPhase,
  type BreakerWorldEvent,
  breakerStep,
  closedBreaker,
  type ExpectedBreaker,
} from './circuit-breaker.oracle.js';

/**
 * Model-based test with an independent oracle: @xstate/graph walks the machine and yields the shortest
 * path to every state it can reach; each path, and each path extended by every event, is replayed against
 * a live actor on a simulated clock, with real timers for the cool-down and a real persist-and-restore for
 * a restart. After every step the live actor must be where the reference model in
 * `circuit-breaker.oracle.ts` says (written from the README, not from the machine), so a wrong transition
 * in the machine is a difference, not a confirmation.
 *
 * The graph's events stand for things that happen: a call's success or failure, a call taking the probe
 * slot, a restart after some downtime (TICK at = the downtime), and a cool-down's worth of waiting.
 */

const THRESHOLD = 2;
const COOLDOWN = 1_000;
const settings = { threshold: THRESHOLD, cooldownMs: COOLDOWN };
const input = settings;

const COOLDOWN_ELAPSED = 'xstate.after.cooldown.circuitBreaker.open';
type ModelEvent = CircuitBreakerEvent | { type: typeof COOLDOWN_ELAPSED };
type BreakerSnapshot = SnapshotFrom<typeof circuitBreakerMachine>;

const modelEvents: ModelEvent[] = [
  { type: 'SUCCESS' },
  { type: 'FAILURE', retryable: true, at: 0 },
  { type: 'FAILURE', retryable: false, at: 0 },
  { type: 'PROBE' },
  { type: 'TICK', at: 0 }, // a restart that took no time
  { type: 'TICK', at: COOLDOWN / 2 }, // a restart shorter than the cool-down
  { type: 'TICK', at: COOLDOWN }, // a restart that outlasted the cool-down
  { type: COOLDOWN_ELAPSED },
];

const describeEvent = (event: ModelEvent): string =>
  event.type === 'FAILURE'
    ? `FAILURE(${event.retryable ? 'retryable' : 'not retryable'})`
    : event.type === 'TICK'
      ? `restart(${event.at}ms)`
      : event.type === COOLDOWN_ELAPSED
        ? 'cool-down'
        : event.type;

/** What a graph event stands for, in the reference model's terms. */
function worldEvent(event: ModelEvent): BreakerWorldEvent {
  switch (event.type) {
    case 'SUCCESS':
      return { kind: 'success' };
    case 'FAILURE':
      return { kind: 'failure', retryable: event.retryable };
    case 'PROBE':
      return { kind: 'probe' };
    case 'TICK':
      return { kind: 'elapse', ms: event.at };
    default:
      return { kind: 'elapse', ms: COOLDOWN };
  }
}

/** A live breaker: an actor on a simulated clock that can also be persisted and restored. */
class LiveBreaker {
  clock = new SimulatedClock();
  actor: Actor<typeof circuitBreakerMachine>;

  constructor() {
    this.clock.set(1_700_000_000_000);
    this.actor = createActor(circuitBreakerMachine, { input, clock: this.clock }).start();
  }

  apply(event: ModelEvent): void {
    switch (event.type) {
      case COOLDOWN_ELAPSED:
        this.clock.increment(COOLDOWN);
        return;
      case 'TICK':
        this.restart(event.at);
        return;
      case 'FAILURE':
        this.actor.send({ ...event, at: this.clock.now() });
        return;
      default:
        this.actor.send(event);
    }
  }

  /** Persists, stops, and restores on a new clock `downtimeMs` later, as a new process would. */
  private restart(downtimeMs: number): void {
    const persisted = JSON.parse(JSON.stringify(this.actor.getPersistedSnapshot()));
    this.actor.stop();
    const clock = new SimulatedClock();
    clock.set(this.clock.now() + downtimeMs);
    this.clock = clock;
    this.actor = createActor(circuitBreakerMachine, { snapshot: persisted, clock, input: {} }).start();
    this.actor.send({ type: 'TICK', at: clock.now() });
  }

  /** The live breaker in the reference model's terms. */
  observed(): ExpectedBreaker {
    const snapshot: BreakerSnapshot = this.actor.getSnapshot();
    const value = snapshot.value;
    const phase: BreakerPhase =
      typeof value === 'string' ? (value as BreakerPhase) : (`halfOpen.${value.halfOpen}` as BreakerPhase);
    const { openedAt, failures } = snapshot.context;
    return { phase, failures, sinceOpened: openedAt === null ? null : this.clock.now() - openedAt };
  }
}

const paths = getShortestPaths(circuitBreakerMachine, {
  input,
  // The model's extra event type (the delayed transition's event) is not in the machine's event union.
  events: modelEvents as CircuitBreakerEvent[],
});

/** Replays `steps` on a live breaker, checking it against the reference model after each one. */
function replay(steps: readonly { event: ModelEvent }[]): { live: LiveBreaker; expected: ExpectedBreaker } {
  const live = new LiveBreaker();
  let expected = closedBreaker;
  expect(live.observed()).toEqual(expected);
  for (const step of steps) {
    // The path's first step is the machine's own start, not something to replay.
    if ((step.event.type as string) === 'xstate.init') continue;
    live.apply(step.event);
    expected = breakerStep(expected, worldEvent(step.event), settings);
    expect(live.observed(), describeEvent(step.event)).toEqual(expected);
  }
  return { live, expected };
}

describe('circuit breaker, model-based against a reference model', () => {
  it('the paths reach every state of the breaker', () => {
    const reached = paths.map((path) => JSON.stringify(path.state.value)).sort();
    expect(new Set(reached)).toEqual(
      new Set(['"closed"', '"open"', '{"halfOpen":"idle"}', '{"halfOpen":"probing"}']),
    );
  });

  for (const path of paths) {
    const route = path.steps
      .filter((step) => (step.event.type as string) !== 'xstate.init')
      .map((step) => describeEvent(step.event as ModelEvent));
    describe(`after ${route.length ? route.join(' > ') : 'nothing'}`, () => {
      it('a live breaker is where the reference model says after every step', () => {
        replay(path.steps as { event: ModelEvent }[]);
      });

      for (const event of modelEvents) {
        it(`then ${describeEvent(event)}: the live breaker moves as the reference model says`, () => {
          const { live, expected } = replay(path.steps as { event: ModelEvent }[]);
          live.apply(event);
          expect(live.observed()).toEqual(breakerStep(expected, worldEvent(event), settings));
        });
      }
    });
  }
});
