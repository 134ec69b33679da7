/**
 * The composition root of the orchestration: binds the pure machines to their effects (providers, store,
 * bus, intake, clock) with `machine.provide(...)`, starts the supervisor, the persistence and the outbox
 * relay, and drains them in order on shutdown.
 */
import { type Actor, assign, createActor, type InspectionEvent } from 'xstate';
import { assessTurnActor } from '../actors/assess-turn.js';
import { callModelActor } from '../actors/call-model.js';
import { conversationLogic } from '../actors/conversation-logic.js';
import { deadlineActor } from '../actors/deadline.js';
import { nextWorkActor } from '../actors/next-work.js';
import { OutboxRelay } from '../actors/outbox-relay.js';
import { ConversationPersister } from '../actors/persistence.js';
import type { Config, ProviderName } from '../config.js';
import type { ConversationRecord, Speaker, Topic } from '../events.js';
import type { Logger } from '../logger.js';
import {
  CONVERSATION_MACHINE_VERSION,
  type ConversationInput,
  conversationMachine,
} from '../machines/conversation.js';
import { supervisorMachine } from '../machines/supervisor.js';
import { supervisorShardMachine } from '../machines/supervisor-shard.js';
import { samplerFor } from '../prompts/sampling.js';
import type {
  Clock,
  EventBus,
  LlmProvider,
  SnapshotStore,
  TopicSource,
  TurnCache,
} from '../services/ports.js';
import type { LeaderLock } from '../services/redis/leader-lock.js';

export interface RuntimeDeps {
  config: Readonly<Config>;
  logger: Logger;
  clock: Clock;
  store: SnapshotStore;
  bus: EventBus;
  source: TopicSource;
  turnCache: TurnCache & { forget?(conversationId: string): unknown };
  /** Providers by name, already wrapped with rate limiting, retries and breakers. */
  providers: ReadonlyMap<string, LlmProvider>;
  relayLock: LeaderLock;
  /** The two sides, questioner first. */
  sides: [ProviderName, ProviderName];
  /** This process's lease owner id. */
  owner: string;
  /** Extra inspection observer, e.g. the Stately inspector. */
  inspect?: (event: InspectionEvent) => void;
  onFinished?: (record: ConversationRecord) => void;
  /**
   * How long one intake pull waits for a topic.
   * @default 500
   */
  pollMs?: number;
  /**
   * How often to look for orphaned conversations to adopt.
   * @default 1000
   */
  adoptEveryMs?: number;
  /**
   * How long a drain waits for in-flight conversations before stopping them where they are.
   * @default 30000
   */
  drainTimeoutMs?: number;
  /**
   * Conversations one supervisor shard runs at most.
   * @default DEFAULT_SHARD_CAPACITY
   */
  shardCapacity?: number;
}

/** Picks the two sides: configured pair first, else Anthropic vs Gemini, else what has credentials. */
export function chooseSides(config: Readonly<Config>): [ProviderName, ProviderName] {
  if (config.conversation.providers) return config.conversation.providers;
  const real = config.configuredProviders.filter((p) => p !== 'simulated');
  if (real.includes('anthropic') && real.includes('gemini')) return ['anthropic', 'gemini'];
  if (real.length >= 2) return [real[0]!, real[1]!];
  if (real.length === 1) return [real[0]!, real[0]!];
  return ['simulated', 'simulated'];
}

export class ChimeraRuntime {
  readonly persister: ConversationPersister;
  readonly relay: OutboxRelay;
  readonly supervisor: Actor<typeof supervisorMachine>;
  private readonly finished = new Set<(record: ConversationRecord) => void>();
  private done: Promise<void>;
  private stopped = false;

