/** Pure text measures of conversation quality: no I/O, safe to call from machines and actors alike. */
export {
  assessConversationTurn,
  assessTurn,
  type ConversationTurnAssessmentInput,
  type EndingVerdict,
  MAX_REPETITION_NUDGES,
  REPETITION_NUDGE,
  type TurnAssessment,
  type TurnAssessmentInput,
  type TurnVerdict,
} from './assess-turn.js';
export {
  computeQuality,
  DISTINCT2_TARGET,
  FULL_SCORE_TURNS,
  HEALTHY_TURN_WORDS,
  type QualityOptions,
  SCORE_WEIGHTS,
  TERMINATION_FACTORS,
  TRUNCATION_PENALTY,
} from './compute-quality.js';
export { distinctN, distinctNOfTokens } from './distinct-n.js';
export { editSimilarity } from './edit-similarity.js';
export { CLOSING_SENTENCES, detectNaturalEnd } from './natural-end.js';
export { detectRefusal, OPENING_SENTENCES } from './refusal.js';
export {
  assessRepetition,
  assessRepetitionOfTokens,
  MIN_NGRAMS_FOR_OVERLAP,
  MIN_WORDS_FOR_NEAR_DUPLICATE,
  NEAR_DUPLICATE_SIMILARITY,
  REPETITION_NGRAM_SIZE,
  REPETITION_OVERLAP_THRESHOLD,
  type RepetitionAssessment,
} from './repetition.js';
export { ngrams, sentences, tokenize } from './tokenize.js';
