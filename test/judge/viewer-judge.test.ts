import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JUDGE_CRITERIA } from '../../src/events.js';
import { DatasetIndex } from '../../src/ui/dataset/dataset-index.js';
import { JsonlReader } from '../../src/ui/dataset/jsonl-reader.js';
import { normalise } from '../../src/ui/dataset/normalise.js';
import { record } from '../export/fixtures.js';

/** The dataset viewer reads the judge's overall score from `quality.judge` and filters and sorts by it. */
function judged(id: string, overall: number | undefined) {
  const base = record({ conversationId: id });
  const judge =
    overall === undefined
      ? { status: 'unjudged', reason: 'malformed', usage: { inputTokens: 0, outputTokens: 0 }, attempts: 3 }
      : {
          status: 'judged',
          provider: 'openai',
          model: 'gpt-judge',
          scores: Object.fromEntries(JUDGE_CRITERIA.map((c) => [c, { score: 3, rationale: 'ok' }])),
          overall,
          rationale: 'ok',
          usage: { inputTokens: 10, outputTokens: 5 },
          attempts: 1,
        };
  return { ...base, quality: { ...base.quality, judge } };
}

describe('the dataset viewer and the judge', () => {
  it("shows a record's overall judge score, and none for an unjudged one", () => {
    expect(normalise(judged('a', 4.4), 'f:1')).toMatchObject({ judgeScore: 4.4 });
    expect(normalise(judged('b', undefined), 'f:2')!.judgeScore).toBeUndefined();
  });

  it('filters and sorts by the judge score, and bins it on the 1-5 scale', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'chimera-judge-view-')), 'd.jsonl');
    const scores = [1.2, 2.6, 3.4, 4.8, 5, undefined];
    writeFileSync(path, scores.map((s, i) => JSON.stringify(judged(`c-${i}`, s))).join('\n'));
    const index = await new DatasetIndex([new JsonlReader(path)]).build();
    const page = index.query({ minJudge: 3 }, '-judge', 0, 100);
    expect(page.rows.map((r) => r.judge)).toEqual([5, 4.8, 3.4]);
    const histogram = index.summary().judge!;
    expect(histogram.bins[0]).toBe(1);
    expect(histogram.bins.at(-1)).toBe(5);
    expect(histogram.counts.reduce((a, b) => a + b, 0)).toBe(5);
    await index.readers[0]!.close();
  });
});
