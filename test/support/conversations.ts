/**
 * Runs conversations through the real conversation machine with its real actors (model call, quality
 * assessment) over a given provider, without a supervisor, store or bus: what the dataset tests need to
 * measure many conversations quickly. The input is built the way the runtime builds it: the configured
 * sampler draws personas, style and temperature from the seed and the topic id.
 */

import { assign, createActor, fromCallback, toPromise } from 'xstate';
import { assessTurnVerdict } from '../../src/actors/assess-turn.js';
import { callModelActor } from '../../src/actors/call-model.js';
import { samplerFor } from '../../src/app/sampler.js';
import type { Config } from '../../src/config.js';
import { CallBudget } from '../../src/cost/call-budget.js';
import { costConfigFrom } from '../../src/cost/config.js';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import type { ConversationRecord, Topic } from '../../src/events.js';
import {
  assessTurnStep,
  CONVERSATION_MACHINE_VERSION,
  type ConversationInput,
  conversationMachine,
} from '../../src/machines/conversation.js';
import { toRecord } from '../../src/records.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { type LlmProvider, systemClock } from '../../src/services/ports.js';

export function inputFor(config: Readonly<Config>, topic: Topic, provider: string): ConversationInput {
  const drawn = samplerFor(config, CONVERSATION_MACHINE_VERSION)(topic.id);
  return {
    conversationId: `conv-${topic.id}`,
    topic,
    providers: { questioner: provider, answerer: provider },
    personas: drawn.personas,
    settings: {
      maxTurns: config.conversation.maxTurns,
      minTurns: config.conversation.minTurns,
      timeoutMs: config.conversation.timeoutMs,
      maxTokensPerTurn: config.conversation.maxTokensPerTurn,
      temperature: drawn.temperature,
    },
    startedAt: systemClock.now(),
    provenance: drawn.provenance,
  };
}

export async function runConversation(
  input: ConversationInput,
  provider: LlmProvider,
): Promise<ConversationRecord> {
  const machine = conversationMachine.provide({
    actors: {
      callModel: callModelActor({
        provider: () => provider,
        turnCache: new InMemoryTurnCache(),
        clock: systemClock,
        budget: new CallBudget(new MemoryBudgetStore(), costConfigFrom({}).prices),
      }),
      deadline: fromCallback(() => () => {}),
    },
    actions: {
      assessTurn: assessTurnStep(assessTurnVerdict()),
      stampEnd: assign({ endedAt: () => systemClock.now() }),
    },
  });
  const actor = createActor(machine, { input }).start();
  await toPromise(actor);
  return toRecord(actor.getSnapshot().context, systemClock.now());
}

/** `topics × copies` conversations, copies of a topic with ids `ID#1..copies` as `generate` gives them. */
export async function runMany(
  config: Readonly<Config>,
  provider: LlmProvider,
  topics: readonly string[],
  copies: number,
): Promise<ConversationRecord[]> {
  const records: ConversationRecord[] = [];
  for (const [t, title] of topics.entries()) {
    for (let copy = 1; copy <= copies; copy++) {
      const topic = { id: `topic-${t}#${copy}`, title };
      records.push(await runConversation(inputFor(config, topic, provider.name), provider));
    }
  }
  return records;
}
