/**
 * The service as a library: configuration in, a running orchestration out. `chimera run` and
 * `chimera generate` are thin shells around this class.
 */
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { type Config, chooseSides, type ProviderName } from './config.js';
import { type ConversationRecord, conversationIdFor, deriveTopicId, type TopicMessage } from './events.js';
import { createLogger, type Logger } from './logger.js';
import { registerSecrets } from './redact.js';
import { type BreakerPublisher, publishBreakerStates } from './resilience/breaker-publisher.js';
import { type Adapters, createAdapters } from './runtime/adapters.js';
import { ChimeraRuntime } from './runtime/runtime.js';
import { type Clock, type LlmProvider, systemClock } from './services/ports.js';

export interface ChimeraOptions {
  /** @default a JSON logger at the configured level */
  logger?: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** Lease owner id of this process. @default `${config.instanceId}` */
  owner?: string;
  /** `none`: only topics given in-process (one-shot generation). @default 'auto' */
  intake?: 'auto' | 'none';
  /** Overrides the two sides (questioner, answerer). */
  sides?: [ProviderName, ProviderName];
  /** Replaces provider adapters, e.g. a simulated provider with a given latency. */
  providerOverrides?: Partial<Record<ProviderName, LlmProvider>>;
  /** Extra inspection observer (the Stately inspector); it sees the supervisor, conversations and breakers. */
  inspect?: (event: InspectionEvent) => void;
  /** Where the service's metrics go, e.g. one the HTTP server already exposes. @default a fresh registry */
  registry?: Registry;
  /** How long a drain waits for in-flight conversations. @default 30000 */
  drainTimeoutMs?: number;
  /** Intake poll interval. @default 500 */
  pollMs?: number;
  /** How often to look for orphaned conversations. @default 1000 */
  adoptEveryMs?: number;
}

/** Finished records kept for `waitFor` calls that come after the conversation ended. */
const RECENT_RECORDS = 10_000;

export class Chimera {
  private readonly waiters = new Map<string, Array<(record: ConversationRecord) => void>>();
  private readonly records = new Map<string, ConversationRecord>();
  private breakerPublisher: BreakerPublisher | undefined;

  private constructor(
    readonly config: Readonly<Config>,
    readonly adapters: Adapters,
    readonly runtime: ChimeraRuntime,
    readonly logger: Logger,
    private readonly clock: Clock,
    /** This process's lease owner id. */
    readonly owner: string,
  ) {
    runtime.onFinished((record) => {
      this.records.set(record.conversationId, record);
      if (this.records.size > RECENT_RECORDS) this.records.delete(this.records.keys().next().value!);
      const waiting = this.waiters.get(record.conversationId);
      if (!waiting) return;
      this.waiters.delete(record.conversationId);
      for (const resolve of waiting) resolve(record);
    });
  }

  /** Builds every adapter for `config` and the runtime over them; call `start()` to begin. */
  static async create(config: Readonly<Config>, options: ChimeraOptions = {}): Promise<Chimera> {
    registerSecrets([
      ...Object.values(config.providers).map((p) => p.apiKey),
      config.kafka?.sasl?.password,
      config.redis ? new URL(config.redis.url).password : undefined,
    ]);
    const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
    const clock = options.clock ?? systemClock;
    const owner = options.owner ?? `${config.instanceId}-${randomUUID().slice(0, 8)}`;
    const sides = options.sides ?? chooseSides(config);
    const adapters = await createAdapters(config, {
      logger,
      clock,
      owner,
      providers: sides,
      intake: options.intake,
      providerOverrides: options.providerOverrides,
      inspect: options.inspect,
      registry: options.registry,
    });
    const runtime = new ChimeraRuntime({
      config,
      logger,
      clock,
      store: adapters.store,
      bus: adapters.bus,
      source: adapters.source,
      turnCache: adapters.turnCache,
      providers: adapters.providers,
      relayLock: adapters.relayLock,
      sides,
      owner,
      inspect: options.inspect,
      drainTimeoutMs: options.drainTimeoutMs,
      pollMs: options.pollMs,
      adoptEveryMs: options.adoptEveryMs,
    });
    return new Chimera(config, adapters, runtime, logger, clock, owner);
  }

  start(): this {
    this.runtime.start();
    // Breaker states are shared (in Redis) so `chimera status` can show them for every daemon.
    if (!this.breakerPublisher) {
      this.breakerPublisher = publishBreakerStates({
        store: this.adapters.breakerStates,
        instance: this.owner,
        clock: this.clock,
        breakers: this.adapters.breakers,
        logger: this.logger,
      });
    }
    this.logger.info(
      {
        redis: this.adapters.mode.redis,
        kafka: this.adapters.mode.kafka,
        sides: [...this.adapters.providers.keys()],
      },
      'chimera started',
    );
    return this;
  }

  /**
   * Queues a topic in-process and returns the id its conversation will have. The same topic (same id,
   * or same title/source/url without one) maps to the same conversation and is not run twice.
   */
  async startNewConversation(topic: TopicMessage): Promise<string> {
    const id = topic.id ?? deriveTopicId(topic);
    this.adapters.local.push({ ...topic, id });
    return conversationIdFor(id);
  }

  /** Resolves with the conversation's final record once it is durably saved. */
  waitFor(conversationId: string, timeoutMs = 600_000): Promise<ConversationRecord> {
    const known = this.records.get(conversationId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`conversation ${conversationId} did not finish within ${timeoutMs}ms`)),
        timeoutMs,
      );
      const list = this.waiters.get(conversationId) ?? [];
      list.push((record) => {
        clearTimeout(timer);
        resolve(record);
      });
      this.waiters.set(conversationId, list);
    });
  }

  /** Drains (see `ChimeraRuntime.drain`) and closes every connection. */
  async stop(): Promise<void> {
    await this.runtime.drain();
    this.breakerPublisher?.stop();
    await this.breakerPublisher?.flush();
    await this.adapters.close();
  }

  /** Crash simulation for tests: stops without draining or releasing anything. */
  async kill(): Promise<void> {
    this.breakerPublisher?.stop();
    await this.runtime.abandon();
    await this.adapters.close();
  }
}
