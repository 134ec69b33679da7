import type { Redis } from 'ioredis';
import type { Logger } from '../../logger.js';
import { type Clock, systemClock } from '../ports.js';

/** One warning per this interval while replicas fall short; the counter has every one. */
const WARN_INTERVAL_MS = 10_000;
/**
 * After a wait fell short, later ones answer false at once for this long instead of blocking for the
 * timeout again: with no replica left (after a failover, until one is attached) every caller would
 * otherwise wait the full timeout each time.
 */
export const SHORTFALL_BACKOFF_MS = 5_000;

export interface ReplicaBarrierOptions {
  /** The process's client; the barrier opens a connection of its own from it (`WAIT` blocks its connection). */
  redis: Redis;
  /** A counter the barrier increments on its connection before each `WAIT` (`<prefix>:replica-mark`). */
  markKey: string;
  /** Replicas that must hold the writes (`REDIS_WAIT_REPLICAS`). */
  replicas: number;
  /** The longest a `WAIT` blocks (`REDIS_WAIT_TIMEOUT_MS`). */
  timeoutMs: number;
  logger: Logger;
  /** For the backoff after a shortfall and the warnings' interval. @default the system clock */
  clock?: Clock;
  /** Counts the waits that ended with fewer replicas than asked for. @default none */
  onShortfall?: () => void;
}

/**
 * Waits until Redis replicas hold every write this process had seen answered before the call, so that what
 * comes next (acknowledging a topic to its source, publishing events) cannot outlive those writes in a
 * failover. Redis' `WAIT`
 * counts the writes of the connection it runs on, so the barrier makes a write of its own (a counter
 * bumped on its own connection: that write is replicated after everything Redis had answered before it)
 * and then waits for it. Callers arriving while a wait is under way share the next one: one round trip
 * to the replicas per round, however many conversations started in it.
 */
export class ReplicaBarrier {
  private readonly connection: Redis;
  private current: Promise<boolean> | null = null;
  private next: Promise<boolean> | null = null;
  private lastWarned = 0;
  private shortUntil = 0;
  private readonly clock: Clock;

  constructor(private readonly options: ReplicaBarrierOptions) {
    this.connection = options.redis.duplicate();
    this.clock = options.clock ?? systemClock;
  }

  /**
   * Resolves true once `replicas` replicas hold every write answered before this call, false when fewer
   * did within the timeout or Redis could not be asked, or at once within {@link SHORTFALL_BACKOFF_MS} of
   * the last time they fell short. Never rejects.
   */
  wait(): Promise<boolean> {
    if (this.clock.now() < this.shortUntil) return Promise.resolve(false);
    if (!this.current) {
      this.current = this.round();
      return this.current;
    }
    // The round under way may have bumped its counter before this caller's writes were answered.
    this.next ??= this.current.then(() => {
      this.next = null;
      this.current = this.round();
      return this.current;
    });
    return this.next;
  }

  async close(): Promise<void> {
    await this.connection.quit().catch(() => this.connection.disconnect());
  }

  private async round(): Promise<boolean> {
    const { replicas, timeoutMs } = this.options;
    let acked = 0;
    let error: unknown;
    try {
      await this.connection.incr(this.options.markKey);
      acked = Number(await this.connection.wait(replicas, timeoutMs));
    } catch (err) {
      error = err;
    } finally {
      this.current = null;
    }
    if (acked >= replicas) return true;
    this.options.onShortfall?.();
    const now = this.clock.now();
    this.shortUntil = now + SHORTFALL_BACKOFF_MS;
    if (now - this.lastWarned >= WARN_INTERVAL_MS) {
      this.lastWarned = now;
      this.options.logger.warn(
        { replicas, acked, timeoutMs, ...(error ? { err: error } : {}) },
        'fewer Redis replicas than REDIS_WAIT_REPLICAS hold the latest writes; topics are acknowledged after a later step and events published without waiting',
      );
    }
    return false;
  }
}
