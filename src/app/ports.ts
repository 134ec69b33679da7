/**
 * Picks each port's adapter from the configuration: Redis and Kafka when they are configured, the
 * in-memory adapters (the embedded default) when they are not, and opens them. The one place that knows
 * which adapter classes exist.
 */
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { MemoryBudgetStore } from '../cost/memory-budget-store.js';
import type { BudgetStore } from '../cost/ports.js';
import { RedisBudgetStore } from '../cost/redis-budget-store.js';
import type { Logger } from '../logger.js';
import { storeOperationSeconds } from '../metrics.js';
import { CompositeTopicSource } from '../services/composite-topic-source.js';
import { createKafkaClient } from '../services/kafka/client.js';
import { KafkaEventBus } from '../services/kafka/event-bus.js';
import { KafkaTopicSource } from '../services/kafka/topic-source.js';
import { ensureTopics } from '../services/kafka/topics.js';
import { MemoryBreakerStateStore } from '../services/memory/breaker-state-store.js';
import { InMemoryEventBus } from '../services/memory/event-bus.js';
import { MemoryLeaderLock } from '../services/memory/leader-lock.js';
import { InMemoryParkedMessages } from '../services/memory/parked-messages.js';
import { MemorySnapshotStore } from '../services/memory/snapshot-store.js';
import { InMemoryTopicClaims } from '../services/memory/topic-claims.js';
import { InMemoryTopicSource } from '../services/memory/topic-source.js';
import { InMemoryTurnCache } from '../services/memory/turn-cache.js';
import type {
  BreakerStateStore,
  Clock,
  EventBus,
  LeaderLock,
  ParkedMessages,
  SnapshotStore,
  TopicClaims,
  TopicSource,
  TurnCache,
} from '../services/ports.js';
import { RedisBreakerStateStore } from '../services/redis/breaker-state-store.js';
import { createRedis } from '../services/redis/client.js';
import { RedisEventBus } from '../services/redis/event-bus.js';
import { parkedKey } from '../services/redis/keys.js';
import { RedisLeaderLock } from '../services/redis/leader-lock.js';
import { RedisParkedMessages } from '../services/redis/parked-messages.js';
import { ReplicaBarrier } from '../services/redis/replica-barrier.js';
import { RedisSnapshotStore } from '../services/redis/snapshot-store.js';
import { RedisTopicClaims } from '../services/redis/topic-claims.js';
import { RedisTopicQueue } from '../services/redis/topic-queue.js';
import { RedisTurnCache } from '../services/redis/turn-cache.js';

/** Relay lock TTL: a dead relay's successor takes over within this. */
const RELAY_LOCK_TTL_MS = 10_000;

/** Topics a dead daemon had taken from the Redis queue go back to it this often. */
const QUEUE_RECOVERY_EVERY_MS = 10_000;

export interface PortsOptions {
  logger: Logger;
  clock: Clock;
  /** This process's id in leases, the relay lock and the topic queue's processing list. */
  owner: string;
  /**
   * Which external intake to consume: the Kafka input topic and/or the Redis topic queue. `none` takes
   * topics only from the in-process queue (one-shot generation).
   * @default every one that is configured
   */
  intake?: 'auto' | 'none';
  /** Where the store's operation latency goes (`chimera_store_operation_seconds`). @default none */
  registry?: Registry;
  /** Replaces port adapters, e.g. a store that refuses writes in a regression test. @default none */
  overrides?: Partial<Pick<Ports, 'store' | 'turnCache' | 'budget'>>;
  /** Each failed admission of a topic message, for the metric. */
  onIntakeFailure?: (source: string, outcome: 'retry' | 'parked') => void;
  /** Each wait for the Redis replicas that ended with fewer than `REDIS_WAIT_REPLICAS`, for the metric. */
  onReplicaShortfall?: () => void;
}

export interface Ports {
  mode: { redis: boolean; kafka: boolean };
  store: SnapshotStore;
  bus: EventBus;
  /** Every intake as one source. */
  source: TopicSource;
  /** The in-process topic queue (library `startNewConversation`, one-shot `generate`). */
  local: InMemoryTopicSource;
  turnCache: TurnCache;
  relayLock: LeaderLock;
  claims: TopicClaims;
  breakerStates: BreakerStateStore;
  /** Messages set aside so they block nothing: a Redis stream with Redis, this process's memory without. */
  parked: ParkedMessages;
  /** The spending cap and what was spent: shared through Redis by every daemon, per process otherwise. */
  budget: BudgetStore;
  redis?: Redis;
  /** Waits for Redis replicas to hold what was written (`REDIS_WAIT_REPLICAS` > 0 only). */
  replicas?: ReplicaBarrier;
  kafka?: Kafka;
  /** Closes every connection and timer these ports opened. */
  close(): Promise<void>;
}

