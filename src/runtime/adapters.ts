/**
 * Picks each port's adapter from the configuration: Redis and Kafka when they are configured, the
 * in-memory adapters (the embedded default) when they are not. Providers get their rate limiter (shared
 * through Redis when there is one), breaker (started open when Redis holds a recent open report for the
 * provider, see `breaker-restore.ts`) and retry policy here.
 */
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import type { Config, ProviderName } from '../config.js';
import type { Logger } from '../logger.js';
import { createMetrics, type ProviderMetrics } from '../metrics.js';
import { restoreBreakers } from '../resilience/breaker-restore.js';
import { rateLimitSettingsFor } from '../resilience/gcra.js';
import { makeResilient } from '../resilience/make-resilient.js';
import type { ProviderBreaker } from '../resilience/provider-breaker.js';
import type { ResilientProvider } from '../resilience/resilient-provider.js';
import { CompositeTopicSource } from '../services/composite-topic-source.js';
import { createKafkaClient } from '../services/kafka/client.js';
import { KafkaEventBus } from '../services/kafka/event-bus.js';
import { KafkaTopicSource } from '../services/kafka/topic-source.js';
import { ensureTopics } from '../services/kafka/topics.js';
import { MemoryBreakerStateStore } from '../services/memory/breaker-state-store.js';
import { InMemoryEventBus } from '../services/memory/event-bus.js';
import { MemoryLeaderLock } from '../services/memory/leader-lock.js';
import type { MemoryRateLimitStore } from '../services/memory/rate-limiter.js';
import { MemoryRateLimiter } from '../services/memory/rate-limiter.js';
import { MemorySnapshotStore } from '../services/memory/snapshot-store.js';
import { InMemoryTopicClaims } from '../services/memory/topic-claims.js';
import { InMemoryTopicSource } from '../services/memory/topic-source.js';
import { InMemoryTurnCache } from '../services/memory/turn-cache.js';
import type {
  BreakerStateStore,
  Clock,
  EventBus,
  LeaderLock,
  LlmProvider,
  RateLimiter,
  SnapshotStore,
  TopicClaims,
  TopicSource,
  TurnCache,
} from '../services/ports.js';
import { ProviderFactory } from '../services/providers/factory.js';
import { RedisBreakerStateStore } from '../services/redis/breaker-state-store.js';
import { createRedis } from '../services/redis/client.js';
import { RedisLeaderLock } from '../services/redis/leader-lock.js';
import { RedisRateLimiter } from '../services/redis/rate-limiter.js';
import { RedisSnapshotStore } from '../services/redis/snapshot-store.js';
import { RedisTopicClaims } from '../services/redis/topic-claims.js';
import { RedisTopicQueue } from '../services/redis/topic-queue.js';
import { RedisTurnCache } from '../services/redis/turn-cache.js';

export interface AdapterOptions {
  logger: Logger;
  clock: Clock;
  /** This process's id in leases, the relay lock and the topic queue's processing list. */
  owner: string;
  /** Providers to build (the two sides). */
  providers: readonly ProviderName[];
  /** @default a fresh registry */
  registry?: Registry;
  /**
   * Which external intake to consume: the Kafka input topic and/or the Redis topic queue. `none` takes
   * topics only from the in-process queue (one-shot generation).
   * @default every one that is configured
   */
  intake?: 'auto' | 'none';
  /** Replaces a provider adapter (tests, and the `simulated` provider's latency for benchmarks). */
  providerOverrides?: Partial<Record<ProviderName, LlmProvider>>;
  /** Inspection observer handed to each circuit breaker's actor (the Stately inspector). @default none */
  inspect?: (event: InspectionEvent) => void;
}

export interface Adapters {
  mode: { redis: boolean; kafka: boolean };
  store: SnapshotStore;
  bus: EventBus;
  /** Every intake as one source. */
  source: TopicSource;
  /** The in-process topic queue (library `startNewConversation`, one-shot `generate`). */
  local: InMemoryTopicSource;
  turnCache: TurnCache;
  relayLock: LeaderLock;
  factory: ProviderFactory;
  providers: Map<string, ResilientProvider>;
  breakers: Map<string, ProviderBreaker>;
  breakerStates: BreakerStateStore;
  limiters: Map<string, RateLimiter>;
  metrics: ProviderMetrics;
  registry: Registry;
  redis?: Redis;
  kafka?: Kafka;
  close(): Promise<void>;
}

/** Relay lock TTL: a dead relay's successor takes over within this. */
const RELAY_LOCK_TTL_MS = 10_000;

