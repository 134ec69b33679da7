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

  it('a conversation cut short by repetition after four clean turns no longer scores 1.0', () => {
    const four = asTurns(RENEWABLE_ENERGY.slice(0, 4));
    const finished = computeQuality(four, { terminationReason: 'natural_end' });
    const cut = computeQuality(four, { terminationReason: 'repetition' });
    expect(finished.score).toBeGreaterThan(0.9);
    // Oracle: the documented factor for repetition is 0.6, applied to the same text score.
    expect(cut.score).toBeCloseTo(finished.score * 0.6, 3);
    expect(cut.factors).toEqual({ termination: 0.6, truncation: 1 });
  });

  it('ranks endings: natural end and max turns keep the score, refusal and provider failure halve it', () => {
    const turns = asTurns(RENEWABLE_ENERGY);
    const by = (reason: Parameters<typeof computeQuality>[1] extends infer O ? O : never) =>
      computeQuality(turns, reason).score;
    const plain = by({});
    expect(by({ terminationReason: 'max_turns' })).toBe(plain);
    expect(by({ terminationReason: 'natural_end' })).toBe(plain);
    expect(by({ terminationReason: 'timeout' })).toBeCloseTo(plain * 0.7, 3);
    expect(by({ terminationReason: 'refusal' })).toBeCloseTo(plain * 0.5, 3);
    expect(by({ terminationReason: 'provider_failed' })).toBeCloseTo(plain * 0.5, 3);
  });

  it('turns cut off at the token limit lower the score in proportion, and are counted', () => {
    const clean = asTurns(RENEWABLE_ENERGY);
    const cut = asTurns(RENEWABLE_ENERGY).map((turn, i) => ({ ...turn, truncated: i < 4 }));
    const base = computeQuality(clean);
    const quality = computeQuality(cut);
    expect(quality.truncatedTurns).toBe(4);
    // half the turns truncated: 1 - 0.5 × 4/8 = 0.75
    expect(quality.factors?.truncation).toBe(0.75);
    expect(quality.score).toBeCloseTo(base.score * 0.75, 3);
    expect(base.truncatedTurns).toBe(0);
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
      truncatedTurns: 0,
      factors: { termination: 1, truncation: 1 },
    });
  });

  it('always produces metrics the event schema accepts', () => {
    for (const texts of [RENEWABLE_ENERGY, HEALTHCARE_REPETITIVE, ['x'], ['', '']]) {
      expect(qualitySchema.safeParse(computeQuality(asTurns(texts))).success).toBe(true);
    }
  });
});
