import { contentNgrams, judgeRepetition, type RepetitionAssessment } from './repetition.js';
import { tokenize } from './tokenize.js';

/**
 * What the quality measures know about the first turns of one conversation, kept up to date one turn at a
 * time: each turn's words, the union of their content trigrams (what a new turn is judged against for
 * repetition), how many of them repeat the turns before them, and the unigram and bigram counts behind
 * distinct-1 and distinct-2.
 *
 * Without it, every new turn rebuilt the trigram union from all earlier turns, and the final score (twice:
 * the machine's and the record's) walked every turn again for distinct-n and for repetition. With it each
 * turn is added once. The prefix is remembered under its last turn object (turns are immutable once kept:
 * the machine appends a new list rather than changing one), and checked turn by turn (object and text)
 * before it is used, so a list it was not built from is rebuilt from scratch: the figures are always
 * exactly those of a pass over the list given.
 */
export interface TurnPrefix {
  /** The turns it covers, in order, and their texts as they were when added. */
  readonly turns: readonly object[];
  readonly texts: readonly string[];
  /** Each turn's words (`tokenize`). */
  readonly tokens: (readonly string[])[];
  /** Every content trigram of every turn (`contentNgrams`). */
  readonly earlier: Set<string>;
  /** Turns that the repetition check flags against the turns before them. */
  repetitive: number;
  /** Unigram ids: its size is the number of distinct words. */
  readonly words: Map<string, number>;
  /** Words in all. */
  wordCount: number;
  /** Distinct bigrams, as pairs of word ids. */
  readonly bigrams: Set<number>;
  /** Bigrams in all (never across two turns). */
  bigramCount: number;
  /** More distinct words than `WORD_ID_SPACE`: `bigrams` and `bigramCount` are not kept. */
  bigramsOverflow: boolean;
  /** The last turn judged against this prefix (a candidate), so adding that turn does not judge it again. */
  lastJudged?: { tokens: readonly string[]; repetitive: boolean };
}

interface TextTurn {
  readonly text: string;
}

/**
 * A bigram is stored as `first × WORD_ID_SPACE + second`: below 2^30, a small integer V8 keeps unboxed in a
 * set, while word ids stay below this. A conversation with more distinct words than that stops counting
 * bigrams here (`bigramsOverflow`) and `computeQuality` counts them as text instead.
 */
export const WORD_ID_SPACE = 2 ** 15;

const prefixes = new WeakMap<object, TurnPrefix>();

function empty(): TurnPrefix {
  return {
    turns: [],
    texts: [],
    tokens: [],
    earlier: new Set(),
    repetitive: 0,
    words: new Map(),
    wordCount: 0,
    bigrams: new Set(),
    bigramCount: 0,
    bigramsOverflow: false,
  };
}

/** Whether `prefix` was built from exactly the first `count` turns of `turns`. */
function covers(prefix: TurnPrefix, turns: readonly TextTurn[], count: number): boolean {
  if (prefix.turns.length !== count) return false;
  for (let i = 0; i < count; i++) {
    const turn = turns[i]!;
    if (prefix.turns[i] !== turn || prefix.texts[i] !== turn.text) return false;
  }
  return true;
}

/** Adds one turn at the end of `prefix` (changing it). */
function extend(prefix: TurnPrefix, turn: TextTurn): void {
  const tokens = tokenize(turn.text);
  const index = prefix.tokens.length;
  const judged = prefix.lastJudged;
  const repetitive =
    judged !== undefined && judged.tokens === tokens
      ? judged.repetitive
      : judgeRepetition(tokens, prefix.earlier, prefix.tokens, index).repetitive;
  if (repetitive) prefix.repetitive++;
  for (const gram of contentNgrams(tokens)) prefix.earlier.add(gram);
  let previous = -1;
  for (const word of tokens) {
    let id = prefix.words.get(word);
    if (id === undefined) {
      id = prefix.words.size;
      prefix.words.set(word, id);
    }
    if (previous >= 0) prefix.bigrams.add(previous * WORD_ID_SPACE + id);
    previous = id;
  }
  if (prefix.words.size > WORD_ID_SPACE) {
    prefix.bigramsOverflow = true;
    prefix.bigrams.clear();
  }
  prefix.wordCount += tokens.length;
  prefix.bigramCount += Math.max(0, tokens.length - 1);
  (prefix.turns as object[]).push(turn);
  (prefix.texts as string[]).push(turn.text);
  prefix.tokens.push(tokens);
  prefix.lastJudged = undefined;
}

/**
 * The prefix of all of `turns`. Found under the last turn when it was built before; else the prefix of all
 * but the last turn is extended by it (and moves to the last turn: a prefix serves one conversation, which
 * only grows); else built from the start. A prefix handed out is only valid until the next call.
 */
export function turnPrefix(turns: readonly TextTurn[]): TurnPrefix {
  const count = turns.length;
  if (count === 0) return empty();
  const last = turns[count - 1]!;
  const found = prefixes.get(last);
  if (found && covers(found, turns, count)) return found;
  const before = count >= 2 ? turns[count - 2]! : undefined;
  const shorter = before === undefined ? undefined : prefixes.get(before);
  let prefix: TurnPrefix;
  if (shorter && covers(shorter, turns, count - 1)) {
    prefixes.delete(before!);
    prefix = shorter;
    extend(prefix, last);
  } else {
    prefix = empty();
    for (const turn of turns) extend(prefix, turn);
  }
  prefixes.set(last, prefix);
  return prefix;
}

/** The repetition check of a candidate turn (`text`) against the whole prefix; remembered for `extend`. */
export function repetitionAgainst(prefix: TurnPrefix, text: string): RepetitionAssessment {
  const tokens = tokenize(text);
  const assessment = judgeRepetition(tokens, prefix.earlier, prefix.tokens, prefix.tokens.length);
  prefix.lastJudged = { tokens, repetitive: assessment.repetitive };
  return assessment;
}
