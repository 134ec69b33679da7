import { fromPromise } from 'xstate';
import type { JudgeConfig } from '../config.js';
import type { JudgeVerdict } from '../events.js';
import { judgeConversation } from '../judge/run.js';
import type { JudgeInput } from '../machines/conversation.js';
import type { Clock, LlmProvider } from '../services/ports.js';

export interface JudgeActorOptions {
  /** The judge's provider, already behind its rate limiter, breaker and retries. */
  provider: LlmProvider;
  config: JudgeConfig;
  clock: Clock;
}

/**
 * The conversation machine's `judge` actor: one judgement of the finished conversation's kept turns.
 * Rejects with a `JudgeFailedError` carrying the unjudged verdict; the machine records it and ends anyway.
 */
export function judgeActor(options: JudgeActorOptions) {
  return fromPromise<JudgeVerdict, JudgeInput>(({ input, signal }) =>
    judgeConversation(
      { conversationId: input.conversationId, topicTitle: input.topic.title, turns: input.turns, signal },
      {
        provider: options.provider,
        providerName: options.config.provider,
        model: options.config.model,
        maxAttempts: options.config.maxAttempts,
        maxTokens: options.config.maxTokens,
        maxTranscriptChars: options.config.maxTranscriptChars,
        clock: options.clock,
      },
    ),
  );
}
