import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { TopicMessage } from '../../events.js';
import type { IntakeOptions, RawTopicMessage } from '../../intake/admit.js';
import { settleOnce } from '../../intake/delivery.js';
import { encodeEvent } from '../../intake/event-codec.js';
import { type GuardedAdmission, IntakeGuard } from '../../intake/intake-guard.js';
import { defaultIntakeFailures } from '../memory/parked-messages.js';
import { type Clock, systemClock, type TopicDelivery, type TopicSource } from '../ports.js';

/** A daemon silent this long is presumed dead and its topics in flight go back to the queue. */
export const DEFAULT_HEARTBEAT_TTL_MS = 30_000;

export interface RedisTopicQueueOptions extends IntakeOptions {
  /**
   * Used for every non-blocking command. The queue opens its own duplicate for `BLMOVE`, since a
   * blocking pop holds its connection.
   */
  redis: Redis;
  /** The LIST producers `LPUSH` JSON topic messages onto (`config.redis.topicQueue`). */
  queue: string;
  /** `config.redis.keyPrefix`. */
  keyPrefix: string;
  /** This daemon's id (`config.instanceId`): it names the processing list and the heartbeat. */
  instanceId: string;
  /**
   * How long the heartbeat lasts without renewal; renewed every third of it.
   * @default DEFAULT_HEARTBEAT_TTL_MS (30 s)
   */
  heartbeatTtlMs?: number;
  /** @default systemClock */
  clock?: Clock;
}

/** Every key the queue uses besides the queue itself. */
export function topicQueueKeys(keyPrefix: string, instanceId: string) {
  return {
    processing: `${keyPrefix}:topics:processing:${instanceId}`,
    heartbeat: `${keyPrefix}:topics:alive:${instanceId}`,
    /** Set of instance ids that may have a processing list: recovery reads it instead of scanning keys. */
    instances: `${keyPrefix}:topics:instances`,
  };
}

/**
 * Moves a dead instance's processing list back onto the consumer end of the queue, atomically with the
 * liveness check, so an instance that comes back mid-recovery cannot lose or double its topics.
 * KEYS: heartbeat, processing, queue, instances. ARGV: instance id. Returns moved count, -1 if alive.
 */
const RECOVER_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local moved = 0
while redis.call('LMOVE', KEYS[2], KEYS[3], 'RIGHT', 'RIGHT') do moved = moved + 1 end
redis.call('SREM', KEYS[4], ARGV[1])
return moved
`;

/**
 * Gives a processing entry back to the consumer end of the queue, if it is still in the list.
 * KEYS: processing, queue. ARGV: entry. Returns 1 when moved.
 */
const RELEASE_SCRIPT = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 1 then
  redis.call('RPUSH', KEYS[2], ARGV[1])
  return 1
end
return 0
`;

/**
 * Validates a topic message and queues it for the daemons: `LPUSH`, the same as any producer does.
 * @throws {InvalidEventError} when the message does not match the topic message schema.
 */
export async function enqueueTopic(redis: Redis, queue: string, message: TopicMessage): Promise<void> {
  await redis.lpush(queue, encodeEvent('topics', message));
}

/**
 * Topics from the Redis LIST the ingestion service feeds. A reliable pop (`BLMOVE queue processing
 * RIGHT LEFT`) keeps each topic in this daemon's processing list while it is in flight: `ack()` removes
 * it, `release()` moves it back to the queue, and if the daemon dies its heartbeat lapses and
 * `recoverStale()` (called by any live daemon) moves its topics back. Processing lists are indexed in a
 * set, so recovery needs no key scan.
 *
 * Entries are matched by value: two byte-identical messages in flight at once are the same message to
 * `LREM`, and share one claim, so they start one conversation.
 */
