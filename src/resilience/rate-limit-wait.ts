import { RateLimitWaitError } from '../errors.js';
import type { Clock, RateLimitPermit, RateLimitRequest } from '../services/ports.js';
import type { Reservation } from './gcra.js';
import type { Sleep } from './sleep.js';

/** Where a limiter keeps its GCRA state: a map in this process, or a hash in Redis. */
export interface GcraBackend {
  /** Reserves a slot within `maxWaitMs`, or confirms `previousSlot` when no penalty has since covered it. */
  reserve(request: RateLimitRequest & { maxWaitMs: number; previousSlot?: number }): Promise<Reservation>;
  /** Corrects the token budget from the tokens a grant reserved to those the call used (0: a refund). */
  settle(reservedTokens: number, actualTokens: number): Promise<void>;
}

/** A granted slot; `grantedAt` is on the limiter's own time base (the Redis server's for the Redis limiter). */
export class GcraPermit implements RateLimitPermit {
  private settled = false;

  constructor(
    private readonly backend: GcraBackend,
    private readonly reservedTokens: number,
    readonly waitedMs: number,
    readonly grantedAt: number,
  ) {}

  /** Corrects the reservation by actual usage; only the first call counts. */
  async settle(actualTokens: number): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    const actual = Math.max(0, actualTokens);
    if (actual !== this.reservedTokens) await this.backend.settle(this.reservedTokens, actual);
  }
}

/**
 * The wait loop both limiters share: reserve, sleep exactly the wait the backend computed, then confirm
 * the slot (a 429 in the meantime may have imposed a penalty over it, and the slot is then reserved anew
 * after the penalty). A wait beyond `maxWaitMs` is refused up front, before anything is reserved.
 * @throws {RateLimitWaitError} when the slot is further away than the remaining allowed wait.
 */
export async function acquireSlot(
  backend: GcraBackend,
  key: string,
  request: RateLimitRequest,
  options: { maxWaitMs: number; signal?: AbortSignal },
  deps: { clock: Clock; sleep: Sleep },
): Promise<GcraPermit> {
  const startedAt = deps.clock.now();
  // Waiting is counted from the first answer that said "wait", so a grant at once reports 0, not a round trip.
  let heldSince: number | undefined;
  let previousSlot: number | undefined;
  for (;;) {
    options.signal?.throwIfAborted();
    const elapsed = deps.clock.now() - startedAt;
    const reservation = await backend.reserve({
      ...request,
      maxWaitMs: Math.max(0, options.maxWaitMs - elapsed),
      previousSlot,
    });
    if (!reservation.granted) {
      throw new RateLimitWaitError(key, elapsed + reservation.waitMs, options.maxWaitMs);
    }
    if (reservation.waitMs <= 0) {
      const waitedMs = heldSince === undefined ? 0 : deps.clock.now() - heldSince;
      return new GcraPermit(backend, request.tokens, waitedMs, reservation.slotAt);
    }
    heldSince ??= deps.clock.now();
    previousSlot = reservation.slotAt;
    try {
      // Rounded up: a timer that fires a fraction early would let the call start before its slot.
      await deps.sleep(Math.ceil(reservation.waitMs), options.signal);
    } catch (error) {
      // Give the tokens back; the request slot stays spent, which errs on the side of the provider.
      await backend.settle(request.tokens, 0);
      throw error;
    }
  }
}