export async function createAdapters(config: Readonly<Config>, options: AdapterOptions): Promise<Adapters> {
  const { logger, clock, owner } = options;
  const closers: Array<() => Promise<unknown>> = [];
  const timers: NodeJS.Timeout[] = [];
  const registry = options.registry ?? new Registry();
  const metrics = createMetrics(registry);

  const redis = config.redis ? createRedis(config.redis.url, { logger }) : undefined;
  const prefix = config.redis?.keyPrefix ?? 'chimera';
  if (redis) closers.push(() => redis.quit().catch(() => redis.disconnect()));

  const store: SnapshotStore = redis
    ? new RedisSnapshotStore({ redis, keyPrefix: prefix, finishedTtlMs: config.finishedTtlMs })
    : new MemorySnapshotStore({ clock, finishedTtlMs: config.finishedTtlMs });
  const turnCache = redis ? new RedisTurnCache(redis, prefix) : new InMemoryTurnCache();
  const relayLock = redis
    ? new RedisLeaderLock(redis, `${prefix}:outbox:relay`, owner, RELAY_LOCK_TTL_MS)
    : new MemoryLeaderLock({ key: 'outbox:relay', owner, ttlMs: RELAY_LOCK_TTL_MS, clock });
  const claims: TopicClaims = redis
    ? new RedisTopicClaims({ redis, keyPrefix: prefix })
    : new InMemoryTopicClaims();

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
  } else {
    bus = new InMemoryEventBus({ logger });
  }
  closers.push(() => bus.close());

  const intake = { bus, claims, maxTitleLength: config.conversation.topicMaxLength, logger };
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
      // Topics a dead daemon had taken from the queue go back to it.
      const recover = setInterval(() => {
        queue.recoverStale().catch((err: unknown) => logger.warn({ err }, 'topic queue recovery failed'));
      }, 10_000);
      recover.unref();
      timers.push(recover);
    }
  }
  const source = new CompositeTopicSource(sources, { clock });
  closers.push(() => source.close());

  const factory = new ProviderFactory(config, { clock });
  const memoryLimits: MemoryRateLimitStore = new Map();
  const providers = new Map<string, ResilientProvider>();
  const breakers = new Map<string, ProviderBreaker>();
  const limiters = new Map<string, RateLimiter>();
  // Every configured provider, not only this daemon's two sides: a conversation adopted from another daemon
  // goes on with the providers it started with.
  const providerNames = new Set([...options.providers, ...config.configuredProviders]);
  // A provider that this daemon before a restart, or another daemon, just saw fail keeps its breaker open.
  const breakerStates: BreakerStateStore = redis
    ? new RedisBreakerStateStore(redis, prefix)
    : new MemoryBreakerStateStore();
  const breakerSnapshots = await restoreBreakers({
    store: breakerStates,
    providers: providerNames,
    threshold: config.resilience.breakerFailureThreshold,
    cooldownMs: config.resilience.breakerCooldownMs,
    clock,
    logger,
  });
  for (const name of providerNames) {
    const adapter = options.providerOverrides?.[name] ?? factory.get(name);
    const settings = rateLimitSettingsFor(config.providers[name]);
    // Shared through Redis, so every daemon draws on one budget per provider; in memory otherwise.
    const limiter: RateLimiter = redis
      ? new RedisRateLimiter(redis, { key: name, keyPrefix: prefix, settings, clock })
      : new MemoryRateLimiter({ key: name, settings, store: memoryLimits, clock });
    const { provider, breaker } = makeResilient(adapter, config.providers[name], {
      resilience: config.resilience,
      limiter,
      metrics,
      logger,
      clock,
      breakerSnapshot: breakerSnapshots.get(name),
      inspect: options.inspect,
    });
    await adapter.start();
    providers.set(name, provider);
    breakers.set(name, breaker);
    limiters.set(name, limiter);
  }

  return {
    mode: { redis: Boolean(redis), kafka: Boolean(kafka) },
    store,
    bus,
    source,
    local,
    turnCache,
    relayLock,
    factory,
    providers,
    breakers,
    breakerStates,
    limiters,
    metrics,
    registry,
    redis,
    kafka,
    async close() {
      for (const timer of timers) clearInterval(timer);
      // An open breaker's cool-down timer would otherwise outlive the process's work.
      for (const breaker of breakers.values()) breaker.stop();
      for (const close of closers.reverse()) {
        await close().catch((err: unknown) => logger.warn({ err }, 'error while closing an adapter'));
      }
    },
  };
}
