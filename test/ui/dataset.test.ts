import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRecord } from '../../bench/support/dataset.js';
import { toOpenAi, toShareGpt } from '../../src/export/formats.js';
import { DatasetIndex } from '../../src/ui/dataset/dataset-index.js';
import { JsonlReader } from '../../src/ui/dataset/jsonl-reader.js';
import { normalise } from '../../src/ui/dataset/normalise.js';
import { openDataset } from '../../src/ui/dataset/open-dataset.js';

const dir = () => mkdtempSync(join(tmpdir(), 'chimera-dataset-'));

describe('dataset rows in every export format', () => {
  const record = syntheticRecord(5);

  it('reads a chimera record with its providers, per-turn tokens and latency, reason and quality', () => {
    const detail = normalise(record, 'f:1')!;
    expect(detail).toMatchObject({
      id: 'conv-5',
      title: record.topic.title,
      terminationReason: record.terminationReason,
      qualityScore: record.quality.score,
      format: 'chimera',
    });
    expect(detail.turnList.map((t) => [t.speaker, t.provider, t.latencyMs, t.outputTokens])).toEqual(
      record.turns.map((t) => [t.speaker, t.provider, t.latencyMs, t.usage.outputTokens]),
    );
  });

  it('reads the openai and sharegpt exports of the same record as the same dialogue, system prompt apart', () => {
    const openai = normalise(toOpenAi(record), 'f:2')!;
    const sharegpt = normalise(toShareGpt(record), 'f:3')!;
    for (const detail of [openai, sharegpt]) {
      expect(detail.system).toBe(record.personas.answerer);
      expect(detail.turnList.map((t) => t.speaker)).toEqual(
        toOpenAi(record)!
          .messages.slice(1)
          .map((m) => (m.role === 'user' ? 'questioner' : 'answerer')),
      );
      expect(detail.turnList[0]!.text).toBe(record.turns[0]!.text);
    }
    // The openai export carries the conversation id; a row without one is named by file and line.
    expect(openai.id).toBe(record.conversationId);
    expect(normalise({ messages: toOpenAi(record)!.messages }, 'f:4')!.id).toBe('f:4');
  });

  it('keeps discarded turns, marked, and reads judge score, persona and style when a record has them', () => {
    const richer = {
      ...record,
      judge: { score: 0.7 },
      persona: { id: 'skeptic' },
      styleId: 'terse',
      discarded: [{ ...record.turns[1]!, text: 'dropped' }],
    };
    const detail = normalise(richer, 'x')!;
    expect(detail).toMatchObject({ judgeScore: 0.7, persona: 'skeptic', style: 'terse' });
    expect(detail.turnList.filter((t) => t.discarded).map((t) => t.text)).toEqual(['dropped']);
    expect(detail.turns).toBe(record.turns.length);
  });

  it('is not fooled by rows of another shape', () => {
    expect(normalise({ hello: 'world' }, 'x')).toBeUndefined();
    expect(normalise([1, 2], 'x')).toBeUndefined();
  });
});

describe('JSONL reader and index', () => {
  it('finds every row again by its byte offset, across chunk edges, multi-byte text, CRLF, blank and bad lines', async () => {
    const folder = dir();
    const path = join(folder, 'mixed.jsonl');
    const rows = Array.from({ length: 40 }, (_, i) => {
      const r = syntheticRecord(i);
      // Multi-byte characters and long lines, so rows straddle the reader's 1 MiB chunks.
      r.turns[0]!.text = `${'é漢🙂'.repeat(i * 2000)} end ${i}`;
      return r;
    });
    const lines = rows.map((r, i) => JSON.stringify(r) + (i % 3 === 0 ? '\r\n' : '\n'));
    lines.splice(5, 0, '\n', '{not json\n');
    writeFileSync(path, lines.join(''));
    const index = await new DatasetIndex(await openDataset(path)).build();
    expect(index.entries).toHaveLength(40);
    expect(index.summary().files[0]).toMatchObject({ skipped: 1, skippedLines: [7] });
    for (const i of [0, 5, 17, 39]) {
      const again = await index.read(`conv-${i}`);
      expect(again!.turnList[0]!.text).toBe(rows[i]!.turns[0]!.text);
    }
    await index.readers[0]!.close();
  });

  it('filters by words, reason, quality and turns, and sorts by quality', async () => {
    const folder = dir();
    const path = join(folder, 'd.jsonl');
    const records = Array.from({ length: 300 }, (_, i) => syntheticRecord(i));
    writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n'));
    const index = await new DatasetIndex([new JsonlReader(path)]).build();
    const expected = records.filter(
      (r) => r.terminationReason === 'natural_end' && r.quality.score >= 0.3 && r.turns.length <= 5,
    );
    const page = index.query({ reason: ['natural_end'], minQuality: 0.3, maxTurns: 5 }, '-quality', 0, 500);
    expect(page.matched).toBe(expected.length);
    expect(page.rows.map((r) => r.quality)).toEqual(
      expected.map((r) => r.quality.score).sort((a, b) => b - a),
    );
    expect(
      index
        .query({ q: 'NUMBER 12' })
        .rows.map((r) => r.id)
        .sort(),
    ).toEqual(
      records
        .filter((r) =>
          ['number', '12'].every((w) =>
            `${r.topic.title}\n${r.conversationId}\n${r.topic.source}`.toLowerCase().includes(w),
          ),
        )
        .map((r) => r.conversationId)
        .sort(),
    );
  });

  it('reads every JSONL file of a folder, a few levels down, and says clearly when there is none', async () => {
    const folder = dir();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(folder, 'data'));
    writeFileSync(join(folder, 'data', 'train-0.jsonl'), `${JSON.stringify(syntheticRecord(1))}\n`);
    writeFileSync(
      join(folder, 'data', 'train-1.jsonl'),
      `${JSON.stringify(toShareGpt(syntheticRecord(2)))}\n`,
    );
    const index = await new DatasetIndex(await openDataset(folder)).build();
    expect(index.summary().formats).toEqual({ chimera: 1, sharegpt: 1 });
    await expect(openDataset(dir())).rejects.toThrow(/no dataset file/);
    await expect(openDataset(join(folder, 'missing'))).rejects.toThrow(/no such file/);
  });
});
