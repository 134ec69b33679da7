import { type Clock, type LeaderLock, systemClock } from '../ports.js';

/** Who holds each lock of one process, by lock name. Share one table between locks that compete. */
export type MemoryLockTable = Map<string, { owner: string; expiresAt: number }>;

export interface MemoryLeaderLockOptions {
  /** The lock's name (as the Redis adapter's key). */
  key: string;
  /** Who asks. */
  owner: string;
  /** A holder that stops renewing loses the lock after this long. */
  ttlMs: number;
  /** Locks that compete share one table. @default a table of this lock's own (it always wins) */
  table?: MemoryLockTable;
  /** @default the system clock */
  clock?: Clock;
}

/**
 * The in-process leader lock: the embedded mode has one process, so its lock is always free, and tests
 * that run several relays in one process share a table between them. Same rules as the Redis lock: a
 * holder keeps it by calling `tryHold` within the TTL, anyone takes it once it lapses or is released.
 */
export class MemoryLeaderLock implements LeaderLock {
  private readonly table: MemoryLockTable;
  private readonly clock: Clock;

  constructor(private readonly options: MemoryLeaderLockOptions) {
    this.table = options.table ?? new Map();
    this.clock = options.clock ?? systemClock;
  }

  async tryHold(): Promise<boolean> {
    const now = this.clock.now();
    const holder = this.table.get(this.options.key);
    if (holder && holder.owner !== this.options.owner && holder.expiresAt > now) return false;
    this.table.set(this.options.key, { owner: this.options.owner, expiresAt: now + this.options.ttlMs });
    return true;
  }

  async release(): Promise<void> {
    if (this.table.get(this.options.key)?.owner === this.options.owner) this.table.delete(this.options.key);
  }
}
