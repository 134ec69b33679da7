import type { Logger } from '../logger.js';
import type { Ownership, SnapshotStore } from '../services/ports.js';

export interface LeaseKeeperOptions {
  store: Pick<SnapshotStore, 'renewLease' | 'releaseLease'>;
  leaseTtlMs: number;
  logger: Logger;
  /**
   * How late the event loop may run before the process counts as overloaded (`overloaded`), and intake
   * holds off. A renewal is due every third of the TTL and the lease lapses when it comes two thirds late.
   * Work admitted before the delay shows keeps adding to it: with a sixth of the TTL a process replying
   * in 8 ms of CPU peaked at a queue of 0.64 of the TTL, and under CPU contention overshot past the lapse
   * and lost every lease (`test/app/embedded.test.ts`); a twelfth leaves room for twice that overshoot.
   * @default a twelfth of the TTL
   */
  maxLoopDelayMs?: number;
}

/** How often the event loop's delay is sampled while leases are renewed. */
export const LOOP_PROBE_MS = 50;

/**
 * Growth between two probes: the leases taken less those given up (settled or lost) since the last probe
 * may reach half as many as are held already, and at least this many. Intake is clocked by the probe, so
 * a process that is late already admits later, and what a burst of new conversations costs shows in the
 * loop's delay before the next, larger burst. On an idle loop the number in flight can grow by half every
 * probe: from nothing to 10,000 in about a second. (Doubling instead overshot past the lease TTL in
 * tests.) Conversations that end make room at once: counting every admission instead held short
 * conversations (instant replies) to 10 per probe, 200 a second, with the process mostly idle.
 */
export const MIN_ADMISSIONS_PER_PROBE = 10;

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
  private probeTimer: NodeJS.Timeout | undefined;
  /** When the probe is due next (`performance.now()`), and how late its last tick ran. */
  private probeDue = 0;
  private probeLateMs = 0;
  /** Leases taken less leases given up since the last probe (negative after more ended than started). */
  private admittedSinceProbe = 0;
  private probeWaiters: Array<() => void> = [];
  private readonly maxLoopDelayMs: number;

  constructor(private readonly options: LeaseKeeperOptions) {
    this.maxLoopDelayMs = options.maxLoopDelayMs ?? Math.floor(options.leaseTtlMs / 12);
  }

  /**
   * How late timers run now: the last probe's delay, or, while the probe is overdue, how overdue. A
   * renewal is a timer like the others, so this is how late the next renewal will be.
   */
  get loopDelayMs(): number {
    if (!this.probeTimer) return 0;
    return Math.max(this.probeLateMs, performance.now() - this.probeDue);
  }

  /**
   * Whether the event loop runs so late that taking more work could make renewals come after the leases
   * lapse. Intake waits while it is (a busy process slows down; it never gives conversations up).
   */
  get overloaded(): boolean {
    return (
      this.loopDelayMs > this.maxLoopDelayMs ||
      this.admittedSinceProbe >= Math.max(MIN_ADMISSIONS_PER_PROBE, Math.ceil(this.held.size / 2))
    );
  }

  /**
   * How many more leases intake may take before the next probe: none while overloaded, otherwise what is
   * left of the probe's allowance (unbounded while no probe runs: renewal not started). An intake step
   * that takes a batch sizes it by this.
   */
  get room(): number {
    if (!this.probeTimer) return Number.POSITIVE_INFINITY;
    if (this.loopDelayMs > this.maxLoopDelayMs) return 0;
    const allowance = Math.max(MIN_ADMISSIONS_PER_PROBE, Math.ceil(this.held.size / 2));
    return Math.max(0, allowance - this.admittedSinceProbe);
  }

  /**
   * Resolves once the process may take another lease: at once when it is not overloaded, otherwise
   * when a conversation ends and makes room, or after the probe ticks with the loop on time again.
   * Resolves too when the signal aborts.
   */
  async untilCapacity(signal: AbortSignal): Promise<void> {
    while (this.probeTimer && this.overloaded && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.probeWaiters.push(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** A lease the intake just took. Until someone follows the conversation, losing it gives its topic back. */
  hold(ownership: Ownership): void {
    this.admittedSinceProbe += 1;
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
    if (!this.held.delete(ownership)) return;
    this.admittedSinceProbe -= 1;
    // Room again before the next probe: whoever waits in `untilCapacity` looks again now.
    if (this.probeWaiters.length > 0 && !this.overloaded) this.wakeProbeWaiters();
  }

  private wakeProbeWaiters(): void {
    const waiters = this.probeWaiters;
    this.probeWaiters = [];
    for (const wake of waiters) wake();
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
    this.probeDue = performance.now() + LOOP_PROBE_MS;
    this.probeTimer = setInterval(() => {
      const now = performance.now();
      this.probeLateMs = Math.max(0, now - this.probeDue);
      this.probeDue = now + LOOP_PROBE_MS;
      this.admittedSinceProbe = 0;
      this.wakeProbeWaiters();
    }, LOOP_PROBE_MS);
    this.probeTimer.unref();
  }

  /** Stops renewing leases (a process frozen past its TTL looks like this); writes go on and get fenced. */
  stopRenewal(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.probeTimer) clearInterval(this.probeTimer);
    this.renewTimer = undefined;
    this.probeTimer = undefined;
    this.probeLateMs = 0;
    this.wakeProbeWaiters();
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
