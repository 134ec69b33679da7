import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { ConversationRecord } from '../../src/events.js';
import { DEFAULT_ANSWERER_PROMPT, DEFAULT_QUESTIONER_PROMPT } from '../../src/prompts/personas.js';
import { distinctN } from '../../src/quality/distinct-n.js';
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
];

let dir: string;
let diverse: ConversationRecord[];
let baseline: ConversationRecord[];

function counts(values: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of values) out.set(v, (out.get(v) ?? 0) + 1);
  return out;
}

function datasetDistinct2(records: readonly ConversationRecord[]): number {
  return distinctN(
    records.flatMap((r) => r.turns.map((t) => t.text)),
    2,
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-diversity-'));
  const provider = new SimulatedProvider({ closingTurns: { min: 5, max: 10 } });
  // 10 topics × 20 copies = 200 conversations, as `generate --conversations 20` over ten titles gives.
  diverse = await runMany(loadConfig({}), provider, TOPICS, 20);
  // The single-pair baseline: both prompts fixed, one style.
  const single = join(dir, 'single-style.json');
  await writeFile(
    single,
    JSON.stringify({
      replace: true,
      styles: [{ id: 'interview', prompt: 'This conversation is an interview about the topic.' }],
    }),
  );
  const fixed = loadConfig({
    QUESTIONER_SYSTEM_PROMPT: DEFAULT_QUESTIONER_PROMPT,
    ANSWERER_SYSTEM_PROMPT: DEFAULT_ANSWERER_PROMPT,
    PERSONAS_FILE: single,
  });
  baseline = await runMany(fixed, provider, TOPICS, 20);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('diversity over 200 simulated conversations', () => {
  it('spreads conversations over the persona pool on both sides', () => {
    expect(diverse).toHaveLength(200);
    const questioners = counts(diverse.map((r) => r.provenance!.personas.questioner.id));
    const answerers = counts(diverse.map((r) => r.provenance!.personas.answerer.id));
    // 200 draws from 22+ personas: nearly all appear, and none dominates.
    expect(questioners.size).toBeGreaterThanOrEqual(20);
    expect(answerers.size).toBeGreaterThanOrEqual(20);
    expect(Math.max(...questioners.values())).toBeLessThanOrEqual(25);
    expect(Math.max(...answerers.values())).toBeLessThanOrEqual(25);
  });

  it('uses every conversation style, each for a fair share', () => {
    const styles = counts(diverse.map((r) => r.provenance!.style.id));
    expect([...styles.keys()].sort()).toEqual(
      ['brainstorm', 'casual-chat', 'debate', 'interview', 'troubleshooting', 'tutoring'].sort(),
    );
    for (const n of styles.values()) expect(n).toBeGreaterThanOrEqual(15);
  });

  it('gives the copies of one topic all different combinations', () => {
    for (let t = 0; t < TOPICS.length; t++) {
      const copies = diverse.filter((r) => r.topic.id.startsWith(`topic-${t}#`));
      const combos = copies.map(
        (r) =>
          `${r.provenance!.personas.questioner.id}|${r.provenance!.personas.answerer.id}|${r.provenance!.style.id}`,
      );
      expect(new Set(combos).size).toBe(20);
    }
  });

  it('draws temperatures across the configured range', () => {
    const temperatures = diverse.map((r) => r.provenance!.temperature);
    expect(Math.min(...temperatures)).toBeGreaterThanOrEqual(0.7);
    expect(Math.max(...temperatures)).toBeLessThanOrEqual(1);
    expect(new Set(temperatures).size).toBeGreaterThan(20);
    expect(diverse.every((r) => r.turns.every((t) => t.temperature === r.provenance!.temperature))).toBe(
      true,
    );
  });

  it('raises dataset-level distinct-2 against the single-pair baseline', () => {
    const baselinePersonas = new Set(baseline.map((r) => `${r.personas.questioner}|${r.personas.answerer}`));
    expect(baselinePersonas.size).toBe(1);
    const diverseScore = datasetDistinct2(diverse);
    const baselineScore = datasetDistinct2(baseline);
    expect(diverseScore).toBeGreaterThan(baselineScore * 1.2);
  });
});
