import { describe, expect, it } from 'vitest';
import { editSimilarity, editSimilarityAtLeast } from '../../src/quality/edit-similarity.js';
import {
  assessRepetition,
  countRepetitiveTurns,
  NEAR_DUPLICATE_SIMILARITY,
  REPETITION_OVERLAP_THRESHOLD,
} from '../../src/quality/repetition.js';
import { tokenize } from '../../src/quality/tokenize.js';
import { HEALTHCARE_REPETITIVE, HEALTHCARE_VARIED, RENEWABLE_ENERGY } from './fixtures.js';

describe('assessRepetition', () => {
  it('finds no repetition anywhere in a varied conversation', () => {
    RENEWABLE_ENERGY.forEach((text, i) => {
      const result = assessRepetition(text, RENEWABLE_ENERGY.slice(0, i));
      expect(result.repetitive, `turn ${i}`).toBe(false);
      expect(result.overlap, `turn ${i}`).toBeLessThan(0.2);
    });
    HEALTHCARE_VARIED.forEach((text, i) => {
      expect(assessRepetition(text, HEALTHCARE_VARIED.slice(0, i)).repetitive, `turn ${i}`).toBe(false);
    });
  });

  it('catches an answerer that restates its earlier answer with the sentences reordered', () => {
    const result = assessRepetition(HEALTHCARE_REPETITIVE[3]!, HEALTHCARE_REPETITIVE.slice(0, 3));
    expect(result.overlap).toBeGreaterThan(REPETITION_OVERLAP_THRESHOLD);
    expect(result.repetitive).toBe(true);
  });

  it('catches a paraphrase that keeps most of the earlier phrases', () => {
    const result = assessRepetition(HEALTHCARE_REPETITIVE[5]!, HEALTHCARE_REPETITIVE.slice(0, 5));
    expect(result.overlap).toBeGreaterThan(REPETITION_OVERLAP_THRESHOLD);
    expect(result.repetitive).toBe(true);
  });

  it('catches a near-copy of one earlier turn and says which one', () => {
    const original = RENEWABLE_ENERGY[3]!;
    const nearCopy = original.replace('Timing is the real obstacle.', 'Timing is the main obstacle.');
    const result = assessRepetition(nearCopy, RENEWABLE_ENERGY.slice(0, 6));
    expect(result.nearDuplicateOf).toBe(3);
    expect(result.similarity).toBeGreaterThanOrEqual(NEAR_DUPLICATE_SIMILARITY);
    expect(result.repetitive).toBe(true);
  });

  it('catches a short stock reply said twice, word for word', () => {
    const result = assessRepetition('Could you give a concrete example of that?', [
      'Could you give a concrete example of that?',
      'Certainly. In Denmark, wind farms supply about half of the electricity.',
    ]);
    expect(result.nearDuplicateOf).toBe(0);
    expect(result.repetitive).toBe(true);
  });

  it('lets a short follow-up question echo the key phrase of the answer before it', () => {
    const answer =
      'Offshore wind costs more than solar because turbines at sea need heavy foundations, cables to shore and specialised vessels for maintenance.';
    const question = 'Why do offshore wind turbines at sea need such heavy foundations?';
    expect(assessRepetition(question, [answer]).repetitive).toBe(false);
  });

  it('does not count phrases made only of common words as repetition', () => {
    const earlier = 'It is one of the most important of all the things that we have to do as well as we can.';
    const later =
      'It is one of the reasons heat pumps matter: they move three units of heat for each unit of electricity, as well as cooling homes in summer.';
    const result = assessRepetition(later, [earlier]);
    // shared: "it is one", "is one of", "one of the", "as well as", all function words
    expect(result.overlap).toBe(0);
    expect(result.repetitive).toBe(false);
  });

  it('never calls the first turn repetitive', () => {
    expect(assessRepetition(RENEWABLE_ENERGY[0]!, [])).toEqual({ overlap: 0, repetitive: false });
  });
});

describe('editSimilarity', () => {
  it('is the share of words kept in place, 1 for identical texts', () => {
    expect(editSimilarity(tokenize('a b c d e f g h i j'), tokenize('a b c d e f g h i j'))).toBe(1);
    expect(editSimilarity(tokenize('a b c d e f g h i j'), tokenize('a b c d e X g h i j'))).toBeCloseTo(0.9);
    expect(editSimilarity(tokenize('a b c d'), tokenize('w x y z'))).toBe(0);
  });
});

describe('countRepetitiveTurns', () => {
  it('flags exactly the turns that assessRepetition flags against the turns before them', () => {
    // Mixed conversations: repeats of whole turns, of parts of turns, and varied text, in many orders.
    const pool = [...RENEWABLE_ENERGY, ...HEALTHCARE_REPETITIVE, ...HEALTHCARE_VARIED];
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    let flaggedSomewhere = 0;
    for (let run = 0; run < 40; run++) {
      const texts = Array.from({ length: 2 + (next() % 10) }, () => {
        const text = pool[next() % pool.length]!;
        // Sometimes only half a turn, so overlaps fall on both sides of the threshold.
        return next() % 3 === 0 ? text.slice(0, Math.ceil(text.length / 2)) : text;
      });
      const expected = texts.filter((text, i) => assessRepetition(text, texts.slice(0, i)).repetitive).length;
      flaggedSomewhere += expected;
      expect(countRepetitiveTurns(texts.map((text) => tokenize(text)))).toBe(expected);
    }
    expect(flaggedSomewhere).toBeGreaterThan(0);
  });
});

describe('editSimilarityAtLeast', () => {
  it('is editSimilarity wherever that reaches the threshold, and undefined everywhere else', () => {
    let seed = 11;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const words = ['grid', 'storage', 'battery', 'cost', 'the', 'of', 'wind', 'price'];
    const sequence = (length: number) => Array.from({ length }, () => words[next() % words.length]!);
    let reached = 0;
    let missed = 0;
    for (let run = 0; run < 3000; run++) {
      const a = sequence(next() % 40);
      // Half the pairs are near copies of each other (a few edits), half unrelated.
      let b: string[];
      if (next() % 2 === 0) {
        b = [...a];
        for (let edits = next() % 6; edits > 0; edits--) {
          const at = b.length === 0 ? 0 : next() % b.length;
          const kind = next() % 3;
          if (kind === 0) b.splice(at, 1);
          else if (kind === 1) b.splice(at, 0, words[next() % words.length]!);
          else b[at] = words[next() % words.length]!;
        }
      } else {
        b = sequence(next() % 40);
      }
      const min = [0, 0.5, 0.8, 0.9, 0.95, 1][next() % 6]!;
      const full = editSimilarity(a, b);
      const expected = full >= min ? full : undefined;
      expect(editSimilarityAtLeast(a, b, min), `${a.join(' ')} | ${b.join(' ')} @ ${min}`).toBe(expected);
      if (expected === undefined) missed++;
      else reached++;
    }
    expect(reached).toBeGreaterThan(300);
    expect(missed).toBeGreaterThan(300);
  });
});
