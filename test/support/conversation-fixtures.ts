import type { Turn } from '../../src/events.js';
import type { ConversationContext, ConversationInput } from '../../src/machines/conversation.js';

/** A new conversation's input, with small settings. */
export function conversationInput(overrides: Partial<ConversationInput> = {}): ConversationInput {
  return {
    conversationId: 'conv-1',
    topic: { id: 'topic-1', title: 'Heat pumps in cold climates' },
    providers: { questioner: 'anthropic', answerer: 'gemini' },
    personas: { questioner: 'ask', answerer: 'answer' },
    settings: { maxTurns: 4, minTurns: 2, timeoutMs: 60_000, maxTokensPerTurn: 100, temperature: 0.5 },
    startedAt: 1_000,
    ...overrides,
  };
}

export function turnFor(index: number, overrides: Partial<Turn> = {}): Turn {
  return {
    index,
    speaker: index % 2 === 0 ? 'questioner' : 'answerer',
    provider: index % 2 === 0 ? 'anthropic' : 'gemini',
    model: 'm',
    text: `turn ${index}`,
    usage: { inputTokens: 10, outputTokens: 5 },
    latencyMs: 3,
    attempts: 1,
    requestId: `r-${index}`,
    at: 2_000 + index,
    ...overrides,
  };
}

/** The context of an active conversation some steps in, as a daemon would have persisted it. */
export function activeContext(overrides: Partial<ConversationContext> = {}): ConversationContext {
  return {
    ...conversationInput(),
    turns: [],
    nudge: false,
    nudges: 0,
    status: 'active',
    ...overrides,
  };
}

/** A persisted conversation snapshot (XState's `getPersistedSnapshot` layout) holding `context`. */
export function persistedConversation(context: ConversationContext): unknown {
  return {
    status: 'active',
    value: { running: context.pending ? 'assessingQuality' : 'callingModel' },
    historyValue: {},
    context,
    children: {},
  };
}
