import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';
import type { IntakeOptions, RawTopicMessage } from '../../intake/admit.js';
import { settleOnce } from '../../intake/delivery.js';
import { type GuardedAdmission, IntakeGuard } from '../../intake/intake-guard.js';
import { PullBuffer } from '../../intake/pull-buffer.js';
import { defaultIntakeFailures } from '../memory/parked-messages.js';
import { type Clock, systemClock, type TopicDelivery, type TopicSource } from '../ports.js';
import { OffsetTracker } from './offset-tracker.js';

/** Messages read ahead of `next()`: enough to start a burst of conversations without a fetch round trip. */
export const DEFAULT_TOPIC_BUFFER_SIZE = 32;

/**
 * How long the group waits for a silent member before giving its partitions to the others. A crashed
 * daemon cannot leave the group, and the rebalance a restarted daemon's join starts holds every member's
 * intake until the dead one is evicted: kafkajs' 30 s default stalled the whole group for that long after
 * each crash. Ten seconds is well above any pause of a healthy daemon's event loop.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/** A third of the session timeout, as Kafka recommends. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 3_000;

/**
 * How long one fetch waits for new messages, and how long kafkajs sleeps while every partition is paused.
 * The buffer pauses the consumer whenever it is full, so with kafkajs' 5 s default each refill of a backlog
 * waited out that sleep: about 7 topics a second. At 250 ms a backlog flows at over 100 a second, for four
 * cheap fetches a second when idle.
 */
export const DEFAULT_MAX_WAIT_TIME_MS = 250;

/** First wait before restarting a consumer kafkajs gave up on; doubles up to the maximum. */
export const CONSUMER_RESTART_BASE_MS = 1_000;
export const CONSUMER_RESTART_MAX_MS = 30_000;

export interface KafkaTopicSourceOptions extends IntakeOptions {
  kafka: Kafka;
  /** The input topic's physical name (`config.kafka.topics.input`). */
  topic: string;
  /** `config.kafka.groupId`: every daemon in the group shares the input. */
  groupId: string;
  /** @default DEFAULT_TOPIC_BUFFER_SIZE (32) */
  bufferSize?: number;
  /**
   * Where a group without committed offsets starts. Topics queued before the first daemon started are
   * work to do, so the default is the beginning.
   * @default true
   */
  fromBeginning?: boolean;
  /**
   * Extra consumer settings (fetch sizes, or a session timeout other than the default).
   * @default { sessionTimeout: DEFAULT_SESSION_TIMEOUT_MS, heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL_MS, maxWaitTimeInMs: DEFAULT_MAX_WAIT_TIME_MS }
   */
  consumer?: Omit<ConsumerConfig, 'groupId'>;
  /** @default systemClock */
  clock?: Clock;
}

/**
 * Topics from the Kafka input topic through a consumer group, pulled one at a time.
 *
 * kafkajs pushes messages; they wait in a bounded buffer, and the consumer is paused while the buffer is
 * full and resumed once `next()` drained it to half, so a supervisor at capacity simply stops pulling.
 * Offsets are committed by hand, only after a topic's `ack()` (its conversation was persisted) or after an
 * invalid or duplicate message was dealt with, and only up to the oldest message still outstanding in
 * its partition (see {@link OffsetTracker}).
 *
 * `release()` puts the message back at the head of the local buffer and commits nothing: this process
 * hands it out again, and if the process stops first, the partition's next owner reads it again from
 * the committed offset. (Seeking back instead would re-read every later message of the partition too.)
 *
 * A rebalance drops the buffered messages (Kafka fetches them again from the committed offset for
 * whoever owns the partition now); topics already handed out stay valid, and their ack commits only if
 * this consumer still owns the partition.
 */
export class KafkaTopicSource implements TopicSource {
  private readonly buffer = new PullBuffer<RawTopicMessage>();
  private readonly tracker = new OffsetTracker();
  private readonly consumer: Consumer;
  private readonly bufferSize: number;
  private readonly clock: Clock;
  private readonly guard: IntakeGuard;
  private paused = false;
  private closed = false;
  /** Commits go out one at a time, so an older commit never lands after a newer one. */
  private commits: Promise<void> = Promise.resolve();
  private restartDelayMs = CONSUMER_RESTART_BASE_MS;
  private restartTimer: NodeJS.Timeout | undefined;

  private constructor(private readonly options: KafkaTopicSourceOptions) {
    this.consumer = options.kafka.consumer({
      sessionTimeout: DEFAULT_SESSION_TIMEOUT_MS,
      heartbeatInterval: DEFAULT_HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: DEFAULT_MAX_WAIT_TIME_MS,
      ...options.consumer,
      groupId: options.groupId,
    });
    this.bufferSize = options.bufferSize ?? DEFAULT_TOPIC_BUFFER_SIZE;
    this.clock = options.clock ?? systemClock;
    this.guard = new IntakeGuard('kafka', {
      ...options,
      clock: this.clock,
      failures: options.failures ?? defaultIntakeFailures(),
    });
  }

  /** Joins the group and starts reading; resolves once this member has its partitions. */
  static async start(options: KafkaTopicSourceOptions): Promise<KafkaTopicSource> {
    const source = new KafkaTopicSource(options);
    await source.run();
    return source;
  }

