import { randomUUID } from 'node:crypto';
import { fromPromise } from 'xstate';
import { type BudgetExhaustedError, type CallBudget, isBudgetExhaustedError } from '../cost/call-budget.js';
import { type CallCharge, turnCostOf } from '../cost/ledger.js';
import { CallLostError, ChimeraError } from '../errors.js';
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

/** A day and an hour: the default longest wait on a batch (24 hours) and a margin. */
const DEFAULT_BATCH_RESERVATION_TTL_MS = 25 * 3_600_000;

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
  /** Reserves each call's worst case against the spending cap before it is sent, and prices what it used. */
  budget: CallBudget;
  /** Where a provider is served: an OpenAI-compatible server that is not OpenAI is free unless priced. */
  baseUrl?: (provider: string) => string | undefined;
  /** Hears every call's charge (metrics, the process's ledger). */
  onCharge?: (charge: CallCharge) => void;
  /** Hears every call the cap refused (the budget machine's RESERVE_REFUSED). */
  onRefused?: (error: BudgetExhaustedError) => void;
  /** The provider's batcher when it runs in batch mode (`PROVIDER_MODE=batch`). @default every call online */
  batcher?: (name: string) => BatchCaller | undefined;
  /**
   * How long a batched call's reservation holds: the longest a turn may wait on its batch
   * (`BATCH_MAX_WAIT_HOURS`) and a margin. @default 25 hours
   */
  batchReservationTtlMs?: number;
  /**
   * Resolves once the conversation's step recording this call as in flight (`inFlight`) is durable in the
   * store; a call is sent only after it, so a crash can never leave a sent call unrecorded. Rejects when
   * `signal` aborts. @default no wait (nothing persists the conversation)
   */
  intentDurable?: (
    conversationId: string,
    key: { turnIndex: number; generation: number },
    signal: AbortSignal,
  ) => Promise<void>;
}

/**
 * One turn's model call. Idempotent per (conversation, turn index, generation): a result already recorded
 * (the call finished before a crash, or a stale owner got there first) is returned instead of paying for
 * a second call, and the first recorded answer wins a race. A request is sent at most once per key: the
 * call waits until the step recording it as in flight is durable (`intentDurable`), and a call restored
 * in flight (`mayHaveBeenSent`) with no recorded answer is not sent again but fails as lost
 * (`CallLostError`), so the conversation asks for the turn under the next generation.
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
    const batcher = options.batcher?.(input.provider);
    // Only a call that may already have been sent can have a recorded answer. With `intentDurable`, a call
    // is sent only after a durable step records it in flight, and every later owner restores that step
    // (fencing refuses the old owner's writes once another holds the lease), so a call not restored in
    // flight (`mayHaveBeenSent`) has never been sent under its key: looking it up would be a wasted round
    // trip on every turn. Batched answers are cached by the batcher, and without `intentDurable` nothing
    // proves a call new, so both still look first.
    const mayBeRecorded = input.mayHaveBeenSent || batcher !== undefined || !options.intentDurable;
    const recorded = mayBeRecorded ? await options.turnCache.get(key) : null;
    // A batched answer is cached by the batcher before anyone prices it (below).
    const recordedUnpriced = recorded?.batch && !recorded.cost ? recorded : undefined;
    if (recorded && !recordedUnpriced) return recorded;

    const provider = options.provider(input.provider);
    if (!provider) throw new ChimeraError('invalid_request', `provider ${input.provider} is not configured`);
    const { system, messages } = buildTurnRequest({
      topic: input.topic,
      personas: { questioner: input.systemPrompt, answerer: input.systemPrompt },
      turns: input.turns,
      speaker: input.speaker,
      nudge: input.nudge ? REPETITION_NUDGE : undefined,
    });

    const idempotencyKey = `${input.conversationId}:${input.turnIndex}:${input.generation}`;
    /** What the budget prices a call by: its provider and model, prompt and output limit. */
    const call = {
      provider: input.provider,
      baseUrl: options.baseUrl?.(input.provider),
      model: provider.model,
      system,
      messages,
      maxTokens: input.maxTokens,
    };
    const reserve = async (
      extra: { id?: string; batch?: boolean; ttlMs?: number; maySettleAgain?: boolean } = {},
    ) => {
      try {
        return await options.budget.reserve({
          id: `${idempotencyKey}:${randomUUID().slice(0, 8)}`,
          ...call,
          ...extra,
        });
      } catch (error) {
        if (isBudgetExhaustedError(error)) options.onRefused?.(error);
        throw error;
      }
    };
    // Batch mode: the conversation waits in `callingModel` while the request travels in the next batch.
    // The worst case at the batch price is reserved first, for as long as the batch may take, under the
    // call's own id (a batched call is submitted once, whoever waits for it), and the answer is settled
    // at the batch price. An answer found in the turn cache unpriced (its waiter died before settling)
    // is settled here, or only priced when a predecessor settled it.
    if (batcher || recordedUnpriced) {
      const reservation = await reserve({
        id: `${idempotencyKey}:batch`,
        batch: true,
        ttlMs: options.batchReservationTtlMs ?? DEFAULT_BATCH_RESERVATION_TTL_MS,
        maySettleAgain: true,
      });
      let answered: Turn;
      try {
        answered =
          recordedUnpriced ??
          (await batcher!.call(key, {
            system,
            messages,
            maxTokens: input.maxTokens,
            temperature: input.temperature,
            idempotencyKey,
          }));
      } catch (error) {
        await reservation.release().catch(() => {});
        throw error;
      }
      if (answered.cost) {
        await reservation.release().catch(() => {});
        return answered;
      }
      const batchCharge = await reservation.settle(answered.usage, answered.model);
      if (!reservation.alreadySettled) options.onCharge?.(batchCharge);
      return { ...answered, cost: turnCostOf(batchCharge) };
    }
    if (input.mayHaveBeenSent) {
      // It may have reached the provider before the process that sent it died, and its answer is lost with
      // it: sending it again would be a second request under one key.
      const worstCase = options.budget.worstCase(call);
      throw new CallLostError(idempotencyKey, worstCase, options.clock.now());
    }
    await options.intentDurable?.(input.conversationId, key, signal);
    // The worst case is reserved before anything is sent (a refusal is not a provider failure: it never
    // reaches the retries or the breaker). The id is new per call, so a call made again after a crash
    // reserves afresh while the dead one's reservation lapses.
    const reservation = await reserve();
    let result: GenerateResult & { attempts?: number };
    try {
      result = await provider.generate({
        system,
        messages,
        maxTokens: input.maxTokens,
        temperature: input.temperature,
        signal,
        idempotencyKey,
        waitForBreakerUntil: input.deadlineAt,
      });
    } catch (error) {
      // No answer, so nothing to price: the reservation goes back (a lost release lapses with its TTL).
      await reservation.release().catch(() => {});
      throw error;
    }
    // Settled before the turn is cached: a crash between the two re-sends a call that was counted, and
    // never loses a count.
    const charge = await reservation.settle(result.usage, result.model);
    options.onCharge?.(charge);
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
      cost: turnCostOf(charge),
    };
    return options.turnCache.putIfAbsent(key, turn);
  });
}
