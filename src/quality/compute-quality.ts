import type { QualityMetrics, Turn } from '../events.js';
import { distinctNOfTokens } from './distinct-n.js';
import { assessRepetitionOfTokens } from './repetition.js';
import { tokenize } from './tokenize.js';

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

export interface QualityOptions {
  /**
   * Conversations shorter than this are scored down in proportion (`turns / fullScoreTurns`).
   * @default FULL_SCORE_TURNS (4)
   */
  fullScoreTurns?: number;
}

/**
 * Quality metrics of a finished (or partial) conversation. The score, 0..1, is
 *
 *     score = min(1, turns / fullScoreTurns)
 *           × ( 0.5 × min(1, distinct2 / DISTINCT2_TARGET)
 *             + 0.3 × (1 − repetitionRatio)
 *             + 0.2 × lengthFit )
 *
 * where `lengthFit` is 1 inside {@link HEALTHY_TURN_WORDS}, `mean / min` below it and `max / mean` above it.
 * `repetitionRatio` is the share of turns that {@link assessRepetitionOfTokens} flags against the turns
 * before them. Ratios are rounded to 4 decimals and means to 1, so records stay readable.
 */
export function computeQuality(
  turns: readonly Pick<Turn, 'text' | 'usage' | 'latencyMs'>[],
  options: QualityOptions = {},
): QualityMetrics {
  const count = turns.length;
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
    };
  }
  const tokenised = turns.map((turn) => tokenize(turn.text));
  const distinct1 = distinctNOfTokens(tokenised, 1);
  const distinct2 = distinctNOfTokens(tokenised, 2);
  const repetitive = tokenised.filter(
    (tokens, i) => assessRepetitionOfTokens(tokens, tokenised.slice(0, i)).repetitive,
  ).length;
  const repetitionRatio = repetitive / count;
  const meanTurnLength = tokenised.reduce((sum, tokens) => sum + tokens.length, 0) / count;
  const totalTokens = turns.reduce((sum, turn) => sum + turn.usage.inputTokens + turn.usage.outputTokens, 0);
  const meanLatencyMs = turns.reduce((sum, turn) => sum + turn.latencyMs, 0) / count;

  const fullScoreTurns = Math.max(1, options.fullScoreTurns ?? FULL_SCORE_TURNS);
  const blended =
    SCORE_WEIGHTS.diversity * Math.min(1, distinct2 / DISTINCT2_TARGET) +
    SCORE_WEIGHTS.novelty * (1 - repetitionRatio) +
    SCORE_WEIGHTS.length * lengthFit(meanTurnLength);
  const score = Math.min(1, count / fullScoreTurns) * blended;

  return {
    turns: count,
    distinct1: round(distinct1, 4),
    distinct2: round(distinct2, 4),
    repetitionRatio: round(repetitionRatio, 4),
    meanTurnLength: round(meanTurnLength, 1),
    totalTokens,
    meanLatencyMs: round(meanLatencyMs, 1),
    score: Math.min(1, Math.max(0, round(score, 4))),
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
