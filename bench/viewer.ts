/**
 * The dataset viewer on a large file: writes N conversations in the `chimera` format (100,000 by default,
 * about 460 MB), then measures what `chimera view` does before it can serve the first page (the streaming
 * index), the heap it holds afterwards, a filtered and sorted query over every entry, and reading one
 * conversation back by its byte offset.
 *
 *   node --import tsx bench/viewer.ts [--conversations=N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DatasetIndex } from '../src/ui/dataset/dataset-index.js';
import { openDataset } from '../src/ui/dataset/open-dataset.js';
import { writeSyntheticDataset } from './support/dataset.js';
import { intOption } from './support/options.js';
import { emit, figures, note, printTable } from './support/report.js';

const conversations = intOption('conversations', 100_000, 20_000);
const dir = mkdtempSync(join(tmpdir(), 'chimera-bench-viewer-'));
try {
  const path = join(dir, 'dataset.jsonl');
  note(`writing ${conversations} conversations`);
  const bytes = await writeSyntheticDataset(path, conversations);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const index = await new DatasetIndex(await openDataset(path)).build();
  const indexMs = performance.now() - started;
  const heapMiB = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  const size = { conversations, fileMiB: Math.round(bytes / 1024 / 1024) };
  emit({
    bench: 'viewer',
    metric: 'open_s',
    value: indexMs / 1000,
    unit: 's',
    goal: '<= 10',
    pass: indexMs <= 10_000,
    ...size,
  });
  emit({
    bench: 'viewer',
    metric: 'index_rows_per_s',
    value: conversations / (indexMs / 1000),
    unit: 'rows/s',
    ...size,
  });
  emit({ bench: 'viewer', metric: 'index_heap', value: heapMiB, unit: 'MiB', ...size });

  let t = performance.now();
  const page = index.query({ q: 'number 4', reason: ['refusal'], minQuality: 0.5 }, '-quality', 0, 100);
  emit({
    bench: 'viewer',
    metric: 'filter_sort_ms',
    value: performance.now() - t,
    unit: 'ms',
    matched: page.matched,
    ...size,
  });
  t = performance.now();
  const summary = index.summary();
  emit({ bench: 'viewer', metric: 'summary_ms', value: performance.now() - t, unit: 'ms', ...size });
  t = performance.now();
  const last = await index.read(`conv-${conversations - 1}`);
  emit({
    bench: 'viewer',
    metric: 'read_one_ms',
    value: performance.now() - t,
    unit: 'ms',
    turns: last?.turns ?? 0,
    ...size,
  });
  note(`indexed ${summary.conversations} conversations`);
  for (const reader of index.readers) await reader.close();
  printTable('Dataset viewer', figures());
} finally {
  rmSync(dir, { recursive: true, force: true });
}
