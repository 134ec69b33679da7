/**
 * The pure machines bound to their effects with `machine.provide(...)`: the conversation machine to the
 * model call, the deadline and the quality verdict (a step of its own, not an actor); the shard to that conversation and to persistence; the
 * supervisor to the intake and the shard. This is where a new machine, or a new effect of one, is wired.
 */
import { type Actor, assign, createActor, type InspectionEvent } from 'xstate';
import { assessTurnVerdict } from '../actors/assess-turn.js';
import { type BatchCaller, type CallModelOptions, callModelActor } from '../actors/call-model.js';
import { deadlineActor } from '../actors/deadline.js';
import { judgeActor } from '../actors/judge-conversation.js';
import { nextWorkActor } from '../actors/next-work.js';
import type { Config, JudgeConfig, ProviderName } from '../config.js';
import type { Topic } from '../events.js';
import type { Logger } from '../logger.js';
import {
  assessTurnStep,
  CONVERSATION_MACHINE_VERSION,
  type ConversationInput,
  conversationMachine,
  turnWindowAt,
} from '../machines/conversation.js';
import { supervisorMachine } from '../machines/supervisor.js';
import { supervisorShardMachine } from '../machines/supervisor-shard.js';
import { followConversation } from '../persistence/follow.js';
import type { LeaseKeeper } from '../persistence/lease-keeper.js';
import type { ConversationPersister } from '../persistence/persister.js';
import type { Clock, LlmProvider, SnapshotStore, TopicSource, TurnCache } from '../services/ports.js';
import { samplerFor } from './sampler.js';
import type { Spending } from './spending.js';

/** The provided conversation machine: what a shard spawns, and whose snapshots the persister writes. */
export function boundConversationMachine(options: {
  providers: ReadonlyMap<string, LlmProvider>;
  turnCache: TurnCache;
  clock: Clock;
  /** The spending cap and the ledger: every call reserves through it and is charged to it. */
  spending: Spending;
  /** Where each provider is served (pricing: a self-hosted server is free unless priced). */
  baseUrl?: (provider: string) => string | undefined;
  /** The judge's provider and settings; without it no conversation is judged (no `quality.judge`). */
  judge?: { provider: LlmProvider; config: JudgeConfig };
  /** The batchers of providers in batch mode. @default none: every call online */
  batchers?: ReadonlyMap<string, BatchCaller>;
  /** The longest a turn may wait on its batch (`BATCH_MAX_WAIT_HOURS`). @default 24 hours */
  batchMaxWaitMs?: number;
  /** Resolves once the step recording a call as in flight is durable (`CallIntents.whenDurable`). @default no wait */
  intentDurable?: CallModelOptions['intentDurable'];
}) {
  const { clock, spending, judge } = options;
  return conversationMachine.provide({
    actors: {
      callModel: callModelActor({
        provider: (name) => options.providers.get(name),
        turnCache: options.turnCache,
        clock,
        budget: spending.callBudget,
        baseUrl: options.baseUrl,
        onCharge: (charge) => spending.charged(charge),
        onRefused: (error) => spending.refused(error),
        batcher: (name) => options.batchers?.get(name),
        intentDurable: options.intentDurable,
        ...(options.batchMaxWaitMs === undefined
          ? {}
          : { batchReservationTtlMs: options.batchMaxWaitMs + 3_600_000 }),
      }),
      deadline: deadlineActor(clock),
      ...(judge
        ? {
            judge: judgeActor({
              provider: judge.provider,
              config: judge.config,
              clock,
              budget: spending.callBudget,
              baseUrl: options.baseUrl?.(judge.config.provider),
              onCharge: (charge) => spending.charged(charge),
            }),
          }
        : {}),
    },
    actions: {
      assessTurn: assessTurnStep(assessTurnVerdict()),
      stampEnd: assign({ endedAt: () => clock.now() }),
      pause: assign({ paused: () => ({ reason: 'budget' as const, at: clock.now() }) }),
      stampTurn: assign({ turnWindow: ({ context }) => turnWindowAt(context, clock.now()) }),
    },
    guards: { judgeEnabled: () => judge !== undefined },
  });
}

