import type { TerminationReason } from '../events.js';
import { detectNaturalEnd } from './natural-end.js';
import { detectRefusal } from './refusal.js';
import { assessRepetition, REPETITION_OVERLAP_THRESHOLD, type RepetitionAssessment } from './repetition.js';
import { repetitionAgainst, turnPrefix } from './turn-prefix.js';

/** Appended to the system prompt of a regenerated turn after a repetitive one. */
export const REPETITION_NUDGE =
  'Do not repeat points already made earlier in this conversation; add something new: a fresh angle, a concrete example, a consequence or a question not yet covered.';

/**
 * Nudged regenerations a conversation gets before repetition ends it. One: a single slip is often fixed by
 * the nudge, while a model that repeats itself again after being told not to is looping, and more retries
 * would spend tokens on data that is no longer worth keeping.
 */
export const MAX_REPETITION_NUDGES = 1;

/** Verdicts that end the conversation are named as its termination reason. */
export type EndingVerdict = Extract<TerminationReason, 'natural_end' | 'repetition' | 'refusal'>;
export type TurnVerdict = 'continue' | 'retry_with_nudge' | EndingVerdict;

export interface TurnAssessmentInput {
  /** The turn just generated. */
  text: string;
  /** The conversation's earlier turns in order (both speakers), so index i is turn i. */
  previousTexts: readonly string[];
  /** 0-based index of the turn just generated. */
  turnIndex: number;
  /** A farewell ends the conversation only once this many turns exist (this one included). */
  minTurns: number;
  /**
   * Nudged regenerations this conversation has already had, this attempt included when it is one.
   * @default 0
   */
  nudgesUsed?: number;
}

export type TurnAssessment =
  | { verdict: 'continue' | EndingVerdict; detail: string; repetition: RepetitionAssessment }
  | { verdict: 'retry_with_nudge'; detail: string; repetition: RepetitionAssessment; nudge: string };

/**
 * The one decision the conversation machine makes after each turn, in this order:
 *
 * 1. `refusal`: the turn is a refusal or assistant boilerplate; the conversation ends, whatever its length.
 * 2. `natural_end`: the turn closes with a farewell and at least `minTurns` turns exist (this one included).
 *    A farewell before that is ignored and the conversation goes on. A closing turn often sums up what was
 *    said, so it is not judged for repetition.
 * 3. Repetition (see {@link assessRepetition}): the repetitive turn is discarded, not kept. While
 *    `nudgesUsed` is below {@link MAX_REPETITION_NUDGES} the verdict is `retry_with_nudge`: generate the same
 *    turn again with {@link REPETITION_NUDGE} appended to the system prompt, and pass `nudgesUsed + 1` when
 *    assessing the result. Once the budget is spent, a repetitive turn (the retry itself or a later relapse)
 *    is `repetition` and the conversation ends.
 * 4. `continue` otherwise.
 */
export function assessTurn(input: TurnAssessmentInput): TurnAssessment {
  return decide(input, assessRepetition(input.text, input.previousTexts));
}

/** {@link assessTurn} with the earlier turns as the conversation keeps them (see `assessConversationTurn`). */
export interface ConversationTurnAssessmentInput extends Omit<TurnAssessmentInput, 'previousTexts'> {
  /**
   * The conversation's earlier turns in order, as immutable objects: what the checks computed for them is
   * remembered under them (`turn-prefix.ts`), so each turn's words and phrases are worked out once.
   */
  previous: readonly { readonly text: string }[];
}

/**
 * The same verdict as {@link assessTurn} on the same texts, for a conversation assessed turn after turn:
 * the repetition check uses the conversation's running prefix instead of gathering every earlier turn's
 * phrases again.
 */
export function assessConversationTurn(input: ConversationTurnAssessmentInput): TurnAssessment {
  return decide(input, repetitionAgainst(turnPrefix(input.previous), input.text));
}

function decide(
  input: Omit<TurnAssessmentInput, 'previousTexts'>,
  repetition: RepetitionAssessment,
): TurnAssessment {
  const { text, turnIndex, minTurns, nudgesUsed = 0 } = input;
  const turnsSoFar = turnIndex + 1;

  if (detectRefusal(text)) {
    return {
      verdict: 'refusal',
      detail: `turn ${turnIndex} is a refusal or assistant boilerplate`,
      repetition,
    };
  }
  const farewell = detectNaturalEnd(text);
  if (farewell && turnsSoFar >= minTurns) {
    return {
      verdict: 'natural_end',
      detail: `turn ${turnIndex} closes the conversation after ${turnsSoFar} turns (minimum ${minTurns})`,
      repetition,
    };
  }
  if (repetition.repetitive) {
    const why = describeRepetition(repetition);
    if (nudgesUsed < MAX_REPETITION_NUDGES) {
      return {
        verdict: 'retry_with_nudge',
        detail: `turn ${turnIndex} ${why}; regenerating it with a nudge to add something new`,
        repetition,
        nudge: REPETITION_NUDGE,
      };
    }
    return {
      verdict: 'repetition',
      detail: `turn ${turnIndex} ${why}, after ${nudgesUsed} nudged regeneration(s)`,
      repetition,
    };
  }
  const note = farewell ? `; its farewell comes before the minimum of ${minTurns} turns` : '';
  return {
    verdict: 'continue',
    detail: `turn ${turnIndex} adds new content (trigram overlap ${repetition.overlap.toFixed(2)})${note}`,
    repetition,
  };
}

function describeRepetition(repetition: RepetitionAssessment): string {
  if (repetition.nearDuplicateOf !== undefined) {
    return `nearly copies turn ${repetition.nearDuplicateOf} (similarity ${repetition.similarity?.toFixed(2)})`;
  }
  return `repeats earlier turns (trigram overlap ${repetition.overlap.toFixed(2)}, more than ${REPETITION_OVERLAP_THRESHOLD})`;
}
