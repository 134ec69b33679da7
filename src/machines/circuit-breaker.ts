/**
 * A circuit breaker for one provider, as a pure XState machine. It never reads a clock: every event that
 * needs the time carries it (`at`, epoch ms from the injected clock), and the cool-down is derived from
 * the stored `openedAt`, so a breaker restored from a persisted snapshot after a restart half-opens at the
 * moment it would have without the restart (XState does not persist pending timers; a `TICK` after the
 * restore re-derives the remaining wait).
 *
 *   closed --FAILURE(retryable) x threshold--> open --cool-down / TICK after it--> halfOpen.idle
 *   halfOpen.idle --PROBE--> halfOpen.probing --SUCCESS--> closed
 *                                             --FAILURE(retryable)--> open
 *                                             --FAILURE(not retryable)--> halfOpen.idle (slot freed)
 *
 * Only retryable failures count: an invalid request or a spent quota says nothing about the provider's
 * health, and retrying would not help. A success in `closed` resets the count.
 */
import { assign, setup } from 'xstate';
import { DEFAULTS } from '../defaults.js';

/** Bumped whenever a change makes old persisted snapshots unreadable by this definition. */
export const CIRCUIT_BREAKER_MACHINE_VERSION = 'circuit-breaker@1';

export interface CircuitBreakerInput {
  /** Consecutive retryable failures that open the breaker. @default DEFAULTS.CIRCUIT_BREAKER_FAILURE_THRESHOLD (5) */
  threshold?: number;
  /** Time open before one probe may go. @default DEFAULTS.CIRCUIT_BREAKER_COOLDOWN_SECONDS (30 s) */
  cooldownMs?: number;
}

export interface CircuitBreakerContext {
  threshold: number;
  cooldownMs: number;
  /** Consecutive retryable failures since the last success. */
  failures: number;
  /** Epoch ms of the last opening; null while closed. */
  openedAt: number | null;
}

export type CircuitBreakerEvent =
  /** The call succeeded. In half-open, only the probe's result should be sent. */
  | { type: 'SUCCESS' }
  /** The call failed; only `retryable` failures count towards opening. */
  | { type: 'FAILURE'; retryable: boolean; at: number }
  /** A call takes the single half-open probe slot. */
  | { type: 'PROBE' }
  /** The time is `at`: sent after a restore (and when a call finds the cool-down over) to re-derive the timer. */
  | { type: 'TICK'; at: number };

/** The three states reported to metrics and `status`. */
export type CircuitBreakerState = 'closed' | 'open' | 'halfOpen';

function remainingCooldown(context: CircuitBreakerContext, now: number): number {
  return Math.max(0, (context.openedAt ?? now) + context.cooldownMs - now);
}

/** The time an event says it is; events without one cannot enter `open`, so 0 is never used there. */
function eventTime(event: CircuitBreakerEvent): number {
  return 'at' in event ? event.at : 0;
}

export const circuitBreakerMachine = setup({
  types: {
    context: {} as CircuitBreakerContext,
    events: {} as CircuitBreakerEvent,
    input: {} as CircuitBreakerInput,
  },
  guards: {
    retryableFailure: ({ event }) => event.type === 'FAILURE' && event.retryable,
    reachesThreshold: ({ context, event }) =>
      event.type === 'FAILURE' && event.retryable && context.failures + 1 >= context.threshold,
    cooldownElapsed: ({ context, event }) => remainingCooldown(context, eventTime(event)) === 0,
  },
  actions: {
    countFailure: assign({ failures: ({ context }) => context.failures + 1 }),
    resetFailures: assign({ failures: 0 }),
    markOpened: assign({
      // Pinned at the threshold, not counted on: the count only matters while closed.
      failures: ({ context }) => context.threshold,
      openedAt: ({ event }) => eventTime(event),
    }),
    markClosed: assign({ failures: 0, openedAt: null }),
  },
  delays: {
    /** What is left of the cool-down at the time of the event that (re-)entered `open`. */
    cooldown: ({ context, event }) => remainingCooldown(context, eventTime(event)),
  },
}).createMachine({
  id: 'circuitBreaker',
  context: ({ input }) => ({
    threshold: input.threshold ?? DEFAULTS.CIRCUIT_BREAKER_FAILURE_THRESHOLD,
    cooldownMs: input.cooldownMs ?? DEFAULTS.CIRCUIT_BREAKER_COOLDOWN_SECONDS * 1000,
    failures: 0,
    openedAt: null,
  }),
  initial: 'closed',
  states: {
    closed: {
      on: {
        SUCCESS: { actions: 'resetFailures' },
        FAILURE: [
          { guard: 'reachesThreshold', target: 'open', actions: 'markOpened' },
          { guard: 'retryableFailure', actions: 'countFailure' },
        ],
      },
    },
    open: {
      after: { cooldown: 'halfOpen' },
      on: {
        TICK: [
          { guard: 'cooldownElapsed', target: 'halfOpen' },
          // Re-entering re-schedules the cool-down from `openedAt` and this event's time.
          { target: 'open', reenter: true },
        ],
      },
    },
    halfOpen: {
      initial: 'idle',
      states: {
        idle: {
          on: { PROBE: 'probing' },
        },
        probing: {
          on: {
            SUCCESS: { target: '#circuitBreaker.closed', actions: 'markClosed' },
            FAILURE: [
              { guard: 'retryableFailure', target: '#circuitBreaker.open', actions: 'markOpened' },
              // The provider answered, just not usefully: free the slot for the next probe.
              { target: 'idle' },
            ],
          },
        },
      },
    },
  },
});

export type CircuitBreakerMachine = typeof circuitBreakerMachine;

/** The reported state of a snapshot's value. */
export function breakerStateOf(value: unknown): CircuitBreakerState {
  if (value === 'closed' || value === 'open') return value;
  return 'halfOpen';
}

/** Epoch ms at which an open breaker lets a probe through. */
export function probeAllowedAt(context: CircuitBreakerContext): number | null {
  return context.openedAt === null ? null : context.openedAt + context.cooldownMs;
}
