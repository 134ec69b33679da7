/**
 * The composition root: from the parsed config to every adapter, provider call path, actor and machine the
 * service runs, built in one place and returned as one `Composition`. Nothing here starts work; `Chimera`
 * (`src/chimera.ts`) starts and stops what this builds, in order.
 *
 *   config -> ports (store, bus, intake, turn cache, locks, breaker reports)      app/ports.ts
 *          -> providers (limiter -> breaker -> retries -> SDK), metrics           app/providers.ts
 *          -> leases + persister (the one write path) + outbox relay              persistence/, outbox/
 *          -> machines bound with machine.provide -> the supervisor actor        app/supervisor.ts
 */
import type { Registry } from 'prom-client';
import type { Actor, AnyActorRef, InspectionEvent } from 'xstate';
import type { ProviderBatcher } from '../batch/provider-batcher.js';
import type { Config, ProviderName } from '../config.js';
import { MemoryBudgetStore } from '../cost/memory-budget-store.js';
import type { Logger } from '../logger.js';
import type { SupervisorMachine } from '../machines/supervisor.js';
import { createCostMetrics, createMetrics, type ProviderMetrics } from '../metrics.js';
import { OutboxRelay } from '../outbox/relay.js';
import { CallIntents } from '../persistence/call-intents.js';
import { LeaseKeeper } from '../persistence/lease-keeper.js';
import { ConversationPersister } from '../persistence/persister.js';
import type { BatchApi, Clock, LlmProvider } from '../services/ports.js';
import { instrumentBatchers } from './batch-metrics.js';
import { buildBatchers, stopBatchers } from './batchers.js';
import { connectPorts, type Ports } from './ports.js';
import { buildProviders, type Providers } from './providers.js';
import {
  conversationCrashCounter,
  instrumentService,
  intakeFailureCounter,
  replicaShortfallCounter,
  type ServiceMetrics,
  tooLargeEventCounter,
} from './service-metrics.js';
import { Spending } from './spending.js';
import { boundConversationMachine, createSupervisor } from './supervisor.js';

export interface ComposeOptions {
  logger: Logger;
  clock: Clock;
  /** This process's lease owner id. */
  owner: string;
  /** The two sides of new conversations, questioner first. */
  sides: [ProviderName, ProviderName];
  /** Where the service's metrics go. */
  registry: Registry;
  /** `none`: only topics given in-process. @default 'auto' (every configured intake) */
  intake?: 'auto' | 'none';
  /** Replaces provider adapters. */
  providerOverrides?: Partial<Record<ProviderName, LlmProvider>>;
  /** Each provider's batch API, for the providers in batch mode (`PROVIDER_MODE=batch`). @default none */
  batchApis?: Partial<Record<ProviderName, BatchApi>>;
  /** Replaces port adapters. */
  portOverrides?: Partial<Pick<Ports, 'store' | 'turnCache' | 'budget'>>;
  /**
   * A cap for this run instead of `MAX_SPEND_USD` (`generate --max-cost`), kept in this process (or the
   * `budget` port override) rather than in the shared Redis budget. @default config.cost.maxSpendMicros
   */
  capMicros?: number | null;
  /** How often the shared budget is read. @default DEFAULT_BUDGET_POLL_MS */
  budgetPollMs?: number;
  /** Inspection observer (the Stately inspector) for the supervisor's system and the breakers. */
  inspect?: (event: InspectionEvent) => void;
  /** @default DEFAULTS.DRAIN_TIMEOUT_SECONDS */
  drainTimeoutMs?: number;
  /** Intake poll interval. @default 500 */
  pollMs?: number;
  /** How often to look for orphaned conversations. @default 1000 */
  adoptEveryMs?: number;
  /** Conversations per supervisor shard. @default DEFAULT_SHARD_CAPACITY */
  shardCapacity?: number;
}

/** Everything the service is made of, built and not started. */
export interface Composition extends Omit<Ports, 'close'>, Providers {
  config: Readonly<Config>;
  logger: Logger;
  clock: Clock;
  owner: string;
  sides: [ProviderName, ProviderName];
  registry: Registry;
  /** Provider call metrics. */
  metrics: ProviderMetrics;
  /** Every lease this process holds. */
  leases: LeaseKeeper;
  /** The one write path of every conversation's steps. */
  persister: ConversationPersister;
  relay: OutboxRelay;
  supervisor: Actor<SupervisorMachine>;
  serviceMetrics: ServiceMetrics;
  /** The cost ledger and the spending cap (started by `Chimera.start`). */
  spending: Spending;
  /** The batchers of the providers in batch mode, by provider name; started (they adopt batches out at once). */
  batchers: Map<string, ProviderBatcher>;
  /** Stops the breakers' timers and the metrics' listeners and closes every connection. */
  close(): Promise<void>;
}

