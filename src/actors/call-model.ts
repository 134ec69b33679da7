import { fromPromise } from 'xstate';
import { ChimeraError } from '../errors.js';
import type { Turn } from '../events.js';
import type { CallModelInput } from '../machines/conversation.js';
import { buildTurnRequest } from '../prompts/turn-request.js';
import { isTruncated, recordedStopReason } from '../provenance/stop-reason.js';
import { REPETITION_NUDGE } from '../quality/assess-turn.js';
import type {
  BatchRequest,
  Clock,
  GenerateResult,
  LlmProvider,
  TurnCache,
  TurnKey,
} from '../services/ports.js';

/** A provider's batcher as the call path sees it (`src/batch/provider-batcher.ts`). */
export interface BatchCaller {
  /** Resolves when the turn's batch answered, with the turn as the turn cache keeps it (`batch: true`). */
  call(key: TurnKey, request: BatchRequest['request']): Promise<Turn>;
}

export interface CallModelOptions {
  /** The provider by name, already wrapped with rate limiting, retries and its breaker. */
  provider: (name: string) => LlmProvider | undefined;
  turnCache: TurnCache;
  clock: Clock;
  /** The provider's batcher when it runs in batch mode (`PROVIDER_MODE=batch`). @default every call online */
  batcher?: (name: string) => BatchCaller | undefined;
}

/**
 * One turn's model call. Idempotent per (conversation, turn index, generation): a result already recorded
 * (the call finished before a crash, or a stale owner got there first) is returned instead of paying for
 * a second call, and the first recorded answer wins a race.
 *
 * Provider failure policy: when the provider's breaker is open, the turn waits for the breaker's probe
 * if that comes before the conversation's deadline (`waitForBreakerUntil`), then calls again, within one
 * retry budget for the whole turn; otherwise the error ends the conversation as `provider_failed`. It
 * never substitutes another provider: which two models talked is part of the data, and a silent swap
 * would mislabel it.
 */
export function callModelActor(options: CallModelOptions) {
  return fromPromise<Turn, CallModelInput>(async ({ input, signal }) => {
    const key = {
      conversationId: input.conversationId,
      turnIndex: input.turnIndex,
      generation: input.generation,
    };
    const recorded = await options.turnCache.get(key);
    if (recorded) return recorded;

    const provider = options.provider(input.provider);
    if (!provider) throw new ChimeraError('invalid_request', `provider ${input.provider} is not configured`);
    const { system, messages } = buildTurnRequest({
      topic: input.topic,
      personas: { questioner: input.systemPrompt, answerer: input.systemPrompt },
      turns: input.turns,
      speaker: input.speaker,
      nudge: input.nudge ? REPETITION_NUDGE : undefined,
    });

    // Batch mode: the conversation waits in `callingModel` while the request travels in the next batch.
    const batcher = options.batcher?.(input.provider);
    if (batcher)
      return batcher.call(key, {
        system,
        messages,
        maxTokens: input.maxTokens,
        temperature: input.temperature,
        idempotencyKey: `${input.conversationId}:${input.turnIndex}:${input.generation}`,
      });

    const result: GenerateResult & { attempts?: number } = await provider.generate({
      system,
      messages,
      maxTokens: input.maxTokens,
      temperature: input.temperature,
      signal,
      idempotencyKey: `${input.conversationId}:${input.turnIndex}:${input.generation}`,
      waitForBreakerUntil: input.deadlineAt,
    });
    const turn: Turn = {
      index: input.turnIndex,
      speaker: input.speaker,
      provider: input.provider,
      model: result.model,
      text: result.text.trim(),
      usage: result.usage,
      latencyMs: result.latencyMs,
      attempts: result.attempts ?? 1,
      requestId: result.requestId,
      at: options.clock.now(),
      stopReason: recordedStopReason(result.stopReason),
      truncated: isTruncated(result.stopReason),
      temperature: input.temperature,
      maxTokens: input.maxTokens,
    };
    return options.turnCache.putIfAbsent(key, turn);
  });
}
