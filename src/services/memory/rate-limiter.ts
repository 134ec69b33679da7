import {
  emptyGcraState,
  type GcraParams,
  type GcraState,
  gcraParams,
  gcraPenalize,
  gcraReserve,
  gcraSettle,
  type RateLimitSettings,
  type Reservation,
  toMicroseconds,
  toReservation,
} from '../../resilience/gcra.js';
import { acquireSlot, type GcraBackend, type GcraPermit } from '../../resilience/rate-limit-wait.js';
import { type Sleep, sleep as timerSleep } from '../../resilience/sleep.js';
import { type Clock, type RateLimiter, type RateLimitRequest, systemClock } from '../ports.js';

/** GCRA states by key, shared by the limiters of one process (what Redis is to the Redis limiter). */
export type MemoryRateLimitStore = Map<string, GcraState>;

export interface MemoryRateLimiterOptions {
  /** The budget's name, normally the provider's. Limiters sharing a store and a key share the budget. */
  key: string;
  settings: RateLimitSettings;
  /** @default a store of this limiter's own */
  store?: MemoryRateLimitStore;
  /** @default the system clock (vitest fake timers control it) */
  clock?: Clock;
  /** @default a `setTimeout` wait */
  sleep?: Sleep;
}

/**
 * The embedded-mode limiter: the same GCRA over requests and tokens as the Redis one (in whole microseconds
 * too), on an injected clock.
 */
export class MemoryRateLimiter implements RateLimiter, GcraBackend {
  readonly key: string;
  private readonly params: GcraParams;
  private readonly store: MemoryRateLimitStore;
  private readonly clock: Clock;
  private readonly sleep: Sleep;

  constructor(options: MemoryRateLimiterOptions) {
    this.key = options.key;
    this.params = gcraParams(options.settings);
    this.store = options.store ?? new Map();
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? timerSleep;
  }

  acquire(
    request: RateLimitRequest,
    options: { maxWaitMs: number; signal?: AbortSignal },
  ): Promise<GcraPermit> {
    return acquireSlot(this, this.key, request, options, { clock: this.clock, sleep: this.sleep });
  }

  async penalize(forMs: number): Promise<void> {
    this.store.set(this.key, gcraPenalize(this.state(), this.nowUs(), toMicroseconds(forMs)));
  }

  /** @internal the backend side, called by `acquireSlot` and permits. */
  async reserve(
    request: RateLimitRequest & { maxWaitMs: number; previousSlot?: number },
  ): Promise<Reservation> {
    const { reservation, state } = gcraReserve(this.state(), this.params, this.nowUs(), {
      requests: request.requests,
      tokens: request.tokens,
      maxWaitUs: Math.floor(request.maxWaitMs * 1000),
      previousSlotUs: request.previousSlot === undefined ? undefined : toMicroseconds(request.previousSlot),
    });
    this.store.set(this.key, state);
    return toReservation(reservation);
  }

  /** @internal */
  async settle(reservedTokens: number, actualTokens: number): Promise<void> {
    this.store.set(
      this.key,
      gcraSettle(this.state(), this.params, this.nowUs(), reservedTokens, actualTokens),
    );
  }

  private state(): GcraState {
    return this.store.get(this.key) ?? emptyGcraState();
  }

  /** Whole microseconds, as the Redis limiter has them from the server's TIME. */
  private nowUs(): number {
    return Math.floor(this.clock.now() * 1000);
  }
}