/** A new conversation's input, from the config, the two sides and the topic. */
export function newConversationInput(config: Readonly<Config>, sides: readonly [ProviderName, ProviderName]) {
  // Personas, style and temperature drawn per conversation from the seed and the topic id.
  const sample = samplerFor(config, CONVERSATION_MACHINE_VERSION);
  const [questioner, answerer] = sides;
  // In batch mode each turn may wait a whole batch window: each has a window of its own
  // (BATCH_MAX_WAIT_HOURS from when it asked) instead of a deadline on the whole conversation.
  const batched = sides.some((side) => config.batch.modes[side] === 'batch');
  return (topic: Topic, conversationId: string, startedAt: number): ConversationInput => {
    const drawn = sample(topic.id);
    return {
      conversationId,
      topic,
      providers: { questioner, answerer },
      personas: drawn.personas,
      settings: {
        maxTurns: config.conversation.maxTurns,
        minTurns: config.conversation.minTurns,
        // In batch mode still the sum of the windows, the bound a daemon of an earlier version (which knows
        // no turn windows) applies if it adopts this conversation during a rolling upgrade.
        timeoutMs: batched
          ? Math.max(config.conversation.timeoutMs, config.conversation.maxTurns * config.batch.maxWaitMs)
          : config.conversation.timeoutMs,
        ...(batched ? { turnWindowMs: config.batch.maxWaitMs } : {}),
        maxTokensPerTurn: config.conversation.maxTokensPerTurn,
        temperature: drawn.temperature,
      },
      startedAt,
      provenance: drawn.provenance,
    };
  };
}

export interface SupervisorOptions {
  config: Readonly<Config>;
  logger: Logger;
  clock: Clock;
  owner: string;
  sides: readonly [ProviderName, ProviderName];
  store: SnapshotStore;
  source: TopicSource;
  leases: LeaseKeeper;
  persister: ConversationPersister;
  conversation: ReturnType<typeof boundConversationMachine>;
  /** False while the spending cap is reached: no new work is taken. @default always open */
  intakeOpen?: () => boolean;
  /**
   * Conversations of this process paused for budget now: a drain stops once they are all that is left.
   * @default none counted (a drain waits for every conversation)
   */
  pausedCount?: () => number;
  /** @default DEFAULTS.DRAIN_TIMEOUT_SECONDS */
  drainTimeoutMs?: number;
  pollMs?: number;
  adoptEveryMs?: number;
  shardCapacity?: number;
  inspect?: (event: InspectionEvent) => void;
}

/** The supervisor actor, created and not started. */
export function createSupervisor(options: SupervisorOptions): Actor<typeof supervisorMachine> {
  const { config, clock, logger } = options;
  const machine = supervisorMachine.provide({
    actors: {
      nextWork: nextWorkActor({
        store: options.store,
        source: options.source,
        leases: options.leases,
        clock,
        logger,
        owner: options.owner,
        leaseTtlMs: config.leaseTtlMs,
        maxConcurrent: config.conversation.maxConcurrent,
        buildInput: newConversationInput(config, options.sides),
        pollMs: options.pollMs,
        intakeOpen: options.intakeOpen,
        adoptEveryMs: options.adoptEveryMs,
      }),
      shard: supervisorShardMachine.provide({
        actors: { conversation: options.conversation },
        actions: { follow: followConversation(options.persister) },
      }),
    },
    guards: {
      onlyPausedLeft: ({ context }) =>
        context.active > 0 && options.pausedCount !== undefined && options.pausedCount() >= context.active,
    },
    ...(options.drainTimeoutMs === undefined ? {} : { delays: { drainTimeout: options.drainTimeoutMs } }),
  });
  return createActor(machine, {
    input: { maxConcurrent: config.conversation.maxConcurrent, shardCapacity: options.shardCapacity },
    inspect: options.inspect,
  });
}
