import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type Actor, createActor, SimulatedClock, type SnapshotFrom, transition } from 'xstate';
import { type CircuitBreakerEvent, circuitBreakerMachine } from '../../src/machines/circuit-breaker.js';

/**
 * Model-based test: @xstate/graph walks the machine and yields the shortest path to every state it can
 * reach; each path, and each path extended by every event, is then replayed against a live actor that
 * runs on a simulated clock, with real timers for the cool-down and a real persist-and-restore for a
 * restart. The live actor must end where the model says.
 *
 * In the model time stands still at 0: failures happen at 0, the cool-down is an event, and a TICK's
 * `at` is the length of a restart. The live run maps those onto its clock.
 */

const THRESHOLD = 2;
const COOLDOWN = 1_000;
const input = { threshold: THRESHOLD, cooldownMs: COOLDOWN };

const COOLDOWN_ELAPSED = 'xstate.after.cooldown.circuitBreaker.open';
type ModelEvent = CircuitBreakerEvent | { type: typeof COOLDOWN_ELAPSED };
type BreakerSnapshot = SnapshotFrom<typeof circuitBreakerMachine>;

const modelEvents: ModelEvent[] = [
  { type: 'SUCCESS' },
  { type: 'FAILURE', retryable: true, at: 0 },
  { type: 'FAILURE', retryable: false, at: 0 },
  { type: 'PROBE' },
  { type: 'TICK', at: 0 }, // a restart that took no time
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
}

function expectSameState(live: BreakerSnapshot, model: BreakerSnapshot): void {
  expect(live.value).toEqual(model.value);
  expect(live.context.failures).toBe(model.context.failures);
  expect(live.context.openedAt === null).toBe(model.context.openedAt === null);
}

const paths = getShortestPaths(circuitBreakerMachine, {
  input,
  // The model's extra event type (the delayed transition's event) is not in the machine's event union.
  events: modelEvents as CircuitBreakerEvent[],
});

function replay(steps: readonly { event: ModelEvent }[]): LiveBreaker {
  const live = new LiveBreaker();
  for (const step of steps) {
    // The path's first step is the machine's own start, not something to replay.
    if ((step.event.type as string) === 'xstate.init') continue;
    live.apply(step.event);
  }
  return live;
}

describe('circuit breaker model', () => {
  it('reaches every state of the breaker', () => {
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
      it(`a live actor is ${JSON.stringify(path.state.value)} with ${path.state.context.failures} failures, as the model`, () => {
        const live = replay(path.steps as { event: ModelEvent }[]);
        expectSameState(live.actor.getSnapshot(), path.state);
      });

      for (const event of modelEvents) {
        it(`then ${describeEvent(event)}: the live actor moves as the model does`, () => {
          const live = replay(path.steps as { event: ModelEvent }[]);
          live.apply(event);
          const [expected] = transition(circuitBreakerMachine, path.state, event as CircuitBreakerEvent);
          expectSameState(live.actor.getSnapshot(), expected);
        });
      }
    });
  }
});
