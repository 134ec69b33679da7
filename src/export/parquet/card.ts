/**
 * The dataset card (`README.md`) the Hugging Face Hub reads: a YAML header (license placeholder, size
 * category, tags, the `configs` entry that points the `train` split at `data/train-*`, and `dataset_info`
 * with the features and sizes), then a generated summary of what is in the data.
 */
import { CHIMERA_VERSION } from '../../version.js';
import { hubFeatures } from './columns.js';
import { type DatasetSummary, quantile } from './summary.js';

export interface CardInput {
  summary: DatasetSummary;
  shards: number;
  /** Bytes of all Parquet files. */
  downloadBytes: number;
  /** Estimated bytes of the data uncompressed. */
  datasetBytes: number;
  /** What was dropped on the way (dedup, quality, failed), as the export's summary line says it. */
  exportSummary: string;
}

/** The Hub's size categories (`size_categories`). */
export function sizeCategory(rows: number): string {
  const bounds: Array<[number, string]> = [
    [1_000, 'n<1K'],
    [10_000, '1K<n<10K'],
    [100_000, '10K<n<100K'],
    [1_000_000, '100K<n<1M'],
    [10_000_000, '1M<n<10M'],
    [100_000_000, '10M<n<100M'],
    [1_000_000_000, '100M<n<1B'],
  ];
  return bounds.find(([limit]) => rows < limit)?.[1] ?? 'n>1T';
}

/** YAML for the small, fixed shapes the header uses: maps, lists, strings and numbers. */
function yaml(value: unknown, indent = 0): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (item !== null && typeof item === 'object') {
          const inner = yaml(item, indent + 2).trimStart();
          return `${pad}- ${inner}`;
        }
        return `${pad}- ${scalar(item)}`;
      })
      .join('\n');
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => {
        if (inner !== null && typeof inner === 'object') return `${pad}${key}:\n${yaml(inner, indent + 2)}`;
        return `${pad}${key}: ${scalar(inner)}`;
      })
      .join('\n');
  }
  return `${pad}${scalar(value)}`;
}

function scalar(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = String(value);
  return /^[A-Za-z0-9_./*-][A-Za-z0-9_ ./*<>-]*$/.test(text) && !/^(true|false|null|yes|no)$/i.test(text)
    ? text
    : JSON.stringify(text);
}

function table(title: string, counts: ReadonlyMap<string, number>, total: number, limit = 30): string {
  const rows = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = rows.slice(0, limit);
  const lines = [`| ${title} | conversations | share |`, '|---|---:|---:|'];
  for (const [key, n] of shown) lines.push(`| ${key.replace(/\|/g, '\\|')} | ${n} | ${percent(n, total)} |`);
  if (rows.length > limit) lines.push(`| (${rows.length - limit} more) | | |`);
  return lines.join('\n');
}

function percent(n: number, total: number): string {
  return total === 0 ? '0%' : `${((100 * n) / total).toFixed(1)}%`;
}

function distribution(values: readonly number[], format: (v: number) => string): string {
  const sorted = [...values].sort((a, b) => a - b);
  const mean = sorted.reduce((s, v) => s + v, 0) / Math.max(1, sorted.length);
  const cells = [
    format(sorted[0] ?? Number.NaN),
    format(quantile(sorted, 0.1)),
    format(quantile(sorted, 0.5)),
    format(mean),
    format(quantile(sorted, 0.9)),
    format(sorted.at(-1) ?? Number.NaN),
  ];
  return [
    '| min | p10 | median | mean | p90 | max |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${cells.join(' | ')} |`,
  ].join('\n');
}

function histogram(scores: readonly number[]): string {
  const bins = new Array<number>(10).fill(0);
  for (const s of scores) bins[Math.min(9, Math.floor(s * 10))]! += 1;
  const lines = ['| score | conversations |', '|---|---:|'];
  for (const [i, n] of bins.entries())
    lines.push(`| ${(i / 10).toFixed(1)}-${((i + 1) / 10).toFixed(1)} | ${n} |`);
  return lines.join('\n');
}

export function renderCard(input: CardInput): string {
  const { summary: s } = input;
  const header = {
    license: 'other',
    license_name: 'to-be-set',
    pretty_name: 'Chimera synthetic conversations',
    language: ['en'],
    size_categories: [sizeCategory(s.rows)],
    task_categories: ['text-generation'],
    tags: ['synthetic', 'conversational', 'chimera', ...(s.simulated > 0 ? ['simulated'] : [])],
    configs: [{ config_name: 'default', data_files: [{ split: 'train', path: 'data/train-*' }] }],
    dataset_info: {
      features: hubFeatures(),
      splits: [{ name: 'train', num_bytes: input.datasetBytes, num_examples: s.rows }],
      download_size: input.downloadBytes,
      dataset_size: input.datasetBytes,
    },
  };
  const simulatedNote =
    s.simulated > 0
      ? `\n> **${s.simulated} of ${s.rows} conversations are simulated** (\`simulated: true\`): template text from Chimera's offline provider, not model output. Do not train on them.\n`
      : '';
  const cost =
    s.costs.length > 0
      ? `## Cost\n\n${s.costs.length} of ${s.rows} conversations carry a cost (\`cost_micros\`, integer micro-units); total ${s.costs.reduce((a, b) => a + b, 0)} micro-units.\n\n${distribution(s.costs, (v) => String(Math.round(v)))}\n`
      : '## Cost\n\nNo record in this export carries a cost; `cost_micros` is null throughout.\n';

  return `---
${yaml(header)}
# license: a placeholder. Set the license under which you publish this data (and check your providers' terms).
---

# Chimera synthetic conversations

Multi-turn conversations between two language models, generated by Chimera ${CHIMERA_VERSION}. Each row is one conversation: \`messages\` holds it as chat messages (the answerer's persona as the system message, then user and assistant turns ending on the assistant), and the other columns say how it was made and how it scored. Every column is described in Chimera's \`docs/dataset.md\`.
${simulatedNote}
Load it with \`datasets.load_dataset("parquet", data_dir="data")\` or push this directory to the Hub.

## Summary

- conversations: ${s.rows} (${input.shards} shard${input.shards === 1 ? '' : 's'}, ${input.downloadBytes} bytes of Parquet)
- turns: ${s.turns}; tokens (input and output): ${s.tokens}
- export: ${input.exportSummary}

${table('status', s.status, s.rows)}

## Providers and models

${table('provider / model', s.models, s.rows)}

## Personas and styles

${table('questioner persona', s.questioners, s.rows)}

${table('answerer persona', s.answerers, s.rows)}

${table('style', s.styles, s.rows)}

## How conversations ended

${table('termination reason', s.endings, s.rows)}

## Quality

\`quality_score\` (0-1, formula in \`docs/dataset.md\`):

${distribution(s.scores, (v) => v.toFixed(3))}

${histogram(s.scores)}

${cost}`;
}
