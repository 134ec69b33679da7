import { describe, expect, it } from 'vitest';
import { DatasetWriter, type DatasetWriterOptions } from '../../src/export/dataset-writer.js';
import { record } from './fixtures.js';

function writer(options: DatasetWriterOptions) {
  const lines: string[] = [];
  const dataset = new DatasetWriter({ write: async (line) => void lines.push(line) }, options);
  return { dataset, lines, parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('dataset writer', () => {
  it('writes each conversation once and counts the repeats as duplicates', async () => {
    const { dataset, parsed } = writer({ format: 'chimera' });
    expect(await dataset.add(record({ conversationId: 'c-1' }))).toBe('written');
    expect(await dataset.add(record({ conversationId: 'c-2' }))).toBe('written');
    expect(await dataset.add(record({ conversationId: 'c-1' }))).toBe('duplicate');
    expect(parsed().map((r) => r.conversationId)).toEqual(['c-1', 'c-2']);
    expect(dataset.counts).toMatchObject({ written: 2, duplicates: 1 });
  });

  it('--min-quality leaves out records scoring below the threshold and keeps those at it', async () => {
    const { dataset, parsed } = writer({ format: 'openai', minQuality: 0.5 });
    const quality = record().quality;
    await dataset.add(record({ conversationId: 'low', quality: { ...quality, score: 0.49 } }));
    await dataset.add(record({ conversationId: 'at', quality: { ...quality, score: 0.5 } }));
    await dataset.add(record({ conversationId: 'high', quality: { ...quality, score: 0.9 } }));
    expect(parsed()).toHaveLength(2);
    expect(dataset.counts.belowQuality).toBe(1);
  });

  it('failed conversations are left out unless asked for', async () => {
    const failed = record({ conversationId: 'f', status: 'failed', terminationReason: 'provider_failed' });
    const without = writer({ format: 'sharegpt' });
    expect(await without.dataset.add(failed)).toBe('failed');
    expect(without.lines).toHaveLength(0);
    const withFailed = writer({ format: 'sharegpt', includeFailed: true });
    expect(await withFailed.dataset.add(failed)).toBe('written');
  });

  it('each line is one JSON object followed by a newline', async () => {
    const { dataset, lines } = writer({ format: 'openai' });
    await dataset.add(record());
    expect(lines).toHaveLength(1);
    expect(lines[0]!.endsWith('\n')).toBe(true);
    expect(lines[0]!.trimEnd()).not.toContain('\n');
  });

  it('the summary names what was written and why the rest was left out', async () => {
    const { dataset } = writer({ format: 'openai', minQuality: 0.8 });
    await dataset.add(record({ conversationId: 'a', quality: { ...record().quality, score: 0.9 } }));
    await dataset.add(record({ conversationId: 'b' }));
    await dataset.add(record({ conversationId: 'a' }));
    await dataset.add(record({ conversationId: 'c', status: 'timedOut', terminationReason: 'timeout' }));
    expect(dataset.summary()).toBe(
      'exported 1 conversation (1 skipped below min quality, 1 duplicate, 1 failed left out (--include-failed keeps them))',
    );
  });
});
