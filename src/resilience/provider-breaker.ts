/**
 * The breaker a provider's calls go through: it hosts one actor of the pure circuit-breaker machine
 * (`machines/circuit-breaker.ts`), feeds it the time from the injected clock, and answers the one question
 * a caller has, `admit`: may a call go now? The call's outcome goes back through `onSuccess` / `onFailure`.
 * Observable, so metrics, logs and the shared breaker reports follow its state.
 */
import { type Actor, type ActorOptions, createActor, type InspectionEvent, type Snapshot } from 'xstate';
import { CircuitOpenError, isChimeraError } from '../errors.js';
import {
  breakerStateOf,
  type CircuitBreakerContext,
  type CircuitBreakerState,
  circuitBreakerMachine,
  probeAllowedAt,
} from '../machines/circuit-breaker.js';
import { type Clock, systemClock } from '../services/ports.js';

/** XState's timer clock (`setTimeout` / `clearTimeout`), which `SimulatedClock` implements. */
export type TimerClock = NonNullable<ActorOptions<typeof circuitBreakerMachine>['clock']>;

export interface ProviderBreakerOptions {
  /** The provider this breaker guards; named in `CircuitOpenError`. */
  name: string;
  /** Consecutive retryable failures that open it. @default DEFAULTS.CIRCUIT_BREAKER_FAILURE_THRESHOLD (5) */
  threshold?: number;
  /** Time open before one probe may go. @default DEFAULTS.CIRCUIT_BREAKER_COOLDOWN_SECONDS (30 s) */
  cooldownMs?: number;
  /** Where `openedAt` and `at` come from. @default the system clock */
  clock?: Clock;
  /** Schedules the cool-down timer (XState's `clock` option); tests pass a `SimulatedClock`. @default setTimeout */
  timers?: TimerClock;
  /** A snapshot from `getPersistedSnapshot()`, to carry the state across a restart. */
  snapshot?: Snapshot<unknown>;
  /** Inspection observer (the Stately inspector), so the breaker shows up beside the conversations. @default none */
  inspect?: (event: InspectionEvent) => void;
}

/** Handed out by `admit` and given back with the call's result. */
export interface CallTicket {
  /** True for the one call that probes a half-open breaker. */
  readonly probe: boolean;
}

export class ProviderBreaker {
  readonly name: string;
  private readonly clock: Clock;
  private readonly actor: Actor<typeof circuitBreakerMachine>;
  private readonly listeners = new Set<(state: CircuitBreakerState) => void>();
  private last: CircuitBreakerState;

  constructor(options: ProviderBreakerOptions) {
    this.name = options.name;
    this.clock = options.clock ?? systemClock;
    this.actor = createActor(circuitBreakerMachine, {
      input: { threshold: options.threshold, cooldownMs: options.cooldownMs },
      ...(options.timers ? { clock: options.timers } : {}),
      ...(options.snapshot ? { snapshot: options.snapshot } : {}),
      // Named after the provider so the inspector tells one breaker from another.
      ...(options.inspect ? { inspect: options.inspect, id: `circuit-breaker:${options.name}` } : {}),
    });
    this.last = breakerStateOf(this.actor.getSnapshot().value);
    this.actor.subscribe((snapshot) => {
      const state = breakerStateOf(snapshot.value);
      if (state === this.last) return;
      this.last = state;
      for (const listener of this.listeners) listener(state);
    });
    this.actor.start();
    // Timers do not survive persistence: re-derive the cool-down from the restored `openedAt`.
    if (options.snapshot) this.actor.send({ type: 'TICK', at: this.clock.now() });
  }

  get state(): CircuitBreakerState {
    return this.last;
  }

  get context(): Readonly<CircuitBreakerContext> {
    return this.actor.getSnapshot().context;
  }

  /** True while a half-open breaker's probe is in flight. */
  get probing(): boolean {
    return this.actor.getSnapshot().matches({ halfOpen: 'probing' });
  }

  /**
   * May a call go now? It may while closed, and as the one probe once the cool-down is over; it may not
   * while open or while another call's probe is in flight. `admit()` takes the admission (in half-open the
   * caller becomes the probe) and returns the ticket to report the outcome with; `admit({ claim: false })`
   * only asks, taking nothing: for a cheap check before a long wait (a rate-limit slot).
   * @throws {CircuitOpenError} with the time a probe may go, when a call may not go.
   */
  admit(): CallTicket;
  admit(options: { claim: false }): void;
  admit(options: { claim?: boolean } = {}): CallTicket | undefined {
    const claim = options.claim ?? true;
    const now = this.clock.now();
    let snapshot = this.actor.getSnapshot();
    if (snapshot.matches('open')) {
      const allowedAt = probeAllowedAt(snapshot.context) ?? now;
      if (now < allowedAt) throw new CircuitOpenError(this.name, allowedAt);
      if (!claim) return undefined;
      // The cool-down is over even if its timer has not fired yet (late timer, restored snapshot).
      this.actor.send({ type: 'TICK', at: now });
      snapshot = this.actor.getSnapshot();
    }
    if (snapshot.matches('closed')) return claim ? { probe: false } : undefined;
    if (snapshot.matches({ halfOpen: 'idle' })) {
      if (!claim) return undefined;
      this.actor.send({ type: 'PROBE' });
      return { probe: true };
    }
    throw new CircuitOpenError(this.name, now);
  }

  /** A call admitted with `ticket` succeeded. */
  onSuccess(ticket?: CallTicket): void {
    if (this.isStaleInHalfOpen(ticket)) return;
    this.actor.send({ type: 'SUCCESS' });
  }

  /** A call admitted with `ticket` failed; only a retryable `ChimeraError` counts against the provider. */
  onFailure(error: unknown, ticket?: CallTicket): void {
    if (this.isStaleInHalfOpen(ticket)) return;
    const retryable = isChimeraError(error) && error.retryable;
    this.actor.send({ type: 'FAILURE', retryable, at: this.clock.now() });
  }

  /** Calls `listener` on every state change; returns the unsubscribe function. */
  subscribe(listener: (state: CircuitBreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A JSON-serialisable snapshot to restore this breaker with after a restart. */
  getPersistedSnapshot(): Snapshot<unknown> {
    return this.actor.getPersistedSnapshot();
  }

  /** Stops the cool-down timer. */
  stop(): void {
    this.actor.stop();
    this.listeners.clear();
  }

  /**
   * In half-open only the probe's outcome speaks for the provider: a call admitted before the breaker
   * opened and finishing now must not close (or re-open) it.
   */
  private isStaleInHalfOpen(ticket: CallTicket | undefined): boolean {
    return ticket !== undefined && !ticket.probe && this.actor.getSnapshot().matches('halfOpen');
  }
}
