import type { Logger } from '../logger.js';
import type { Ownership, SnapshotStore } from '../services/ports.js';

export interface LeaseKeeperOptions {
  store: Pick<SnapshotStore, 'renewLease' | 'releaseLease'>;
  leaseTtlMs: number;
  logger: Logger;
}

/** Called when a held lease could not be renewed: another owner may have it now. */
export type LostHandler = (error: Error) => void;

/**
 * Gives a topic that was never started back to its source: a conversation lost before its first save has
 * nothing in the store for anyone to adopt, so the topic it came from (not acknowledged yet) must be
 * started again.
 */
export function giveBack(ownership: Ownership, logger: Logger): void {
  const delivery = ownership.delivery;
  ownership.delivery = undefined;
  delivery?.release().catch((err: unknown) => {
    logger.warn({ conversationId: ownership.conversationId, err }, 'could not give an unstarted topic back');
  });
}

/**
 * Every lease this process holds, from the moment the intake takes one until its conversation is settled
 * or lost: renewed every third of the TTL (a lease that cannot be renewed is lost, and whoever follows the
 * conversation hears of it), and given up on a drain so another daemon adopts at once.
 */
export class LeaseKeeper {
  private readonly held = new Map<Ownership, LostHandler>();
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LeaseKeeperOptions) {}

  /** A lease the intake just took. Until someone follows the conversation, losing it gives its topic back. */
  hold(ownership: Ownership): void {
    this.held.set(ownership, () => {
      this.held.delete(ownership);
      giveBack(ownership, this.options.logger);
    });
  }

  /** The conversation's persister takes over: it decides what losing the lease means. */
  onLost(ownership: Ownership, handler: LostHandler): void {
    if (this.held.has(ownership)) this.held.set(ownership, handler);
  }

  /** No longer ours to keep (settled, or lost): not renewed, not released. */
  drop(ownership: Ownership): void {
    this.held.delete(ownership);
  }

  get count(): number {
    return this.held.size;
  }

  /** Renews every held lease each third of the TTL. */
  startRenewal(): void {
    if (this.renewTimer) return;
    const every = Math.max(100, Math.floor(this.options.leaseTtlMs / 3));
    this.renewTimer = setInterval(() => void this.renewAll(), every);
    this.renewTimer.unref();
  }

  /** Stops renewing leases (a process frozen past its TTL looks like this); writes go on and get fenced. */
  stopRenewal(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.held.keys()].map(async (ownership) => {
        try {
          const renewed = await this.options.store.renewLease(ownership.lease, this.options.leaseTtlMs);
          if (renewed) ownership.lease.expiresAt = renewed.expiresAt;
          // Whoever follows the conversation now (it may have changed while the renewal was in flight).
          else this.held.get(ownership)?.(new Error('lease lost'));
        } catch (err) {
          // Redis unreachable: keep the lease as it is; the fence rejects our writes if someone took it.
          this.options.logger.warn(
            { conversationId: ownership.conversationId, err },
            'lease renewal failed; will retry',
          );
        }
      }),
    );
  }

  /**
   * Shutdown: gives up every lease still held, so another daemon adopts those conversations at once
   * instead of after the TTL, and returns unstarted topics to their source. Call it once pending writes
   * are done (a write after the release would be fenced out).
   */
  async releaseAll(): Promise<void> {
    this.stopRenewal();
    const all = [...this.held.keys()];
    this.held.clear();
    await Promise.all(
      all.map(async (ownership) => {
        try {
          if (ownership.delivery) await ownership.delivery.release();
          await this.options.store.releaseLease(ownership.lease);
        } catch (err) {
          this.options.logger.warn(
            { conversationId: ownership.conversationId, err },
            'could not release lease; it will lapse',
          );
        }
      }),
    );
  }

  /** Forgets every lease without releasing it, as a killed process would: for crash-recovery tests. */
  halt(): void {
    this.stopRenewal();
    this.held.clear();
  }
}