  private async run(): Promise<void> {
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      this.restartDelayMs = CONSUMER_RESTART_BASE_MS;
      this.onAssignment(payload.memberAssignment[this.options.topic] ?? []);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      this.options.logger.error({ err: payload.error, restart: payload.restart }, 'topic consumer crashed');
      // kafkajs restarts only after errors it deems retriable. Others (no group coordinator while a broker
      // restarts) leave the consumer stopped for good, and this daemon without Kafka intake: restart it here.
      if (!payload.restart) this.restartLater();
    });
    await consumer.connect();
    try {
      await consumer.subscribe({
        topics: [this.options.topic],
        fromBeginning: this.options.fromBeginning ?? true,
      });
      await this.consume();
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private consume(): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (this.closed) return;
        if (!this.tracker.ensure(partition).track(message.offset)) return;
        this.buffer.push({
          key: message.key?.toString() ?? null,
          value: message.value ?? Buffer.alloc(0),
          from: { topic: this.options.topic, partition, offset: message.offset },
          origin: `kafka:${this.options.topic}:${partition}:${message.offset}`,
        });
        // Pausing inside eachMessage makes kafkajs stop this batch here and fetch the rest after resume.
        if (this.buffer.size >= this.bufferSize && !this.paused) {
          this.paused = true;
          this.consumer.pause([{ topic: this.options.topic }]);
        }
      },
    });
  }

  /** Connects and runs the stopped consumer again after a wait; a failed attempt crashes and comes back here. */
  private restartLater(): void {
    if (this.closed || this.restartTimer) return;
    const delayMs = this.restartDelayMs;
    this.restartDelayMs = Math.min(this.restartDelayMs * 2, CONSUMER_RESTART_MAX_MS);
    this.options.logger.warn({ delayMs }, `restarting the topic consumer in ${delayMs}ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.closed) return;
      // A new run starts unpaused; its first assignment drops the buffer, as after any rebalance.
      this.paused = false;
      this.consumer
        .connect()
        .then(() => this.consume())
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, 'topic consumer restart failed');
          this.restartLater();
        });
    }, delayMs);
  }

  /** Messages read from Kafka and waiting for `next()`: at most the buffer size. */
  get buffered(): number {
    return this.buffer.size;
  }

  private onAssignment(partitions: number[]): void {
    const assigned = new Set(partitions);
    this.tracker.reassign(partitions);
    // Kafka fetches every partition again from its committed offset after a rebalance.
    const dropped = this.buffer.remove(() => true).length;
    this.options.logger.info({ partitions, dropped }, 'topic partitions assigned');
    this.maybeResume();
    // A commit refused during the rebalance is retried for the partitions kept.
    for (const [partition] of this.tracker.pendingCommits()) {
      if (assigned.has(partition)) this.commit(partition);
    }
  }

  private maybeResume(): void {
    if (this.paused && this.buffer.size <= Math.floor(this.bufferSize / 2)) {
      this.paused = false;
      try {
        this.consumer.resume([{ topic: this.options.topic }]);
      } catch {
        // The consumer is stopped (crashed, restarting): its next run starts unpaused anyway.
      }
    }
  }

  private commit(partition: number): void {
    this.commits = this.commits.then(async () => {
      const offsets = this.tracker.partition(partition);
      const offset = offsets?.pendingCommit();
      if (!offsets || offset === undefined) return;
      try {
        await this.consumer.commitOffsets([{ topic: this.options.topic, partition, offset }]);
        offsets.markCommitted(offset);
      } catch (error) {
        // Not lost: retried on the next ack or after the rebalance; at worst the topic is read again.
        this.options.logger.warn({ err: error, partition, offset }, 'topic offset commit failed');
      }
    });
  }

  /** The message is finished with (persisted, dead-lettered or a duplicate): commit what became contiguous. */
  private async settle(raw: RawTopicMessage): Promise<void> {
    const partition = raw.from.partition!;
    const offsets = this.tracker.partition(partition);
    if (!offsets) return; // revoked meanwhile: the new owner reads it again and skips it as a duplicate
    if (offsets.done(raw.from.offset!) !== undefined) {
      this.commit(partition);
      await this.commits;
    }
  }

  private giveBack(raw: RawTopicMessage): void {
    if (this.closed) return;
    if (this.tracker.partition(raw.from.partition!)?.release(raw.from.offset!)) this.buffer.unshift(raw);
  }

  async next(waitMs: number): Promise<TopicDelivery | null> {
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      if (this.closed) return null;
      if (!(await this.guard.waitOut(deadline))) return null;
      const raw = await this.buffer.take(Math.max(0, deadline - this.clock.now()));
      this.maybeResume();
      if (!raw) return null;
      const offsets = this.tracker.partition(raw.from.partition!);
      if (!offsets) continue; // its partition was revoked while it waited
      offsets.deliver(raw.from.offset!);
      let admission: GuardedAdmission;
      try {
        admission = await this.guard.admit(raw);
      } catch (error) {
        this.giveBack(raw);
        throw error;
      }
      if (admission.kind === 'topic') {
        return settleOnce(admission.topic, this.options.claims, {
          ack: () => this.settle(raw),
          release: async () => this.giveBack(raw),
        });
      }
      await this.settle(raw);
    }
  }

  /** Stops reading and leaves the group; topics not acked by then are read again by the group. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    this.buffer.close();
    await this.commits;
    await this.consumer.disconnect();
  }
}