export class RedisTopicQueue implements TopicSource {
  private readonly blocking: Redis;
  private readonly keys: ReturnType<typeof topicQueueKeys>;
  private readonly heartbeatTtlMs: number;
  private readonly clock: Clock;
  private readonly guard: IntakeGuard;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private started: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: RedisTopicQueueOptions) {
    this.blocking = options.redis.duplicate();
    this.blocking.on('error', () => {}); // reconnects on its own; see createRedis
    this.keys = topicQueueKeys(options.keyPrefix, options.instanceId);
    this.heartbeatTtlMs = options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
    this.clock = options.clock ?? systemClock;
    this.guard = new IntakeGuard('redis', {
      ...options,
      clock: this.clock,
      failures: options.failures ?? defaultIntakeFailures(),
    });
  }

  /** Publishes the heartbeat and registers this instance; idempotent, and done by the first `next()`. */
  start(): Promise<void> {
    if (!this.started) {
      this.started = (async () => {
        await this.beat();
        await this.options.redis.sadd(this.keys.instances, this.options.instanceId);
        this.heartbeatTimer = setInterval(
          () => {
            this.beat().catch((error: unknown) =>
              this.options.logger.warn({ err: error }, 'topic queue heartbeat failed'),
            );
          },
          Math.max(1, Math.floor(this.heartbeatTtlMs / 3)),
        );
        this.heartbeatTimer.unref();
      })();
    }
    return this.started;
  }

  private async beat(): Promise<void> {
    await this.options.redis.set(this.keys.heartbeat, String(this.clock.now()), 'PX', this.heartbeatTtlMs);
  }

  /** Queues a topic message (for `chimera topics add`). */
  enqueue(message: TopicMessage): Promise<void> {
    return enqueueTopic(this.options.redis, this.options.queue, message);
  }

  private rawFrom(entry: Buffer): RawTopicMessage {
    const digest = createHash('sha256').update(entry).digest('hex').slice(0, 32);
    return {
      key: null,
      value: entry,
      from: { topic: this.options.queue },
      origin: `redis:${this.options.queue}:${digest}`,
    };
  }

  private async pop(waitMs: number): Promise<Buffer | null> {
    const { queue } = this.options;
    const { processing } = this.keys;
    // BLMOVE with timeout 0 would block forever: a zero wait is a plain LMOVE.
    if (waitMs <= 0) return this.options.redis.lmoveBuffer(queue, processing, 'RIGHT', 'LEFT');
    try {
      return await this.blocking.blmoveBuffer(queue, processing, 'RIGHT', 'LEFT', waitMs / 1000);
    } catch (error) {
      // close() cut the blocking connection to end the wait.
      if (this.closed) return null;
      throw error;
    }
  }

  private async remove(entry: Buffer): Promise<void> {
    await this.options.redis.lrem(this.keys.processing, 1, entry);
  }

  private async giveBack(entry: Buffer): Promise<void> {
    await this.options.redis.eval(RELEASE_SCRIPT, 2, this.keys.processing, this.options.queue, entry);
  }

  async next(waitMs: number): Promise<TopicDelivery | null> {
    if (this.closed) return null;
    await this.start();
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      if (this.closed) return null;
      if (!(await this.guard.waitOut(deadline))) return null;
      const entry = await this.pop(Math.max(0, deadline - this.clock.now()));
      if (!entry) return null;
      const raw = this.rawFrom(entry);
      let admission: GuardedAdmission;
      try {
        admission = await this.guard.admit(raw);
      } catch (error) {
        await this.giveBack(entry);
        throw error;
      }
      if (admission.kind === 'topic') {
        return settleOnce(admission.topic, this.options.claims, {
          ack: () => this.remove(entry),
          release: () => this.giveBack(entry),
        });
      }
      await this.remove(entry);
    }
  }

  /**
   * Moves the topics of every registered instance whose heartbeat lapsed back onto the queue, and
   * forgets those instances. Safe to call from every daemon at any time. Returns how many topics moved.
   */
  async recoverStale(): Promise<number> {
    const { redis, keyPrefix, queue } = this.options;
    const instances = await redis.smembers(this.keys.instances);
    let moved = 0;
    for (const instanceId of instances) {
      if (instanceId === this.options.instanceId) continue;
      const keys = topicQueueKeys(keyPrefix, instanceId);
      const result = Number(
        await redis.eval(
          RECOVER_SCRIPT,
          4,
          keys.heartbeat,
          keys.processing,
          queue,
          keys.instances,
          instanceId,
        ),
      );
      if (result > 0) {
        this.options.logger.warn({ instanceId, topics: result }, 'recovered topics of a dead instance');
        moved += result;
      }
    }
    return moved;
  }

  /**
   * Stops the heartbeat and leaves. Topics still in this instance's processing list (neither acked nor
   * released) are recovered by another daemon, the heartbeat being gone.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    // Wakes a BLMOVE in progress; what it may still move lands in the processing list and is recovered.
    this.blocking.disconnect();
    if (this.started) {
      await this.options.redis.del(this.keys.heartbeat);
      if ((await this.options.redis.llen(this.keys.processing)) === 0) {
        await this.options.redis.srem(this.keys.instances, this.options.instanceId);
      }
    }
  }
}