export async function connectPorts(config: Readonly<Config>, options: PortsOptions): Promise<Ports> {
  const { logger, clock, owner } = options;
  const closers: Array<() => Promise<unknown>> = [];
  const timers: NodeJS.Timeout[] = [];

  const redis = config.redis ? createRedis(config.redis.url, { logger }) : undefined;
  const prefix = config.redis?.keyPrefix ?? 'chimera';
  if (redis) closers.push(() => redis.quit().catch(() => redis.disconnect()));

  const store: SnapshotStore =
    options.overrides?.store ??
    (redis
      ? new RedisSnapshotStore({
          redis,
          keyPrefix: prefix,
          finishedTtlMs: config.finishedTtlMs,
          ...(options.registry ? { operationSeconds: storeOperationSeconds(options.registry) } : {}),
        })
      : new MemorySnapshotStore({ clock, finishedTtlMs: config.finishedTtlMs }));
  const turnCache =
    options.overrides?.turnCache ?? (redis ? new RedisTurnCache(redis, prefix) : new InMemoryTurnCache());
  const relayLock = redis
    ? new RedisLeaderLock(redis, `${prefix}:outbox:relay`, owner, RELAY_LOCK_TTL_MS)
    : new MemoryLeaderLock({ key: 'outbox:relay', owner, ttlMs: RELAY_LOCK_TTL_MS, clock });
  const claims: TopicClaims = redis
    ? new RedisTopicClaims({ redis, keyPrefix: prefix })
    : new InMemoryTopicClaims();
  const budget: BudgetStore =
    options.overrides?.budget ??
    (redis ? new RedisBudgetStore({ redis, keyPrefix: prefix }) : new MemoryBudgetStore({ clock }));
  closers.push(() => budget.close());
  const replicas =
    redis && config.redisWait.replicas > 0
      ? new ReplicaBarrier({
          redis,
          markKey: `${prefix}:replica-mark`,
          replicas: config.redisWait.replicas,
          timeoutMs: config.redisWait.timeoutMs,
          logger,
          clock,
          ...(options.onReplicaShortfall ? { onShortfall: options.onReplicaShortfall } : {}),
        })
      : undefined;
  if (replicas) closers.push(() => replicas.close());
  const breakerStates: BreakerStateStore = redis
    ? new RedisBreakerStateStore(redis, prefix)
    : new MemoryBreakerStateStore();

  let kafka: Kafka | undefined;
  let bus: EventBus;
  if (config.kafka) {
    kafka = createKafkaClient(config.kafka, { logger });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, config.kafka);
    } finally {
      await admin.disconnect();
    }
    bus = new KafkaEventBus({ kafka, topics: config.kafka.topics, logger });
  } else if (redis) {
    // Redis without Kafka: events and dead letters in bounded Redis streams, kept across restarts.
    bus = new RedisEventBus({ redis, keyPrefix: prefix, maxLength: config.redisStreamMaxLength, logger });
  } else {
    bus = new InMemoryEventBus({ logger });
  }
  closers.push(() => bus.close());

  const parked: ParkedMessages = redis
    ? new RedisParkedMessages(redis, parkedKey(prefix), config.parkedMaxLength)
    : new InMemoryParkedMessages(config.parkedMaxLength);
  const intake = {
    bus,
    claims,
    maxTitleLength: config.conversation.topicMaxLength,
    maxMessageBytes: config.conversation.topicMaxMessageBytes,
    logger,
    failures: { parked, maxAttempts: config.intakeMaxAttempts, onFailure: options.onIntakeFailure },
  };
  const local = new InMemoryTopicSource({ ...intake, clock, name: 'local' });
  const sources: TopicSource[] = [local];
  if (options.intake !== 'none') {
    if (kafka && config.kafka) {
      sources.push(
        await KafkaTopicSource.start({
          ...intake,
          kafka,
          topic: config.kafka.topics.input,
          groupId: config.kafka.groupId,
          clock,
        }),
      );
    }
    if (redis && config.redis) {
      const queue = new RedisTopicQueue({
        ...intake,
        redis,
        queue: config.redis.topicQueue,
        keyPrefix: prefix,
        instanceId: owner,
        clock,
      });
      await queue.start();
      sources.push(queue);
      const recover = setInterval(() => {
        queue.recoverStale().catch((err: unknown) => logger.warn({ err }, 'topic queue recovery failed'));
      }, QUEUE_RECOVERY_EVERY_MS);
      recover.unref();
      timers.push(recover);
    }
  }
  const source = new CompositeTopicSource(sources, { clock });
  closers.push(() => source.close());

  return {
    mode: { redis: Boolean(redis), kafka: Boolean(kafka) },
    store,
    bus,
    source,
    local,
    turnCache,
    relayLock,
    claims,
    breakerStates,
    parked,
    budget,
    redis,
    ...(replicas ? { replicas } : {}),
    kafka,
    async close() {
      for (const timer of timers) clearInterval(timer);
      for (const close of closers.reverse()) {
        await close().catch((err: unknown) => logger.warn({ err }, 'error while closing an adapter'));
      }
    },
  };
}
