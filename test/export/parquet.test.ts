/**
 * The Parquet dataset is written with hyparquet-writer and read back here with a different, independent
 * implementation: parquet-wasm (the Apache Arrow Rust `parquet` crate compiled to WebAssembly) into
 * Apache Arrow JS tables, the same Arrow types the Hugging Face `datasets` library loads.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Table, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { ConversationRecord } from '../../src/events.js';
import { DatasetWriter } from '../../src/export/dataset-writer.js';
import { ParquetDataset } from '../../src/export/parquet/writer.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { runMany } from '../support/conversations.js';
import { record as fixture, turn } from './fixtures.js';

// The CommonJS build of parquet-wasm loads its WebAssembly synchronously from the package.
const { readParquet } = createRequire(import.meta.url)('parquet-wasm/node') as {
  readParquet(bytes: Uint8Array): { intoIPCStream(): Uint8Array };
};

let dir: string;
let records: ConversationRecord[];
let shards: string[];
let tables: Table[];

async function read(path: string): Promise<Table> {
  return tableFromIPC(readParquet(new Uint8Array(await readFile(path))).intoIPCStream());
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-parquet-'));
  const simulated = await runMany(
    loadConfig({}),
    new SimulatedProvider(),
    ['Heat pumps in cold climates', 'Why sourdough bread rises'],
    15,
  );
  const withExtras = fixture({
    conversationId: 'c-extras',
    topic: { id: 't-x', title: 'Tides', metadata: { lang: 'en', tags: ['sea', 'moon'] } },
    turns: [
      { ...turn(0, 'Why two tides a day?'), truncated: false },
      { ...turn(1, 'The moon and the sun.'), truncated: true },
    ],
  });
  (withExtras as unknown as { cost: unknown }).cost = { totalMicros: 12_345 };
  withExtras.quality = {
    ...withExtras.quality,
    judge: {
      status: 'judged',
      provider: 'gemini',
      model: 'gemini-2.5-flash',
      overall: 3.8,
      usage: { inputTokens: 300, outputTokens: 80 },
      attempts: 1,
    },
  };
  records = [withExtras, ...simulated];
  const dataset = await ParquetDataset.create({ dir, maxShardBytes: 8 * 1024 });
  const writer = new DatasetWriter(dataset, { format: 'parquet', includeFailed: true });
  for (const r of records) await writer.add(r);
  shards = await dataset.close(writer.summary());
  tables = await Promise.all(shards.map(read));
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function rows(): Array<Record<string, unknown>> {
  return tables.flatMap((t) => t.toArray().map((r) => r.toJSON() as Record<string, unknown>));
}

describe('parquet export', () => {
  it('writes size-limited shards named train-NNNNN-of-NNNNN under data/', async () => {
    expect(shards.length).toBeGreaterThan(1);
    const names = (await readdir(join(dir, 'data'))).sort();
    const total = String(shards.length).padStart(5, '0');
    expect(names).toEqual(shards.map((_, i) => `train-${String(i).padStart(5, '0')}-of-${total}.parquet`));
  });

  it('holds every record once, in order, readable by an independent Parquet reader', () => {
    expect(rows().map((r) => r.id)).toEqual(records.map((r) => r.conversationId));
  });

  it('has messages as a list of {role, content} structs, system first and ending on the assistant', () => {
    const field = tables[0]!.schema.fields.find((f) => f.name === 'messages')!;
    expect(String(field.type)).toBe('List<Struct<{role:Utf8, content:Utf8}>>');
    const first = tables[0]!
      .getChild('messages')!
      .get(0)!
      .toArray()
      .map((m: { toJSON(): unknown }) => m.toJSON());
    expect(first).toEqual([
      { role: 'system', content: records[0]!.personas.answerer },
      { role: 'user', content: 'Why two tides a day?' },
      { role: 'assistant', content: 'The moon and the sun.' },
    ]);
  });

  it('carries provenance and quality columns with their types', () => {
    const types = Object.fromEntries(tables[0]!.schema.fields.map((f) => [f.name, String(f.type)]));
    expect(types).toMatchObject({
      quality_score: 'Float64',
      total_tokens: 'Int64',
      num_turns: 'Int32',
      simulated: 'Bool',
      started_at: 'Timestamp<MILLISECOND, UTC>',
      style: 'Utf8',
      cost_micros: 'Int64',
      judge_score: 'Float64',
    });
    const byId = new Map(rows().map((r) => [r.id, r]));
    for (const r of records.slice(1)) {
      const row = byId.get(r.conversationId)!;
      expect(row.questioner_persona).toBe(r.provenance!.personas.questioner.id);
      expect(row.answerer_persona).toBe(r.provenance!.personas.answerer.id);
      expect(row.style).toBe(r.provenance!.style.id);
      expect(row.temperature).toBe(r.provenance!.temperature);
      expect(row.run_id).toBe(r.provenance!.runId);
      expect(row.config_hash).toBe(r.provenance!.configHash);
      expect(row.quality_score).toBe(r.quality.score);
      expect(row.num_turns).toBe(r.turns.length);
      expect(row.termination_reason).toBe(r.terminationReason);
      expect(row.simulated).toBe(true);
      expect(Number(row.started_at)).toBe(r.startedAt);
      expect(row.cost_micros).toBeNull();
      expect(row.judge_score).toBeNull();
    }
    const extras = byId.get('c-extras')!;
    expect(JSON.parse(String(extras.topic_metadata))).toEqual({ lang: 'en', tags: ['sea', 'moon'] });
    expect(extras.truncated_turns).toBe(1);
    expect(Number(extras.cost_micros)).toBe(12_345);
    expect(extras.judge_score).toBe(3.8);
    expect(extras.style).toBeNull();
  });

  it('writes a dataset card the Hub reads: YAML header with configs, features and size, then a summary', async () => {
    const card = await readFile(join(dir, 'README.md'), 'utf8');
    const header = card.split('\n---\n')[0]!;
    expect(header.startsWith('---\n')).toBe(true);
    expect(header).toContain('license: other');
    expect(header).toContain('size_categories:\n  - n<1K');
    expect(header).toContain(
      'configs:\n  - config_name: default\n    data_files:\n      - split: train\n        path: data/train-*',
    );
    expect(header).toContain(
      '  - name: messages\n      list:\n        - name: role\n          dtype: string',
    );
    expect(header).toContain(`num_examples: ${records.length}`);
    expect(card).toContain(`- conversations: ${records.length} (${shards.length} shards`);
    expect(card).toContain('| natural_end |');
    expect(card).toContain('| style | conversations | share |');
    expect(card).toContain('1 of 31 conversations carry a cost');
    expect(card).toContain('**30 of 31 conversations are simulated**');
  });

  it('refuses a directory that already holds a dataset', async () => {
    await expect(ParquetDataset.create({ dir })).rejects.toThrow(/already holds/);
  });

  it('tolerates records without cost or provenance: the card says no cost, columns are null', async () => {
    const other = await mkdtemp(join(tmpdir(), 'chimera-parquet-plain-'));
    try {
      const dataset = await ParquetDataset.create({ dir: other });
      await dataset.writeRecord(fixture());
      const [path] = await dataset.close('exported 1 conversation');
      const row = (await read(path!)).toArray()[0]!.toJSON() as Record<string, unknown>;
      expect(row.questioner_persona).toBeNull();
      expect(row.cost_micros).toBeNull();
      expect(await readFile(join(other, 'README.md'), 'utf8')).toContain(
        'No record in this export carries a cost',
      );
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
