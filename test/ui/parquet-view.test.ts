import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticRecord } from '../../bench/support/dataset.js';
import type { ConversationRecord } from '../../src/events.js';
import { chatMessages } from '../../src/export/formats.js';
import { DatasetIndex } from '../../src/ui/dataset/dataset-index.js';
import { openDataset } from '../../src/ui/dataset/open-dataset.js';
import { runCli } from '../support/cli.js';

const PERSONAS = ['skeptic', 'teacher', 'novice'];
const STYLES = ['terse', 'socratic'];

/** Synthetic records with the provenance the data pipeline writes: persona ids per side and a style. */
function withProvenance(i: number): ConversationRecord {
  const record = syntheticRecord(i);
  const ref = (id: string) => ({ id, promptHash: 'sha256:0000000000000000' });
  return {
    ...record,
    topic: { ...record.topic, metadata: { lang: i % 2 ? 'en' : 'de' } },
    provenance: {
      chimeraVersion: '0.1.0',
      machineVersion: 'conversation@1',
      runId: 'run-1',
      seed: i,
      configHash: 'sha256:1111111111111111',
      personas: { questioner: ref(PERSONAS[i % 3]!), answerer: ref(PERSONAS[(i + 1) % 3]!) },
      style: ref(STYLES[i % 2]!),
      temperature: 0.8,
    },
  } as ConversationRecord;
}

describe('the viewer over the Parquet export and provenance fields', () => {
  it('opens the Hugging Face layout written by export --format parquet, with its filters and every dialogue', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimera-parquet-view-'));
    const records = Array.from({ length: 120 }, (_, i) => withProvenance(i)).filter(
      (r) => r.status === 'ended',
    );
    const source = join(dir, 'records.jsonl');
    writeFileSync(source, records.map((r) => JSON.stringify(r)).join('\n'));
    const out = join(dir, 'hf');
    const exported = await runCli(['export', '--from', source, '--format', 'parquet', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);

    const index = await new DatasetIndex(await openDataset(out)).build();
    expect(index.summary()).toMatchObject({
      conversations: records.length,
      formats: { parquet: records.length },
    });
    const wanted = records.filter(
      (r) =>
        r.provenance!.style.id === 'terse' &&
        [r.provenance!.personas.questioner.id, r.provenance!.personas.answerer.id].includes('skeptic'),
    );
    const page = index.query({ style: ['terse'], persona: ['skeptic'] }, 'file', 0, 500);
    expect(page.rows.map((r) => r.id).sort()).toEqual(wanted.map((r) => r.conversationId).sort());

    const target = wanted[3]!;
    const detail = (await index.read(target.conversationId))!;
    const messages = chatMessages(target).filter((m) => m.role !== 'system');
    expect(detail.turnList.map((t) => t.text)).toEqual(messages.map((m) => m.content));
    expect(detail.turnList[0]!.provider).toBe(target.providers.questioner);
    expect(detail).toMatchObject({
      terminationReason: target.terminationReason,
      qualityScore: target.quality.score,
      style: 'terse',
      topic: { metadata: target.topic.metadata },
    });
  });

  it('reads persona and style ids from a chimera record and filters on either side', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimera-provenance-view-'));
    const records = Array.from({ length: 60 }, (_, i) => withProvenance(i));
    const path = join(dir, 'records.jsonl');
    writeFileSync(path, records.map((r) => JSON.stringify(r)).join('\n'));
    const index = await new DatasetIndex(await openDataset(path)).build();
    expect(index.summary().styles).toEqual({ terse: 30, socratic: 30 });
    const novices = records.filter((r) =>
      [r.provenance!.personas.questioner.id, r.provenance!.personas.answerer.id].includes('novice'),
    );
    expect(index.query({ persona: ['novice'] }, 'file', 0, 500).matched).toBe(novices.length);
  });
});
