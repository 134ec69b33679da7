/**
 * The service: configuration in, a running orchestration out. `Chimera.create` builds everything through
 * the composition root (`app/compose.ts`); this class starts it, takes in-process topics, hands out final
 * records, and stops it in order. `chimera run`, `chimera generate` and the library's compatibility layer
 * (`src/compat/`) are thin shells around it.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import type { InspectionEvent } from 'xstate';
import { type Composition, compose } from './app/compose.js';
import { type Config, chooseSides, configSecrets, type ProviderName, startupWarnings } from './config.js';
import type { BudgetStore } from './cost/ports.js';
import { ChimeraError } from './errors.js';
import { type ConversationRecord, conversationIdFor, deriveTopicId, type TopicMessage } from './events.js';
import { topicRefusal } from './intake/parse-topic.js';
import { createLogger, type Logger } from './logger.js';
import type { SupervisorContext } from './machines/supervisor.js';
import { isFinished } from './persistence/snapshot-codec.js';
import { recordOf } from './records.js';
import { registerSecrets } from './redact.js';
import { type BreakerPublisher, publishBreakerStates } from './resilience/breaker-publisher.js';
import {
  type BatchApi,
  type Clock,
  type LlmProvider,
  type SnapshotStore,
  systemClock,
  type TurnCache,
} from './services/ports.js';

export interface ChimeraOptions {
  /** @default a JSON logger at the configured level */
  logger?: Logger;
  /** @default the system clock */
  clock?: Clock;
  /** Lease owner id of this process. @default `${config.instanceId}-<random>` */
  owner?: string;
  /** `none`: only topics given in-process (one-shot generation). @default 'auto' */
  intake?: 'auto' | 'none';
  /** Overrides the two sides (questioner, answerer). @default `chooseSides(config)` */
  sides?: [ProviderName, ProviderName];
  /** Replaces provider adapters, e.g. a simulated provider with a given latency. */
  providerOverrides?: Partial<Record<ProviderName, LlmProvider>>;
  /** Each provider's batch API, for the providers in batch mode (docs/batch.md). @default none */
  batchApis?: Partial<Record<ProviderName, BatchApi>>;
  /** Replaces port adapters, e.g. a store that fails on purpose in a regression test. */
  portOverrides?: { store?: SnapshotStore; turnCache?: TurnCache; budget?: BudgetStore };
  /**
   * The spending cap instead of `MAX_SPEND_USD` (`generate --max-cost`); null: no cap.
   * @default config.cost.maxSpendMicros
   */
  capMicros?: number | null;
  /** How often the shared budget is read (a cap raised elsewhere is seen within it). @default 2000 */
  budgetPollMs?: number;
  /** Extra inspection observer (the Stately inspector); it sees the supervisor, conversations and breakers. */
  inspect?: (event: InspectionEvent) => void;
  /** Where the service's metrics go, e.g. one the HTTP server already exposes. @default a fresh registry */
  registry?: Registry;
  /** How long a drain waits for in-flight conversations. @default DEFAULTS.DRAIN_TIMEOUT_SECONDS */
  drainTimeoutMs?: number;
  /** Intake poll interval. @default 500 */
  pollMs?: number;
  /** How often to look for orphaned conversations. @default 1000 */
  adoptEveryMs?: number;
  /** Conversations per supervisor shard. @default DEFAULT_SHARD_CAPACITY */
  shardCapacity?: number;
  /**
   * How often `waitFor` reads the store for the conversations it still waits for (`WAIT_CHECK_PER_ROUND`
   * of them each time, in turn). @default WAIT_CHECK_EVERY_MS
   */
  waitCheckEveryMs?: number;
}

/** Finished records kept for `waitFor` calls that come after the conversation ended. */
const RECENT_RECORDS = 10_000;

/**
 * How often `waitFor` looks in the store for what it waits for. The persister's finished notification is
 * how `waitFor` normally learns of an end; this is the safety net for an end this process does not see: a
 * conversation it lost (lease lapsed under overload) that another daemon adopted and finished. Slow, as
 * it is a safety net: a missed end costs at most a few rounds of it.
 */
export const WAIT_CHECK_EVERY_MS = 2_000;
/** Waited-for conversations read per check, in turn: bounded cost with thousands waited for at once. */
export const WAIT_CHECK_PER_ROUND = 50;

interface Waiter {
  resolve(record: ConversationRecord): void;
  reject(error: Error): void;
}

type Lifecycle = 'created' | 'running' | 'stopping' | 'stopped';

export class Chimera {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly records = new Map<string, ConversationRecord>();
  private readonly waitCheckEveryMs: number;
  /** The next store check of waited-for conversations, or the one running. */
  private waitCheck: NodeJS.Timeout | undefined;
  /** Where the next store check starts in the list of waited-for conversations. */
  private waitCheckCursor = 0;
  private readonly unexpectedStop = new Set<(error: unknown) => void>();
  private readonly supervisorDone: Promise<void>;
  private breakerPublisher: BreakerPublisher | undefined;
  private lifecycle: Lifecycle = 'created';
  private stopping: Promise<void> | undefined;

