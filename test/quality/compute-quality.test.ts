import { describe, expect, it } from 'vitest';
import { qualitySchema } from '../../src/events.js';
import { computeQuality } from '../../src/quality/compute-quality.js';
import { asTurns, HEALTHCARE_REPETITIVE, HEALTHCARE_VARIED, RENEWABLE_ENERGY } from './fixtures.js';

describe('computeQuality', () => {
  it('scores a varied conversation high, with no repetition', () => {
    const quality = computeQuality(asTurns(RENEWABLE_ENERGY));
    expect(quality.turns).toBe(8);
    expect(quality.repetitionRatio).toBe(0);
    expect(quality.distinct2).toBeGreaterThan(0.9);
    expect(quality.score).toBeGreaterThan(0.9);
  });

  it('scores a conversation whose answerer repeats itself lower than a varied one on the same questions', () => {
    const repetitive = computeQuality(asTurns(HEALTHCARE_REPETITIVE));
    const varied = computeQuality(asTurns(HEALTHCARE_VARIED));
    // turns 3 and 5 restate turn 1
    expect(repetitive.repetitionRatio).toBeCloseTo(2 / 6, 4);
    expect(varied.repetitionRatio).toBe(0);
    expect(repetitive.distinct2).toBeLessThan(varied.distinct2);
    expect(repetitive.score).toBeLessThan(0.8);
    expect(repetitive.score).toBeLessThan(varied.score - 0.15);
  });

  it('adds up tokens and averages words per turn and latency', () => {
    const turns = asTurns(['one two three', 'four five six seven eight'], 500);
    turns[1]!.latencyMs = 1500;
    const quality = computeQuality(turns);
    // asTurns: input 100 + 50 × index, output 60
    expect(quality.totalTokens).toBe(100 + 60 + 150 + 60);
    expect(quality.meanTurnLength).toBe(4);
    expect(quality.meanLatencyMs).toBe(1000);
    expect(quality.distinct1).toBe(1);
  });

  it('scores very short conversations down in proportion to their length', () => {
    const full = computeQuality(asTurns(RENEWABLE_ENERGY.slice(0, 4)));
    const half = computeQuality(asTurns(RENEWABLE_ENERGY.slice(0, 2)));
    expect(half.score).toBeCloseTo(full.score / 2, 2);
    expect(
      computeQuality(asTurns(RENEWABLE_ENERGY.slice(0, 2)), { fullScoreTurns: 2 }).score,
    ).toBeGreaterThan(half.score);
  });

  it('scores one-line exchanges down for turn length', () => {
    const terse = asTurns(['Solar?', 'Cheap now.', 'Wind?', 'Also cheap.', 'Storage?', 'Getting there.']);
    const quality = computeQuality(terse);
    expect(quality.meanTurnLength).toBeLessThan(3);
    expect(quality.score).toBeLessThan(0.85);
  });

  it('gives all zeros for a conversation without turns', () => {
    expect(computeQuality([])).toEqual({
      turns: 0,
      distinct1: 0,
      distinct2: 0,
      repetitionRatio: 0,
      meanTurnLength: 0,
      totalTokens: 0,
      meanLatencyMs: 0,
      score: 0,
    });
  });

  it('always produces metrics the event schema accepts', () => {
    for (const texts of [RENEWABLE_ENERGY, HEALTHCARE_REPETITIVE, ['x'], ['', '']]) {
      expect(qualitySchema.safeParse(computeQuality(asTurns(texts))).success).toBe(true);
    }
  });
});
