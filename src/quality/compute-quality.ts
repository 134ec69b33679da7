import type { QualityMetrics, TerminationReason, Turn } from '../events.js';
import { distinctNOfTokens } from './distinct-n.js';
import { countRepetitiveTurns } from './repetition.js';
import { tokenize } from './tokenize.js';
import { turnPrefix } from './turn-prefix.js';

/**
 * Distinct-2 at or above which diversity earns full credit. Varied dialogue of a few hundred to a few
 * thousand words sits around 0.8-0.95; text that loops on its own phrases falls well below 0.7.
 */
export const DISTINCT2_TARGET = 0.75;

/**
 * Mean words per turn that count as healthy: below 15 the exchange is one-liners, above 300 turns become
 * monologues rather than conversation. Questions are short and answers long, so the mean sits in between.
 */
export const HEALTHY_TURN_WORDS = { min: 15, max: 300 } as const;

/** Two exchanges are the least that show a follow-up building on an answer. */
export const FULL_SCORE_TURNS = 4;

/** Diversity matters most for training data; repeated turns next; length is a sanity check. */
export const SCORE_WEIGHTS = { diversity: 0.5, novelty: 0.3, length: 0.2 } as const;

/**
 * How much of its score a conversation keeps for the way it ended. Running to a natural close or to the
 * turn limit is a complete conversation. Every other ending leaves an abrupt last exchange: a loop cut by
 * `repetition`, a `refusal` (the other side's last question unanswered, and a sign the subject strays
 * towards what models refuse), a `timeout`, a provider failure or a crash mid-way, a cancellation.
 */
export const TERMINATION_FACTORS: Readonly<Record<TerminationReason, number>> = {
  natural_end: 1,
  max_turns: 1,
  cancelled: 0.8,
  timeout: 0.7,
  repetition: 0.6,
  refusal: 0.5,
  provider_failed: 0.5,
  crashed: 0.5,
};

/**
 * Share of the score a conversation loses when every turn is cut off at the token limit; in proportion for
 * fewer. A truncated turn ends mid-sentence, which a model trained on it learns to do.
 */
export const TRUNCATION_PENALTY = 0.5;

export interface QualityOptions {
  /**
   * Conversations shorter than this are scored down in proportion (`turns / fullScoreTurns`).
   * @default FULL_SCORE_TURNS (4)
   */
  fullScoreTurns?: number;
  /** How the conversation ended; unset for one still running (no factor applied). */
  terminationReason?: TerminationReason;
}

type ScoredTurn = Pick<Turn, 'text' | 'usage' | 'latencyMs'> & { truncated?: boolean };

/**
 * Quality metrics of a finished (or partial) conversation. The score, 0..1, is
 *
 *     score = min(1, turns / fullScoreTurns)
 *           × ( 0.5 × min(1, distinct2 / DISTINCT2_TARGET)
 *             + 0.3 × (1 − repetitionRatio)
 *             + 0.2 × lengthFit )
 *           × TERMINATION_FACTORS[terminationReason]
 *           × (1 − TRUNCATION_PENALTY × truncatedTurns / turns)
 *
 * (the same formula is documented in docs/dataset.md), so a conversation cut short by `repetition` after
 * four clean turns scores at most 0.6, and one whose every turn hit the token limit at most half of what
 * its text would earn. The two factors are reported in `factors`.
 *
 * where `lengthFit` is 1 inside {@link HEALTHY_TURN_WORDS}, `mean / min` below it and `max / mean` above it.
 * `repetitionRatio` is the share of turns that {@link assessRepetitionOfTokens} flags against the turns
 * before them. Ratios are rounded to 4 decimals and means to 1, so records stay readable.
 */
export function computeQuality(turns: readonly ScoredTurn[], options: QualityOptions = {}): QualityMetrics {
  const count = turns.length;
  const termination =
    options.terminationReason === undefined ? 1 : TERMINATION_FACTORS[options.terminationReason];
  if (count === 0) {
    return {
      turns: 0,
      distinct1: 0,
      distinct2: 0,
      repetitionRatio: 0,
      meanTurnLength: 0,
      totalTokens: 0,
      meanLatencyMs: 0,
      score: 0,
      truncatedTurns: 0,
      factors: { termination, truncation: 1 },
    };
  }
  const { distinct1, distinct2, repetitive, words } = textMeasures(turns);
  const repetitionRatio = repetitive / count;
  const meanTurnLength = words / count;
  const totalTokens = turns.reduce((sum, turn) => sum + turn.usage.inputTokens + turn.usage.outputTokens, 0);
  const meanLatencyMs = turns.reduce((sum, turn) => sum + turn.latencyMs, 0) / count;

  const fullScoreTurns = Math.max(1, options.fullScoreTurns ?? FULL_SCORE_TURNS);
  const blended =
    SCORE_WEIGHTS.diversity * Math.min(1, distinct2 / DISTINCT2_TARGET) +
    SCORE_WEIGHTS.novelty * (1 - repetitionRatio) +
    SCORE_WEIGHTS.length * lengthFit(meanTurnLength);
  const truncatedTurns = turns.filter((turn) => turn.truncated === true).length;
  const truncation = 1 - TRUNCATION_PENALTY * (truncatedTurns / count);
  const score = Math.min(1, count / fullScoreTurns) * blended * termination * truncation;

  return {
    turns: count,
    distinct1: round(distinct1, 4),
    distinct2: round(distinct2, 4),
    repetitionRatio: round(repetitionRatio, 4),
    meanTurnLength: round(meanTurnLength, 1),
    totalTokens,
    meanLatencyMs: round(meanLatencyMs, 1),
    score: Math.min(1, Math.max(0, round(score, 4))),
    truncatedTurns,
    factors: { termination, truncation: round(truncation, 4) },
  };
}

/**
 * Distinct-1 and distinct-2 over all turns, the turns the repetition check flags against those before
 * them, and the words in all: from the conversation's running prefix (`turn-prefix.ts`), the same figures
 * the passes over every turn give, without walking the turns again.
 */
function textMeasures(turns: readonly ScoredTurn[]): {
  distinct1: number;
  distinct2: number;
  repetitive: number;
  words: number;
} {
  const prefix = turnPrefix(turns);
  if (prefix.bigramsOverflow) {
    const tokenised = turns.map((turn) => tokenize(turn.text));
    return {
      distinct1: distinctNOfTokens(tokenised, 1),
      distinct2: distinctNOfTokens(tokenised, 2),
      repetitive: countRepetitiveTurns(tokenised),
      words: prefix.wordCount,
    };
  }
  return {
    distinct1: prefix.wordCount === 0 ? 0 : prefix.words.size / prefix.wordCount,
    distinct2: prefix.bigramCount === 0 ? 0 : prefix.bigrams.size / prefix.bigramCount,
    repetitive: prefix.repetitive,
    words: prefix.wordCount,
  };
}

function lengthFit(meanWords: number): number {
  if (meanWords < HEALTHY_TURN_WORDS.min) return meanWords / HEALTHY_TURN_WORDS.min;
  if (meanWords > HEALTHY_TURN_WORDS.max) return HEALTHY_TURN_WORDS.max / meanWords;
  return 1;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