export async function compose(config: Readonly<Config>, options: ComposeOptions): Promise<Composition> {
  const { logger, clock, owner, registry } = options;
  const intakeFailures = intakeFailureCounter(registry);
  const replicaShortfalls = replicaShortfallCounter(registry);
  const ports = await connectPorts(config, {
    logger,
    clock,
    owner,
    intake: options.intake,
    overrides: {
      // A cap of this run's own (`generate --max-cost`) must not replace the deployment's shared one in
      // Redis: it is kept by this process, unless a store for the run is given (a journal).
      ...(options.capMicros === undefined ? {} : { budget: new MemoryBudgetStore({ clock }) }),
      ...options.portOverrides,
    },
    onIntakeFailure: (source, outcome) => intakeFailures.inc({ source, outcome }),
    onReplicaShortfall: () => replicaShortfalls.inc(),
    registry,
  });
  const metrics = createMetrics(registry);
  const providers = await buildProviders(config, ports, {
    logger,
    clock,
    metrics,
    sides: options.sides,
    overrides: options.providerOverrides,
    inspect: options.inspect,
  });

  const tooLarge = tooLargeEventCounter(registry);
  // With REDIS_WAIT_REPLICAS: what the relay publishes and the topics the persister acknowledges wait for it.
  const { replicas } = ports;
  const relay = new OutboxRelay({
    store: ports.store,
    bus: ports.bus,
    logger,
    lock: ports.relayLock,
    clock,
    parked: ports.parked,
    onTooLarge: () => tooLarge.inc(),
    ...(replicas ? { replicated: () => replicas.wait() } : {}),
  });
  const leases = new LeaseKeeper({ store: ports.store, leaseTtlMs: config.leaseTtlMs, logger });
  const batchers = await buildBatchers(config, {
    logger,
    clock,
    owner,
    redis: ports.redis,
    turnCache: ports.turnCache,
    apis: options.batchApis,
    factory: providers.factory,
    online: providers.providers,
    breakers: providers.breakers,
    inspect: options.inspect,
  }).catch(async (error: unknown) => {
    for (const breaker of providers.breakers.values()) breaker.stop();
    await ports.close();
    throw error;
  });
  const spending = new Spending({
    config,
    store: ports.budget,
    logger,
    clock,
    metrics: createCostMetrics(registry),
    capMicros: options.capMicros,
    pollMs: options.budgetPollMs,
  });
  // The step entering `callingModel` carries the call's intent: a call is sent once that step is durable.
  const intents = new CallIntents();
  const conversation = boundConversationMachine({
    intentDurable: (conversationId, key, signal) => intents.whenDurable(conversationId, key, signal),
    providers: providers.providers,
    turnCache: ports.turnCache,
    clock,
    spending,
    baseUrl: (name) => config.providers[name as ProviderName]?.baseUrl,
    ...(config.judge && providers.judge
      ? { judge: { provider: providers.judge, config: config.judge } }
      : {}),
    batchers,
    batchMaxWaitMs: config.batch.maxWaitMs,
  });
  const crashes = conversationCrashCounter(registry);
  const persister = new ConversationPersister({
    store: ports.store,
    clock,
    logger,
    leases,
    maxCrashes: config.maxConversationCrashes,
    onCrashed: (outcome) => crashes.inc({ outcome }),
    persistedForm: (snapshot) => conversation.getPersistedSnapshot(snapshot),
    onOutboxEvents: () => relay.poke(),
    ...(replicas ? { replicated: () => replicas.wait() } : {}),
    onStep: (conversationId) => intents.stepped(conversationId),
    onSaved: (conversationId, context, latest) => {
      if (latest) intents.saved(conversationId, context.inFlight);
    },
    onReleased: (conversationId) => {
      intents.forget(conversationId);
      // A failed delete only leaves the entries to their TTL; it must not become an unhandled rejection.
      ports.turnCache.forget(conversationId).catch((err: unknown) => {
        logger.warn({ conversationId, err }, 'could not drop the cached turns of a conversation');
      });
    },
  });
  const supervisor = createSupervisor({
    config,
    logger,
    clock,
    owner,
    sides: options.sides,
    store: ports.store,
    source: ports.source,
    leases,
    persister,
    conversation,
    intakeOpen: () => spending.intakeOpen(),
    pausedCount: () => spending.pausedCount(),
    drainTimeoutMs: options.drainTimeoutMs,
    pollMs: options.pollMs,
    adoptEveryMs: options.adoptEveryMs,
    shardCapacity: options.shardCapacity,
    inspect: options.inspect,
  });
  // Conversations paused for budget are found where they run: the supervisor's shards' children.
  spending.onPaused((resume) => {
    let found = 0;
    for (const shard of Object.values(supervisor.getSnapshot().children)) {
      const children = (shard as AnyActorRef | undefined)?.getSnapshot()?.children ?? {};
      for (const child of Object.values(children) as AnyActorRef[]) {
        const snapshot = child.getSnapshot();
        if (snapshot.status !== 'active' || snapshot.value !== 'paused') continue;
        found += 1;
        if (resume) child.send({ type: 'RESUME', at: clock.now() });
      }
    }
    return found;
  });
  const serviceMetrics = instrumentService({
    registry,
    onFinished: (listener) => persister.onFinished(listener),
    supervisor,
    store: ports.store,
  });

  instrumentBatchers(registry, batchers.values());

  const { close: closePorts, ...openPorts } = ports;
  return {
    ...openPorts,
    ...providers,
    config,
    logger,
    clock,
    owner,
    sides: options.sides,
    registry,
    metrics,
    leases,
    persister,
    relay,
    supervisor,
    serviceMetrics,
    batchers,
    spending,
    async close() {
      serviceMetrics.stop();
      spending.stop();
      // Batches out stay with the provider and in the store: the next daemon adopts them.
      stopBatchers(batchers);
      // An open breaker's cool-down timer would otherwise outlive the process's work.
      for (const breaker of providers.breakers.values()) breaker.stop();
      await closePorts();
    },
  };
}
