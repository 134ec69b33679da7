import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { runMany } from '../support/conversations.js';

const TOPICS = [
  'The economics of offshore wind',
  'Why sourdough bread rises',
  'Antibiotic resistance in hospitals',
  'Remote work and city centres',
  'How large language models are trained',
  'The history of the printing press',
  'Heat pumps in cold climates',
  'Microplastics in drinking water',
  'Open-source software funding',
  'Sleep and memory consolidation',
  'Electric buses in small towns',
  'The ethics of gene editing in crops',
];

describe('simulated conversations look like conversations', { timeout: 120_000 }, () => {
  it('at least 90% of 300 conversations end naturally between the minimum and maximum turns, none by repetition', async () => {
    const config = loadConfig({});
    const { minTurns, maxTurns } = config.conversation;
    const provider = new SimulatedProvider({ closingTurns: { min: minTurns, max: maxTurns } });
    const records = await runMany(config, provider, TOPICS, 25);
    expect(records).toHaveLength(300);
    const natural = records.filter(
      (r) =>
        r.terminationReason === 'natural_end' && r.turns.length >= minTurns && r.turns.length <= maxTurns,
    );
    expect(natural.length).toBeGreaterThanOrEqual(270);
    expect(records.filter((r) => r.terminationReason === 'repetition')).toEqual([]);
    expect(records.filter((r) => r.terminationReason === 'refusal')).toEqual([]);
    expect(records.every((r) => r.simulated)).toBe(true);
    // Nothing was regenerated either: no turn tripped the repetition check on the way.
    expect(records.flatMap((r) => r.discarded ?? [])).toEqual([]);
  });

  it('ends inside a narrower configured range too', async () => {
    const config = loadConfig({ MIN_CONVERSATION_TURNS: '3', MAX_CONVERSATION_TURNS: '4' });
    const provider = new SimulatedProvider({ closingTurns: { min: 3, max: 4 } });
    const records = await runMany(config, provider, TOPICS.slice(0, 5), 10);
    const natural = records.filter((r) => r.terminationReason === 'natural_end');
    expect(natural.length).toBeGreaterThanOrEqual(45);
    expect(new Set(natural.map((r) => r.turns.length))).toEqual(new Set([3, 4]));
  });
});
