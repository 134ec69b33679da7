import { isEventTooLargeError } from '../errors.js';
import type { EventTopics } from '../events.js';
import type { Logger } from '../logger.js';
import {
  type Clock,
  type EventBus,
  type LeaderLock,
  type OutboxEntry,
  type ParkedMessages,
  type SnapshotStore,
  systemClock,
} from '../services/ports.js';

/**
 * Bytes of events per publish: under Kafka's default 1 MB limit on a request and a record batch
 * (`message.max.bytes`, `max.request.size`), with room for the batch's own framing.
 */
export const DEFAULT_RELAY_BATCH_BYTES = 900_000;

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
  /**
   * Bytes of events (JSON values, keys and headers) per publish; a single larger event goes alone.
   * @default DEFAULT_RELAY_BATCH_BYTES
   */
  maxBatchBytes?: number;
  /**
   * Where an event the bus refuses as too large goes, so it never blocks the events behind it.
   * @default none: such an event is logged and dropped from the outbox (the record stays in the store)
   */
  parked?: ParkedMessages;
  /** An event was parked (or dropped) as too large: for the metric. */
  onTooLarge?: () => void;
  /**
   * Resolves true once Redis replicas hold every write answered before the call (`REDIS_WAIT_REPLICAS`,
   * `src/services/redis/replica-barrier.ts`): then nothing is published that a failover could still take
   * back. @default publish what was read at once
   */
  replicated?: () => Promise<boolean>;
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
  private readonly maxBatchBytes: number;
  /** Events this relay delivered since start. */
  delivered = 0;
  /** Events the bus refused as too large, parked instead, since start. */
  parkedTooLarge = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 500;
    this.idleMs = options.idleMs ?? 200;
    this.retryMs = options.retryMs ?? 250;
    this.maxBatchBytes = options.maxBatchBytes ?? DEFAULT_RELAY_BATCH_BYTES;
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

  /**
   * Publishes one batch: the oldest entries up to `batchSize` and `maxBatchBytes` (at least one). If the
   * bus refuses it as too large, its entries go one by one, and one refused on its own is parked.
   * Resolves to the number of entries taken out of the outbox (delivered or parked).
   */
  async relayOnce(): Promise<number> {
    let read = await this.options.store.readOutbox(this.batchSize);
    if (read.length === 0) return 0;
    // With replicas to wait for: publish what they hold. When they fall short (a failover under way, or a
    // replica lagging past the timeout), read again from whichever master answers now, which no longer
    // has what a lost primary took with it, and publish that.
    if (this.options.replicated && !(await this.options.replicated())) {
      read = await this.options.store.readOutbox(this.batchSize);
      if (read.length === 0) return 0;
    }
    const entries = this.withinBytes(read);
    try {
      await this.publish(entries);
    } catch (error) {
      if (!isEventTooLargeError(error)) throw error;
      if (entries.length > 1) {
        this.options.logger.warn(
          { events: entries.length },
          'the bus refused a batch as too large; publishing its events one by one',
        );
      }
      for (const entry of entries) await this.publishOrPark(entry);
      return entries.length;
    }
    await this.options.store.ackOutbox(entries.map((e) => e.id));
    this.delivered += entries.length;
    return entries.length;
  }

  /** The leading entries whose size adds up to at most `maxBatchBytes`, and always the first. */
  private withinBytes(entries: OutboxEntry[]): OutboxEntry[] {
    let bytes = 0;
    let count = 0;
    for (const entry of entries) {
      bytes += entrySize(entry);
      if (count > 0 && bytes > this.maxBatchBytes) break;
      count += 1;
    }
    return entries.slice(0, count);
  }

  private async publish(entries: OutboxEntry[]): Promise<void> {
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
  }

  /** One entry on its own; refused as too large, it is parked so the entries behind it go on. */
  private async publishOrPark(entry: OutboxEntry): Promise<void> {
    try {
      await this.publish([entry]);
      this.delivered += 1;
    } catch (error) {
      if (!isEventTooLargeError(error)) throw error;
      const value = Buffer.from(JSON.stringify(entry.value ?? null), 'utf8');
      await this.options.parked?.park({
        key: entry.key,
        value,
        reason: `event_too_large: ${error.message}`,
        from: { topic: entry.topic, offset: entry.id },
        at: (this.options.clock ?? systemClock).now(),
      });
      this.parkedTooLarge += 1;
      this.options.onTooLarge?.();
      this.options.logger.error(
        {
          conversationId: entry.key,
          eventId: entry.headers['chimera-event-id'],
          bytes: value.length,
          parked: Boolean(this.options.parked),
        },
        'the bus refused an event as too large; parked it and went on with the rest',
      );
    }
    await this.options.store.ackOutbox([entry.id]);
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

/** An entry's size as it will be sent, near enough: its JSON value, key and headers. */
function entrySize(entry: OutboxEntry): number {
  let bytes = Buffer.byteLength(JSON.stringify(entry.value ?? null)) + Buffer.byteLength(entry.key);
  for (const [name, value] of Object.entries(entry.headers)) bytes += name.length + value.length;
  return bytes;
}
