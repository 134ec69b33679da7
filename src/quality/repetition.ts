import { editSimilarityAtLeast, similarityUpperBound } from './edit-similarity.js';
import { isStopword } from './stopwords.js';
import { tokenize } from './tokenize.js';

/** Trigrams: sharing one means sharing a phrase, yet a loose paraphrase that keeps the key phrases still overlaps. */
export const REPETITION_NGRAM_SIZE = 3;

/**
 * A turn is repetitive when more than this share of its phrases (content trigrams) were already said:
 * it then repeats more than it adds. Varied dialogue on one topic stays well under 0.2 (shared technical
 * terms); an answer that restates an earlier one in other framing lands above 0.5.
 */
export const REPETITION_OVERLAP_THRESHOLD = 0.5;

/**
 * Below this many content trigrams a turn is too short to judge by share: a follow-up question that echoes
 * the key phrase of the answer it follows ("why is offshore wind more expensive?") would otherwise count.
 */
export const MIN_NGRAMS_FOR_OVERLAP = 10;

/** Word-level edit similarity at or above which a turn is a near-copy: at most one word in ten differs. */
export const NEAR_DUPLICATE_SIMILARITY = 0.9;

/** "Yes, exactly." said twice is ordinary chit-chat, not a loop: shorter turns are never near-copies. */
export const MIN_WORDS_FOR_NEAR_DUPLICATE = 4;

export interface RepetitionAssessment {
  /** Share (0..1) of the new turn's distinct content trigrams that already occur in earlier texts. */
  overlap: number;
  /** Index in `previousTexts` of the text the new turn nearly copies (the most similar one). */
  nearDuplicateOf?: number;
  /** Word-level edit similarity to `nearDuplicateOf`, when there is one. */
  similarity?: number;
  /** Overlap above {@link REPETITION_OVERLAP_THRESHOLD} (for turns long enough to judge) or a near-copy. */
  repetitive: boolean;
}

/**
 * How much `newText` repeats `previousTexts` (the earlier turns of the conversation, both sides):
 * trigram overlap with all of them together, and whether it nearly copies any single one.
 */
export function assessRepetition(newText: string, previousTexts: readonly string[]): RepetitionAssessment {
  return assessRepetitionOfTokens(
    tokenize(newText),
    previousTexts.map((text) => tokenize(text)),
  );
}

/** {@link assessRepetition} over texts already tokenised. */
export function assessRepetitionOfTokens(
  tokens: readonly string[],
  previous: readonly (readonly string[])[],
): RepetitionAssessment {
  const earlier = new Set<string>();
  for (const p of previous) for (const gram of contentNgrams(p)) earlier.add(gram);
  return judgeRepetition(tokens, earlier, previous, previous.length);
}

/**
 * How many of the turns {@link assessRepetitionOfTokens} flags against the turns before them: the same
 * verdicts, with the n-grams of the earlier turns gathered once as it goes instead of again for each turn.
 */
export function countRepetitiveTurns(tokenised: readonly (readonly string[])[]): number {
  const earlier = new Set<string>();
  let repetitive = 0;
  for (let i = 0; i < tokenised.length; i++) {
    const tokens = tokenised[i]!;
    if (judgeRepetition(tokens, earlier, tokenised, i).repetitive) repetitive++;
    for (const gram of contentNgrams(tokens)) earlier.add(gram);
  }
  return repetitive;
}

/**
 * The verdict on `tokens` given the content n-grams of every earlier turn and their word lists, the first
 * `count` of `previous` (a count rather than a slice: the final score judges every turn of a conversation).
 */
export function judgeRepetition(
  tokens: readonly string[],
  earlier: ReadonlySet<string>,
  previous: readonly (readonly string[])[],
  count: number,
): RepetitionAssessment {
  const own = contentNgrams(tokens);
  let seen = 0;
  for (const gram of own) if (earlier.has(gram)) seen++;
  const overlap = own.size === 0 ? 0 : seen / own.size;

  const nearDuplicate = closestNearDuplicate(tokens, previous, count);
  const repetitive =
    (own.size >= MIN_NGRAMS_FOR_OVERLAP && overlap > REPETITION_OVERLAP_THRESHOLD) ||
    nearDuplicate !== undefined;
  return nearDuplicate === undefined
    ? { overlap, repetitive }
    : { overlap, nearDuplicateOf: nearDuplicate.index, similarity: nearDuplicate.similarity, repetitive };
}

const gramCache = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Distinct trigrams with at least one word that is not a function word. */
export function contentNgrams(tokens: readonly string[]): ReadonlySet<string> {
  const cached = gramCache.get(tokens);
  if (cached) return cached;
  const grams = new Set<string>();
  for (let i = 0; i + REPETITION_NGRAM_SIZE <= tokens.length; i++) {
    // REPETITION_NGRAM_SIZE words, without the slice and join of a general n.
    const a = tokens[i]!;
    const b = tokens[i + 1]!;
    const c = tokens[i + 2]!;
    if (!isStopword(a) || !isStopword(b) || !isStopword(c)) grams.add(`${a} ${b} ${c}`);
  }
  // Only frozen lists can be keys: a list the caller may still change would leave a stale entry.
  if (Object.isFrozen(tokens)) gramCache.set(tokens, grams);
  return grams;
}

function closestNearDuplicate(
  tokens: readonly string[],
  previous: readonly (readonly string[])[],
  count: number,
): { index: number; similarity: number } | undefined {
  if (tokens.length < MIN_WORDS_FOR_NEAR_DUPLICATE) return undefined;
  let best: { index: number; similarity: number } | undefined;
  for (let index = 0; index < count; index++) {
    const other = previous[index];
    if (other === undefined) continue; // a hole, which the forEach this replaces skipped as well
    if (similarityUpperBound(tokens.length, other.length) < NEAR_DUPLICATE_SIMILARITY) continue;
    const similarity = editSimilarityAtLeast(tokens, other, NEAR_DUPLICATE_SIMILARITY);
    if (similarity !== undefined && (best === undefined || similarity > best.similarity)) {
      best = { index, similarity };
    }
  }
  return best;
}
