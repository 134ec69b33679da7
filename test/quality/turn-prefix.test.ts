import { describe, expect, it } from 'vitest';
import { assessConversationTurn, assessTurn } from '../../src/quality/assess-turn.js';
import { computeQuality } from '../../src/quality/compute-quality.js';
import { distinctNOfTokens } from '../../src/quality/distinct-n.js';
import { countRepetitiveTurns } from '../../src/quality/repetition.js';
import { tokenize } from '../../src/quality/tokenize.js';
import { HEALTHCARE_REPETITIVE, HEALTHCARE_VARIED, RENEWABLE_ENERGY } from './fixtures.js';

/**
 * The conversation's running prefix (`src/quality/turn-prefix.ts`) must give exactly the figures of a pass
 * over the turns given, whatever order the turns are assessed and scored in: grown one turn at a time,
 * regenerated, branched from an earlier list, or handed a list it was not built from.
 */

const TEXTS = [...RENEWABLE_ENERGY, ...HEALTHCARE_REPETITIVE, ...HEALTHCARE_VARIED];

/** A turn as the machine keeps it: an object with its text (and the fields the score reads). */
function turn(text: string) {
  return { text, usage: { inputTokens: 3, outputTokens: 4 }, latencyMs: 5 };
}

/** The figures by the passes over every turn (distinct-n and the repetition count): the reference. */
function reference(turns: readonly { text: string }[]) {
  const tokenised = turns.map((t) => tokenize(t.text));
  return {
    distinct1: distinctNOfTokens(tokenised, 1),
    distinct2: distinctNOfTokens(tokenised, 2),
    repetitive: countRepetitiveTurns(tokenised),
  };
}

function expectSameFigures(turns: ReturnType<typeof turn>[]) {
  const quality = computeQuality(turns);
  const expected = reference(turns);
  const round = (value: number) => Math.round(value * 10_000) / 10_000;
  expect(quality.distinct1).toBe(round(expected.distinct1));
  expect(quality.distinct2).toBe(round(expected.distinct2));
  expect(quality.repetitionRatio).toBe(round(expected.repetitive / turns.length));
}

/** A pseudo-random generator with a seed, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('the quality checks of a conversation assessed turn after turn', () => {
  it('give each candidate the verdict assessTurn gives on the same texts, as the conversation grows', () => {
    for (const texts of [RENEWABLE_ENERGY, HEALTHCARE_REPETITIVE, HEALTHCARE_VARIED]) {
      const kept: ReturnType<typeof turn>[] = [];
      texts.forEach((text, index) => {
        // A candidate that is not kept (as a nudged regeneration's first attempt is not), then the kept one.
        const rejected = texts[(index + 1) % texts.length]!;
        for (const candidate of [rejected, text]) {
          const input = { text: candidate, turnIndex: index, minTurns: 2, nudgesUsed: 0 };
          expect(assessConversationTurn({ ...input, previous: kept })).toEqual(
            assessTurn({ ...input, previousTexts: kept.map((t) => t.text) }),
          );
        }
        kept.push(turn(text));
        expectSameFigures(kept);
      });
    }
  });

  it('score random conversations, grown, branched, regenerated and reordered, as the passes over every turn do', () => {
    const next = random(17);
    const pick = () => TEXTS[Math.floor(next() * TEXTS.length)]!;
    // Lists that share turn objects, as snapshots of one conversation (and branches of it) do.
    const lists: ReturnType<typeof turn>[][] = [[]];
    for (let round = 0; round < 400; round++) {
      const base = lists[Math.floor(next() * lists.length)]!;
      const roll = next();
      let list: ReturnType<typeof turn>[];
      if (roll < 0.5) list = [...base, turn(pick())];
      else if (roll < 0.65) list = base.slice(0, Math.floor(next() * (base.length + 1)));
      else if (roll < 0.8) list = [...base].reverse();
      else if (roll < 0.9) list = base.map((t) => (next() < 0.3 ? turn(pick()) : t));
      else list = [...base, ...base];
      // A candidate judged against the list first, as the machine does before it keeps a turn.
      const candidate = pick();
      const input = { text: candidate, turnIndex: list.length, minTurns: 2, nudgesUsed: 1 };
      expect(assessConversationTurn({ ...input, previous: list })).toEqual(
        assessTurn({ ...input, previousTexts: list.map((t) => t.text) }),
      );
      if (list.length > 0) expectSameFigures(list);
      lists.push(list);
    }
  });

  it('score a conversation with more distinct words than word ids can pair (40,000) as the passes do', () => {
    const words = Array.from({ length: 40_000 }, (_, i) => `w${i.toString(36)}`);
    const turns = [
      turn(words.slice(0, 20_000).join(' ')),
      turn(words.slice(15_000).join(' ')),
      turn(RENEWABLE_ENERGY[1]!),
    ];
    for (let count = 1; count <= turns.length; count++) expectSameFigures(turns.slice(0, count));
  });

  it('notice a kept turn whose text was changed in place', () => {
    const turns = HEALTHCARE_VARIED.map(turn);
    expectSameFigures(turns);
    turns[1]!.text = turns[3]!.text;
    expectSameFigures(turns);
  });
});
