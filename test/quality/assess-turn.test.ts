import { describe, expect, it } from 'vitest';
import { assessTurn, MAX_REPETITION_NUDGES, REPETITION_NUDGE } from '../../src/quality/assess-turn.js';
import { HEALTHCARE_REPETITIVE, RENEWABLE_ENERGY } from './fixtures.js';

const FAREWELL =
  'That is a hopeful note to end on. Thank you for this fascinating conversation, and goodbye!';
const MIN_TURNS = 5;

describe('assessTurn', () => {
  it('lets every turn of a varied conversation continue', () => {
    RENEWABLE_ENERGY.forEach((text, turnIndex) => {
      const result = assessTurn({
        text,
        previousTexts: RENEWABLE_ENERGY.slice(0, turnIndex),
        turnIndex,
        minTurns: MIN_TURNS,
      });
      expect(result.verdict, `turn ${turnIndex}: ${result.detail}`).toBe('continue');
    });
  });

  it('ends on a farewell once the minimum number of turns exists, this turn included', () => {
    const result = assessTurn({
      text: FAREWELL,
      previousTexts: RENEWABLE_ENERGY.slice(0, 4),
      turnIndex: 4,
      minTurns: MIN_TURNS,
    });
    expect(result.verdict).toBe('natural_end');
  });

  it('ignores a farewell that comes before the minimum number of turns', () => {
    const result = assessTurn({
      text: FAREWELL,
      previousTexts: RENEWABLE_ENERGY.slice(0, 3),
      turnIndex: 3,
      minTurns: MIN_TURNS,
    });
    expect(result.verdict).toBe('continue');
    expect(result.detail).toMatch(/before the minimum of 5 turns/);
  });

  it('ends on a refusal whatever the turn count', () => {
    const result = assessTurn({
      text: 'I’m sorry, but I can’t help with that.',
      previousTexts: RENEWABLE_ENERGY.slice(0, 1),
      turnIndex: 1,
      minTurns: MIN_TURNS,
    });
    expect(result.verdict).toBe('refusal');
  });

  it('gives the first repetitive turn one regeneration with the nudge', () => {
    const result = assessTurn({
      text: HEALTHCARE_REPETITIVE[3]!,
      previousTexts: HEALTHCARE_REPETITIVE.slice(0, 3),
      turnIndex: 3,
      minTurns: MIN_TURNS,
    });
    expect(result.verdict).toBe('retry_with_nudge');
    if (result.verdict !== 'retry_with_nudge') return;
    expect(result.nudge).toBe(REPETITION_NUDGE);
    expect(result.detail).toMatch(/trigram overlap/);
  });

  it('ends with repetition when a turn repeats after the nudge budget is spent', () => {
    const result = assessTurn({
      text: HEALTHCARE_REPETITIVE[3]!,
      previousTexts: HEALTHCARE_REPETITIVE.slice(0, 3),
      turnIndex: 3,
      minTurns: MIN_TURNS,
      nudgesUsed: MAX_REPETITION_NUDGES,
    });
    expect(result.verdict).toBe('repetition');
    expect(result.repetition.repetitive).toBe(true);
  });

  it('names the earlier turn a near-copy duplicates', () => {
    const result = assessTurn({
      text: RENEWABLE_ENERGY[1]!,
      previousTexts: RENEWABLE_ENERGY.slice(0, 3),
      turnIndex: 3,
      minTurns: MIN_TURNS,
    });
    expect(result.verdict).toBe('retry_with_nudge');
    expect(result.detail).toMatch(/nearly copies turn 1/);
  });

  it('prefers a natural ending to repetition when a closing turn sums up what was said', () => {
    const summary = `${HEALTHCARE_REPETITIVE[1]!} Thank you for this fascinating conversation, goodbye!`;
    const result = assessTurn({
      text: summary,
      previousTexts: HEALTHCARE_REPETITIVE.slice(0, 5),
      turnIndex: 5,
      minTurns: MIN_TURNS,
      nudgesUsed: MAX_REPETITION_NUDGES,
    });
    expect(result.repetition.repetitive).toBe(true);
    expect(result.verdict).toBe('natural_end');
  });
});
