import { createActor, toPromise } from 'xstate';
import { type CallModelOptions, callModelActor } from '../../src/actors/call-model.js';
import type { ProviderConfig } from '../../src/config.js';
import { CallBudget } from '../../src/cost/call-budget.js';
import { costConfigFrom } from '../../src/cost/config.js';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import type { Turn } from '../../src/events.js';
import type { CallModelInput } from '../../src/machines/conversation.js';
import { type Clock, systemClock, type TurnCache } from '../../src/services/ports.js';
import { AnthropicProvider } from '../../src/services/providers/anthropic.js';
import type { FakeProviderServer } from '../../tools/fake-provider/server.js';

/** One turn's model call as a conversation asks for it. */
export function callInput(overrides: Partial<CallModelInput> = {}): CallModelInput {
  return {
    conversationId: 'c-idempotent',
    turnIndex: 2,
    generation: 0,
    speaker: 'questioner',
    provider: 'anthropic',
    topic: { id: 't-1', title: 'Tidal power' },
    systemPrompt: 'You ask short questions.',
    turns: [],
    nudge: false,
    maxTokens: 64,
    temperature: 0.5,
    deadlineAt: Date.now() + 60_000,
    ...overrides,
  };
}

/** A process's model-calling path: the real Anthropic SDK against the fake server, and a turn cache. */
export function modelCaller(
  server: FakeProviderServer,
  turnCache: TurnCache,
  clock: Clock = systemClock,
  extra: Pick<CallModelOptions, 'intentDurable'> & { model?: string; budget?: MemoryBudgetStore } = {},
) {
  const config: ProviderConfig = {
    name: 'anthropic',
    apiKey: 'sk-ant-test-key-0000000000',
    baseUrl: server.urls.anthropic,
    model: extra.model ?? 'claude-test',
    rpm: 600,
    tpm: 1_000_000,
    timeoutMs: 5_000,
  };
  const provider = new AnthropicProvider(config);
  const logic = callModelActor({
    provider: () => provider,
    turnCache,
    clock,
    budget: new CallBudget(extra.budget ?? new MemoryBudgetStore({ clock }), costConfigFrom({}).prices),
    intentDurable: extra.intentDurable,
  });
  return (input: CallModelInput): Promise<Turn> => toPromise(createActor(logic, { input }).start());
}

/** Model calls the fake server received (health checks aside). */
export function generateRequests(server: FakeProviderServer): number {
  return server.requests().filter((r) => r.operation === 'generate').length;
}
