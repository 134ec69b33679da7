import type { EventTopics } from '../events.js';
import type { Logger } from '../logger.js';
import {
  type Clock,
  type EventBus,
  type LeaderLock,
  type OutboxEntry,
  type SnapshotStore,
  systemClock,
} from '../services/ports.js';

export interface OutboxRelayOptions {
  store: SnapshotStore;
  bus: EventBus;
  logger: Logger;
  /** Only the holder relays, so one conversation's events leave in the order they were written. */
  lock: LeaderLock;
  /** Bounds the final delivery in `stop`. @default the system clock */
  clock?: Clock;
  /**
   * Entries per publish.
   * @default 500
   */
  batchSize?: number;
  /**
   * Wait between looks at an empty outbox (a local write wakes the relay sooner).
   * @default 200
   */
  idleMs?: number;
  /**
   * First wait after a failed publish; doubles up to 5 s while the bus is down.
   * @default 250
   */
  retryMs?: number;
}

/**
 * Moves events from the outbox (written atomically with each snapshot) to the event bus, in order, and
 * deletes only what the bus acknowledged. While the bus is down, events wait in the outbox; nothing is lost,
 * and an entry published just before a crash is published again (consumers dedupe by event id).
 */
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly batchSize: number;
  private readonly idleMs: number;
  private readonly retryMs: number;
  /** Events this relay delivered since start. */
  delivered = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.idleMs = options.idleMs ?? 200;
    this.retryMs = options.retryMs ?? 250;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** New entries were written: look now rather than after the idle wait. */
  poke(): void {
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        if (!(await this.options.lock.tryHold())) {
          await this.pause(this.idleMs * 5);
          continue;
        }
        const sent = await this.relayOnce();
        failures = 0;
        if (sent === 0) await this.pause(this.idleMs);
      } catch (err) {
        failures += 1;
        const wait = Math.min(5000, this.retryMs * 2 ** Math.min(failures - 1, 5));
        this.options.logger.warn(
          { err, retryInMs: wait },
          'outbox relay could not publish; events stay in the outbox',
        );
        await this.pause(wait);
      }
    }
  }

  /** Publishes one batch; resolves to the number of events delivered. */
  async relayOnce(): Promise<number> {
    const entries = await this.options.store.readOutbox(this.batchSize);
    if (entries.length === 0) return 0;
    const byTopic = new Map<keyof EventTopics, OutboxEntry[]>();
    for (const entry of entries) {
      const list = byTopic.get(entry.topic) ?? [];
      list.push(entry);
      byTopic.set(entry.topic, list);
    }
    for (const [topic, list] of byTopic) {
      await this.options.bus.publish(
        topic,
        list.map((e) => ({ key: e.key, value: e.value as EventTopics[typeof topic], headers: e.headers })),
      );
    }
    await this.options.store.ackOutbox(entries.map((e) => e.id));
    this.delivered += entries.length;
    return entries.length;
  }

  /** Stops after the current batch and delivers what is left, if the bus takes it within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    const clock = this.options.clock ?? systemClock;
    const deadline = clock.now() + timeoutMs;
    try {
      while (clock.now() < deadline && (await this.options.lock.tryHold()) && (await this.relayOnce()) > 0) {
        // keep draining
      }
    } catch (err) {
      this.options.logger.warn(
        { err },
        'outbox not fully relayed at shutdown; the next relay delivers the rest',
      );
    }
    await this.options.lock.release();
  }
}
