/**
 * One judgement of one finished conversation: the rubric prompt sent through the judge's provider (already
 * behind its rate limiter, breaker and retries), the structured answer parsed and validated by zod. An
 * answer that is not the rubric's JSON is a typed `judge_invalid` error, asked again up to `maxAttempts`
 * times; when no valid answer comes, the judgement fails with a `JudgeFailedError` that carries the
 * unjudged verdict (reason, usage spent) for the record.
 */
import { JUDGE_DEFAULTS } from '../config.js';
import { ChimeraError, isChimeraError } from '../errors.js';
import type { JudgeVerdict, Speaker, TurnCost, Usage } from '../events.js';
import type { Clock, LlmProvider } from '../services/ports.js';
import { JUDGE_SYSTEM_PROMPT, judgeUserMessage } from './prompt.js';
import { JUDGEMENT_OUTPUT, type JudgementAnswer, judgementAnswerSchema, overallScore } from './rubric.js';

/** The judge's answer did not parse as JSON or did not match the rubric's schema. Retryable. */
export class JudgeAnswerError extends ChimeraError {
  constructor(reason: string) {
    super('judge_invalid', `the judge's answer is not a valid judgement: ${reason}`, { retryable: true });
  }
}

/** No judgement could be had: `verdict` is the unjudged verdict to record. Never fails the conversation. */
export class JudgeFailedError extends ChimeraError {
  readonly verdict: JudgeVerdict;

  constructor(verdict: JudgeVerdict, cause?: unknown) {
    super('judge_failed', `conversation left unjudged: ${verdict.reason}`, { cause });
    this.verdict = verdict;
  }
}

export function isJudgeFailedError(error: unknown): error is JudgeFailedError {
  return isChimeraError(error) && error.code === 'judge_failed' && 'verdict' in error;
}

/** Parses the judge's JSON text and validates it against the rubric. @throws {JudgeAnswerError} */
export function parseJudgement(text: string): JudgementAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new JudgeAnswerError(`not JSON (${(error as Error).message})`);
  }
  const parsed = judgementAnswerSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new JudgeAnswerError(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}

export interface JudgeRequest {
  conversationId: string;
  topicTitle: string;
  turns: ReadonlyArray<{ speaker: Speaker; text: string }>;
  signal?: AbortSignal;
}

export interface JudgeOptions {
  /** The judge's provider, behind its limiter, breaker and retries (a resilient result counts its attempts). */
  provider: LlmProvider;
  /** The provider's configured name (`JUDGE_PROVIDER`). */
  providerName: string;
  /** `JUDGE_MODEL`. @default the provider's configured model */
  model?: string;
  /** @default JUDGE_DEFAULTS.MAX_ATTEMPTS */
  maxAttempts?: number;
  /** @default JUDGE_DEFAULTS.MAX_TOKENS */
  maxTokens?: number;
  /** @default JUDGE_DEFAULTS.MAX_TRANSCRIPT_CHARS */
  maxTranscriptChars?: number;
  clock: Clock;
  /**
   * Reserves each judge call against the spending cap before it is sent and prices it after (the
   * conversation calls' `CallBudget`, bound to the judge's provider). @default the calls are not priced
   */
  budget?: JudgeBudget;
}

/** The spending cap as the judge sees it: a reservation per call, settled with the usage reported. */
export interface JudgeBudget {
  reserve(call: { id: string; system: string; content: string; maxTokens: number }): Promise<{
    settle(usage: Usage, model?: string): Promise<TurnCost>;
    release(): Promise<void>;
  }>;
}

function addCost(total: TurnCost | undefined, cost: TurnCost): TurnCost {
  if (!total) return cost;
  const status =
    total.status === 'unpriced' || cost.status === 'unpriced'
      ? 'unpriced'
      : total.status === 'priced' || cost.status === 'priced'
        ? 'priced'
        : 'free';
  return { micros: total.micros + cost.micros, status };
}

function addUsage(total: Usage, usage: Usage): Usage {
  const sum = (a?: number, b?: number) =>
    a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
  const cacheRead = sum(total.cacheReadTokens, usage.cacheReadTokens);
  const cacheWrite = sum(total.cacheWriteTokens, usage.cacheWriteTokens);
  return {
    inputTokens: total.inputTokens + usage.inputTokens,
    outputTokens: total.outputTokens + usage.outputTokens,
    ...(cacheRead === undefined ? {} : { cacheReadTokens: cacheRead }),
    ...(cacheWrite === undefined ? {} : { cacheWriteTokens: cacheWrite }),
  };
}

/** Judges one conversation. @throws {JudgeFailedError} with the unjudged verdict when no judgement came. */
export async function judgeConversation(request: JudgeRequest, options: JudgeOptions): Promise<JudgeVerdict> {
  const maxAttempts = options.maxAttempts ?? JUDGE_DEFAULTS.MAX_ATTEMPTS;
  const system = JUDGE_SYSTEM_PROMPT;
  const content = judgeUserMessage({
    topicTitle: request.topicTitle,
    turns: request.turns,
    maxChars: options.maxTranscriptChars,
  });
  let usage: Usage = { inputTokens: 0, outputTokens: 0 };
  let cost: TurnCost | undefined;
  let attempts = 0;
  const maxTokens = options.maxTokens ?? JUDGE_DEFAULTS.MAX_TOKENS;
  let model = options.model ?? options.provider.model;
  const unjudged = (reason: string, cause?: unknown) =>
    new JudgeFailedError(
      {
        status: 'unjudged',
        provider: options.providerName,
        model,
        reason,
        usage,
        ...(cost ? { cost } : {}),
        attempts,
        at: options.clock.now(),
      },
      cause,
    );
  let lastError: unknown;
  for (let round = 1; round <= maxAttempts; round++) {
    let result: Awaited<ReturnType<LlmProvider['generate']>> & { attempts?: number };
    const idempotencyKey = `${request.conversationId}:judge:${round}`;
    let reservation: Awaited<ReturnType<JudgeBudget['reserve']>> | undefined;
    try {
      reservation = await options.budget?.reserve({ id: idempotencyKey, system, content, maxTokens });
      result = await options.provider.generate({
        system,
        messages: [{ role: 'user', content }],
        maxTokens,
        temperature: 0,
        signal: request.signal,
        idempotencyKey,
        structured: JUDGEMENT_OUTPUT,
        ...(options.model ? { model: options.model } : {}),
      });
    } catch (error) {
      await reservation?.release().catch(() => {});
      if (request.signal?.aborted) throw error;
      attempts += (error as { attempts?: number }).attempts ?? 1;
      const code = isChimeraError(error) ? error.code : 'unknown';
      throw unjudged(`judge call failed (${code}): ${(error as Error).message ?? String(error)}`, error);
    }
    attempts += result.attempts ?? 1;
    usage = addUsage(usage, result.usage);
    model = result.model;
    if (reservation) cost = addCost(cost, await reservation.settle(result.usage, result.model));
    try {
      const answer = parseJudgement(result.text);
      const { rationale, ...scores } = answer;
      return {
        status: 'judged',
        provider: options.providerName,
        model,
        scores,
        overall: overallScore(scores),
        rationale,
        usage,
        ...(cost ? { cost } : {}),
        attempts,
        at: options.clock.now(),
      };
    } catch (error) {
      lastError = error;
    }
  }
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw unjudged(`malformed answer ${maxAttempts} times; last: ${reason}`, lastError);
}
