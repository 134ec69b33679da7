import { randomUUID } from 'node:crypto';
import { fromPromise } from 'xstate';
import type { JudgeConfig } from '../config.js';
import type { CallBudget } from '../cost/call-budget.js';
import { type CallCharge, turnCostOf } from '../cost/ledger.js';
import type { JudgeVerdict } from '../events.js';
import { type JudgeBudget, judgeConversation } from '../judge/run.js';
import type { JudgeInput } from '../machines/conversation.js';
import type { Clock, LlmProvider } from '../services/ports.js';

export interface JudgeActorOptions {
  /** The judge's provider, already behind its rate limiter, breaker and retries. */
  provider: LlmProvider;
  config: JudgeConfig;
  clock: Clock;
  /** The spending cap the conversations' calls reserve against; the judge's calls do too. @default not priced */
  budget?: CallBudget;
  /** Where the judge's provider is served (pricing: a self-hosted server is free unless priced). */
  baseUrl?: string;
  /** Hears every charge, for the ledger's metric. */
  onCharge?: (charge: CallCharge) => void;
}

function judgeBudget(options: JudgeActorOptions, budget: CallBudget): JudgeBudget {
  return {
    async reserve({ id, system, content, maxTokens }) {
      const reservation = await budget.reserve({
        id: `${id}:${randomUUID().slice(0, 8)}`,
        provider: options.config.provider,
        baseUrl: options.baseUrl,
        model: options.config.model,
        system,
        messages: [{ content }],
        maxTokens,
      });
      return {
        async settle(usage, model) {
          const charge = await reservation.settle(usage, model);
          options.onCharge?.(charge);
          return turnCostOf(charge);
        },
        release: () => reservation.release(),
      };
    },
  };
}

/**
 * The conversation machine's `judge` actor: one judgement of the finished conversation's kept turns, each
 * call reserved against the spending cap and priced like a turn.
 * Rejects with a `JudgeFailedError` carrying the unjudged verdict; the machine records it and ends anyway.
 */
export function judgeActor(options: JudgeActorOptions) {
  const budget = options.budget ? judgeBudget(options, options.budget) : undefined;
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
        ...(budget ? { budget } : {}),
      },
    ),
  );
}