  private constructor(
    /** Everything the service is made of (`app/compose.ts`): ports, providers, persistence, actors. */
    readonly parts: Composition,
    waitCheckEveryMs = WAIT_CHECK_EVERY_MS,
  ) {
    this.waitCheckEveryMs = waitCheckEveryMs;
    parts.persister.onFinished((record) => this.finished(record));
    this.supervisorDone = new Promise((resolve) => {
      parts.supervisor.subscribe({
        complete: () => {
          // The supervisor only stops on a drain; stopping any other way leaves nothing taking work.
          if (this.lifecycle === 'running') for (const listener of this.unexpectedStop) listener(undefined);
          resolve();
        },
        error: (err) => {
          parts.logger.error({ err }, 'supervisor failed');
          for (const listener of this.unexpectedStop) listener(err);
          resolve();
        },
      });
    });
  }

  /** Builds every adapter, provider and actor for `config` (`app/compose.ts`); call `start()` to begin. */
  static async create(config: Readonly<Config>, options: ChimeraOptions = {}): Promise<Chimera> {
    registerSecrets(configSecrets(config));
    const logger = options.logger ?? createLogger({ level: config.log.level, format: config.log.format });
    for (const warning of startupWarnings(config)) logger.warn(warning);
    const parts = await compose(config, {
      logger,
      clock: options.clock ?? systemClock,
      owner: options.owner ?? `${config.instanceId}-${randomUUID().slice(0, 8)}`,
      sides: options.sides ?? chooseSides(config),
      registry: options.registry ?? new Registry(),
      intake: options.intake,
      providerOverrides: options.providerOverrides,
      batchApis: options.batchApis,
      portOverrides: options.portOverrides,
      inspect: options.inspect,
      drainTimeoutMs: options.drainTimeoutMs,
      pollMs: options.pollMs,
      adoptEveryMs: options.adoptEveryMs,
      shardCapacity: options.shardCapacity,
      capMicros: options.capMicros,
      budgetPollMs: options.budgetPollMs,
    });
    try {
      // Pricing is checked against the cap, and the cap applied, before any work can start.
      await parts.spending.start();
    } catch (error) {
      await parts.close();
      throw error;
    }
    return new Chimera(parts, options.waitCheckEveryMs);
  }

  get config(): Readonly<Config> {
    return this.parts.config;
  }

  get logger(): Logger {
    return this.parts.logger;
  }

  /** This process's lease owner id. */
  get owner(): string {
    return this.parts.owner;
  }

  /** Conversations running in this process now. */
  get active(): number {
    return this.parts.supervisor.getSnapshot().context.active;
  }

  /** Conversations this process runs now, and those it stopped running since start by outcome. */
  get supervision(): Readonly<Pick<SupervisorContext, 'active' | 'settled' | 'lost' | 'crashed'>> {
    const { active, settled, lost, crashed } = this.parts.supervisor.getSnapshot().context;
    return { active, settled, lost, crashed };
  }

  /** Starts taking work: lease renewal, the outbox relay, the supervisor, and the breaker reports. */
  start(): this {
    if (this.lifecycle !== 'created') return this;
    this.lifecycle = 'running';
    const { parts } = this;
    parts.leases.startRenewal();
    parts.relay.start();
    parts.supervisor.start();
    // Breaker states are shared (in Redis) so `chimera status` and starting daemons can read them.
    this.breakerPublisher = publishBreakerStates({
      store: parts.breakerStates,
      instance: parts.owner,
      breakers: parts.breakers,
      clock: parts.clock,
      logger: parts.logger,
    });
    parts.logger.info(
      { redis: parts.mode.redis, kafka: parts.mode.kafka, sides: [...parts.providers.keys()] },
      'chimera started',
    );
    return this;
  }

  /**
   * Queues a topic in-process and returns the id its conversation will have. The same topic (same id,
   * or same title/source/url without one) maps to the same conversation and is not run twice.
   * @throws {ChimeraError} `invalid_topic` (with the reason) when the intake would dead-letter the topic:
   * it is refused here instead, so no `waitFor` waits for a conversation that will never start.
   */
  async startNewConversation(topic: TopicMessage): Promise<string> {
    const refused = topicRefusal(topic, this.parts.config.conversation);
    if (refused) throw new ChimeraError('invalid_topic', `topic is invalid: ${refused}`);
    const id = topic.id ?? deriveTopicId(topic);
    this.parts.local.push({ ...topic, id });
    return conversationIdFor(id);
  }

  /** Calls `listener` with each final record once it is durably saved; returns the unsubscribe. */
  onFinished(listener: (record: ConversationRecord) => void): () => void {
    return this.parts.persister.onFinished(listener);
  }

  /**
   * Calls `listener` if the supervisor stops other than by `stop()`: with its error when it failed, with
   * undefined when it completed. Nothing takes work after that; a daemon should exit.
   */
  onUnexpectedStop(listener: (error: unknown) => void): () => void {
    this.unexpectedStop.add(listener);
    return () => this.unexpectedStop.delete(listener);
  }