  constructor(deps: RuntimeDeps) {
    const { config, clock, logger } = deps;
    // Personas, style and temperature drawn per conversation from the seed and the topic id.
    const sample = samplerFor(config, CONVERSATION_MACHINE_VERSION);
    const [questioner, answerer] = deps.sides;

    this.relay = new OutboxRelay({ store: deps.store, bus: deps.bus, logger, lock: deps.relayLock });
    this.persister = new ConversationPersister({
      store: deps.store,
      clock,
      logger,
      leaseTtlMs: config.leaseTtlMs,
      // A conversation's supervisor is the shard that spawned it (its parent actor).
      notify: (event, conversation) => conversation._parent?.send(event),
      onFinished: (record) => {
        this.relay.poke();
        deps.onFinished?.(record);
        for (const listener of this.finished) listener(record);
      },
      onReleased: (id) => void deps.turnCache.forget?.(id),
    });

    const conversation = conversationLogic(
      conversationMachine.provide({
        actors: {
          callModel: callModelActor({
            provider: (name) => deps.providers.get(name),
            turnCache: deps.turnCache,
            clock,
          }),
          assessTurn: assessTurnActor(),
          deadline: deadlineActor(clock),
        },
        actions: { stampEnd: assign({ endedAt: () => clock.now() }) },
      }),
      (actor, resumed) => {
        this.persister.attach(actor, resumed);
        this.relay.poke();
      },
    );

    const buildInput = (topic: Topic, conversationId: string, startedAt: number): ConversationInput => {
      const drawn = sample(topic.id);
      return {
        conversationId,
        topic,
        providers: { questioner, answerer } satisfies Record<Speaker, string>,
        personas: drawn.personas,
        settings: {
          maxTurns: config.conversation.maxTurns,
          minTurns: config.conversation.minTurns,
          timeoutMs: config.conversation.timeoutMs,
          maxTokensPerTurn: config.conversation.maxTokensPerTurn,
          temperature: drawn.temperature,
        },
        startedAt,
        provenance: drawn.provenance,
      };
    };

    const machine = supervisorMachine.provide({
      actors: {
        nextWork: nextWorkActor({
          store: deps.store,
          source: deps.source,
          persister: this.persister,
          clock,
          logger,
          owner: deps.owner,
          leaseTtlMs: config.leaseTtlMs,
          buildInput,
          pollMs: deps.pollMs,
          adoptEveryMs: deps.adoptEveryMs,
        }),
        shard: supervisorShardMachine.provide({ actors: { conversation: conversation as never } }),
      },
      delays: { drainTimeout: deps.drainTimeoutMs ?? 30_000 },
    });

    this.supervisor = createActor(machine, {
      input: { maxConcurrent: config.conversation.maxConcurrent, shardCapacity: deps.shardCapacity },
      inspect: deps.inspect,
    });
    this.done = new Promise((resolve) => {
      this.supervisor.subscribe({
        complete: () => resolve(),
        error: (err) => {
          logger.error({ err }, 'supervisor failed');
          resolve();
        },
      });
    });
  }

  /** Subscribes to finished conversations (their final record is durably saved). */
  onFinished(listener: (record: ConversationRecord) => void): () => void {
    this.finished.add(listener);
    return () => this.finished.delete(listener);
  }

  start(): this {
    this.persister.startLeaseRenewal();
    this.relay.start();
    this.supervisor.start();
    return this;
  }

  /** Conversations running in this process now. */
  get active(): number {
    return this.supervisor.getSnapshot().context.active;
  }

  /**
   * Shutdown in order: stop intake, let in-flight conversations finish (bounded by the drain timeout, after
   * which they stop where they are, their last step persisted), release every lease so another daemon
   * adopts at once, then deliver what is left in the outbox.
   */
  async drain(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.supervisor.send({ type: 'DRAIN' });
    await this.done;
    await this.persister.releaseAll();
    await this.relay.stop();
  }

  /**
   * Abrupt stop for tests of crash recovery: stops everything without releasing leases or flushing,
   * as a killed process would.
   */
  async abandon(): Promise<void> {
    this.stopped = true;
    this.persister.halt();
    this.supervisor.stop();
    await this.relay.stop(0).catch(() => {});
  }
}