  /**
   * Resolves with the conversation's final record once it is durably saved, wherever it finishes: this
   * process hears of its own conversations' ends at once, and the store is read every `waitCheckEveryMs`
   * for the others (adopted and finished by another daemon). Rejects after `timeoutMs`, or when the
   * conversation finished without a readable record (a snapshot found unreadable on adoption).
   */
  waitFor(conversationId: string, timeoutMs = 600_000): Promise<ConversationRecord> {
    const known = this.records.get(conversationId);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.forget(conversationId, waiter);
        reject(new Error(`conversation ${conversationId} did not finish within ${timeoutMs}ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        resolve: (record) => {
          clearTimeout(timer);
          resolve(record);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const list = this.waiters.get(conversationId) ?? [];
      list.push(waiter);
      this.waiters.set(conversationId, list);
      this.scheduleWaitCheck();
    });
  }

  /** A final record saved: kept for later `waitFor` calls, and handed to those waiting. */
  private finished(record: ConversationRecord): void {
    this.records.set(record.conversationId, record);
    if (this.records.size > RECENT_RECORDS) this.records.delete(this.records.keys().next().value!);
    const waiting = this.waiters.get(record.conversationId);
    if (!waiting) return;
    this.waiters.delete(record.conversationId);
    for (const waiter of waiting) waiter.resolve(record);
  }

  private forget(conversationId: string, waiter: Waiter): void {
    const list = this.waiters.get(conversationId)?.filter((w) => w !== waiter) ?? [];
    if (list.length > 0) this.waiters.set(conversationId, list);
    else this.waiters.delete(conversationId);
  }

  private scheduleWaitCheck(): void {
    if (this.waitCheck || this.waiters.size === 0 || this.lifecycle === 'stopped') return;
    this.waitCheck = setTimeout(() => {
      void this.checkWaitedInStore().finally(() => {
        this.waitCheck = undefined;
        this.scheduleWaitCheck();
      });
    }, this.waitCheckEveryMs);
    this.waitCheck.unref();
  }

  /**
   * Reads the next `WAIT_CHECK_PER_ROUND` waited-for conversations from the store and hands out those
   * finished. Those this process follows now are passed over: it hears of their end, or of their loss, after
   * which they are read like the others.
   */
  private async checkWaitedInStore(): Promise<void> {
    const ids = [...this.waiters.keys()].filter((id) => !this.parts.persister.follows(id));
    if (ids.length === 0 || this.lifecycle === 'stopped') return;
    const start = this.waitCheckCursor % ids.length;
    const round = [...ids, ...ids].slice(start, start + Math.min(WAIT_CHECK_PER_ROUND, ids.length));
    this.waitCheckCursor = start + round.length;
    await Promise.all(
      round.map(async (conversationId) => {
        let stored: Awaited<ReturnType<SnapshotStore['load']>>;
        try {
          stored = await this.parts.store.load(conversationId);
        } catch (err) {
          // Unreachable, or not readable by this build: the notification or the next round may still tell.
          this.parts.logger.debug({ conversationId, err }, 'could not read a waited-for conversation');
          return;
        }
        if (!stored || !isFinished(stored.status) || !this.waiters.has(conversationId)) return;
        const record = recordOf(stored.snapshot, stored.updatedAt);
        if (record) {
          this.finished(record);
          return;
        }
        const waiting = this.waiters.get(conversationId) ?? [];
        this.waiters.delete(conversationId);
        const error = new Error(
          `conversation ${conversationId} is ${stored.status} without a readable record`,
        );
        for (const waiter of waiting) waiter.reject(error);
      }),
    );
  }

  /**
   * Cancels every batch out at its provider (`run --cancel-batches` on SIGTERM): calls waiting on a batch
   * fail, and their conversations end as `provider_failed`. A no-op without batch mode.
   */
  async cancelBatches(): Promise<void> {
    await Promise.all([...this.parts.batchers.values()].map((batcher) => batcher.cancel()));
  }

  /**
   * Shutdown in order: stop intake, let in-flight conversations finish (bounded by the drain timeout,
   * after which they stop where they are, their last step persisted), finish pending writes, release every
   * lease so another daemon adopts at once, deliver what is left in the outbox, and close every connection.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    const { parts } = this;
    const started = this.lifecycle === 'running';
    this.lifecycle = 'stopping';
    if (started) {
      parts.supervisor.send({ type: 'DRAIN' });
      await this.supervisorDone;
      await parts.persister.flush();
      await parts.leases.releaseAll();
      await parts.relay.stop();
      this.breakerPublisher?.stop();
      await this.breakerPublisher?.flush();
    }
    this.stopWaitCheck();
    await parts.close();
    this.lifecycle = 'stopped';
  }

  private stopWaitCheck(): void {
    clearTimeout(this.waitCheck);
    this.waitCheck = undefined;
  }

  /** Crash simulation for tests: stops without draining or releasing anything. */
  async kill(): Promise<void> {
    const { parts } = this;
    this.lifecycle = 'stopped';
    this.stopWaitCheck();
    this.breakerPublisher?.stop();
    parts.persister.halt();
    parts.leases.halt();
    parts.supervisor.stop();
    await parts.relay.stop(0).catch(() => {});
    await parts.close();
  }
}
