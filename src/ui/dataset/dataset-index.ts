/**
 * The viewer's index of a dataset: one small entry per conversation (the fields the list, the search and
 * the filters need, and where the row is), built by streaming every reader once. Filtering, sorting and
 * the summary work on the entries only; a conversation's text is read from its file when it is opened.
 */
import type { ConversationDetail } from '../model.js';
import { type IndexEntry, indexEntry } from './normalise.js';
import type { DatasetReader } from './reader.js';

export interface DatasetFilter {
  /** Words that must all appear in the title, id or source (case-insensitive). */
  q?: string;
  reason?: string[];
  status?: string[];
  provider?: string[];
  persona?: string[];
  style?: string[];
  format?: string[];
  minQuality?: number;
  maxQuality?: number;
  minJudge?: number;
  maxJudge?: number;
  minTurns?: number;
  maxTurns?: number;
  minChars?: number;
  maxChars?: number;
}

export const SORTS = [
  'file',
  'quality',
  '-quality',
  'judge',
  '-judge',
  'turns',
  '-turns',
  'chars',
  '-chars',
] as const;
export type DatasetSort = (typeof SORTS)[number];

export interface DatasetPage {
  total: number;
  matched: number;
  offset: number;
  rows: Array<Omit<IndexEntry, 'search' | 'offset' | 'length'>>;
}

export interface Histogram {
  /** Lower bound of each bin. */
  bins: number[];
  counts: number[];
}

export interface DatasetSummary {
  conversations: number;
  files: Array<{ path: string; rows: number; skipped: number; skippedLines: number[] }>;
  reasons: Record<string, number>;
  statuses: Record<string, number>;
  providers: Record<string, number>;
  personas: Record<string, number>;
  styles: Record<string, number>;
  formats: Record<string, number>;
  quality?: Histogram;
  judge?: Histogram;
  turns: Histogram;
  meanQuality?: number;
  meanTurns: number;
  totalCostMicros?: number;
  simulated: number;
  indexMs: number;
}

export interface IndexProgress {
  rows: number;
  file: string;
}

/** The page size the list asks for; also the most one request returns. */
export const MAX_PAGE = 500;

function count(into: Record<string, number>, key: string | undefined): void {
  if (key !== undefined) into[key] = (into[key] ?? 0) + 1;
}

function histogram(values: number[], bins: number[]): Histogram {
  const counts = bins.map(() => 0);
  for (const value of values) {
    let bin = bins.length - 1;
    while (bin > 0 && value < bins[bin]!) bin -= 1;
    counts[bin]! += 1;
  }
  return { bins, counts };
}

const SCORE_BINS = Array.from({ length: 10 }, (_, i) => i / 10);
/** The judge scores 1-5 (`quality.judge.overall`), a mean of whole scores: half-point bins. */
const JUDGE_BINS = Array.from({ length: 9 }, (_, i) => 1 + i / 2);
const TURN_BINS = [0, 2, 4, 6, 8, 10, 12, 15, 20, 30, 50];

function within(value: number | undefined, min?: number, max?: number): boolean {
  if (min === undefined && max === undefined) return true;
  if (value === undefined) return false;
  return (min === undefined || value >= min) && (max === undefined || value <= max);
}

function oneOf(value: string | undefined, wanted?: string[]): boolean {
  return !wanted || wanted.length === 0 || (value !== undefined && wanted.includes(value));
}

export function matches(entry: IndexEntry, filter: DatasetFilter, words: string[]): boolean {
  for (const word of words) if (!entry.search.includes(word)) return false;
  return (
    oneOf(entry.reason, filter.reason) &&
    oneOf(entry.status, filter.status) &&
    (!filter.persona?.length || entry.personas.some((p) => filter.persona!.includes(p))) &&
    oneOf(entry.style, filter.style) &&
    oneOf(entry.format, filter.format) &&
    (!filter.provider?.length || entry.providers.some((p) => filter.provider!.includes(p))) &&
    within(entry.quality, filter.minQuality, filter.maxQuality) &&
    within(entry.judge, filter.minJudge, filter.maxJudge) &&
    within(entry.turns, filter.minTurns, filter.maxTurns) &&
    within(entry.chars, filter.minChars, filter.maxChars)
  );
}

function sortKey(entry: IndexEntry, field: string): number {
  switch (field) {
    case 'quality':
      return entry.quality ?? Number.NEGATIVE_INFINITY;
    case 'judge':
      return entry.judge ?? Number.NEGATIVE_INFINITY;
    case 'turns':
      return entry.turns;
    default:
      return entry.chars;
  }
}

export class DatasetIndex {
  readonly entries: IndexEntry[] = [];
  private readonly byId = new Map<string, number>();
  private indexMs = 0;

  constructor(readonly readers: DatasetReader[]) {}

  /** Streams every reader once; `onProgress` hears about every 10,000 rows. */
  async build(onProgress?: (progress: IndexProgress) => void, now: () => number = Date.now): Promise<this> {
    const started = now();
    for (const [file, reader] of this.readers.entries()) {
      for await (const { detail, place } of reader.scan()) {
        const entry = indexEntry(detail, { file, ...place });
        // Ids repeat when a dataset was exported twice into one folder: the first one wins the link.
        if (!this.byId.has(entry.id)) this.byId.set(entry.id, this.entries.length);
        this.entries.push(entry);
        if (this.entries.length % 10_000 === 0)
          onProgress?.({ rows: this.entries.length, file: reader.path });
      }
    }
    this.indexMs = now() - started;
    return this;
  }

  query(filter: DatasetFilter, sort: DatasetSort = 'file', offset = 0, limit = 100): DatasetPage {
    const words = (filter.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    let found = this.entries.filter((e) => matches(e, filter, words));
    if (sort !== 'file') {
      const descending = sort.startsWith('-');
      const field = descending ? sort.slice(1) : sort;
      found = found.sort((a, b) => (sortKey(a, field) - sortKey(b, field)) * (descending ? -1 : 1));
    }
    const start = Math.max(0, offset);
    const rows = found.slice(start, start + Math.min(MAX_PAGE, Math.max(1, limit)));
    return {
      total: this.entries.length,
      matched: found.length,
      offset: start,
      rows: rows.map(({ search: _s, offset: _o, length: _l, ...row }) => row),
    };
  }

  async read(id: string): Promise<ConversationDetail | undefined> {
    const position = this.byId.get(id);
    if (position === undefined) return undefined;
    const entry = this.entries[position]!;
    return this.readers[entry.file]?.read(entry);
  }

  summary(): DatasetSummary {
    const reasons: Record<string, number> = {};
    const statuses: Record<string, number> = {};
    const providers: Record<string, number> = {};
    const personas: Record<string, number> = {};
    const styles: Record<string, number> = {};
    const formats: Record<string, number> = {};
    const quality: number[] = [];
    const judge: number[] = [];
    const turns: number[] = [];
    let cost = 0;
    let costed = 0;
    let simulated = 0;
    const rows = new Map<number, number>();
    for (const entry of this.entries) {
      count(reasons, entry.reason);
      count(statuses, entry.status);
      for (const provider of entry.providers) count(providers, provider);
      for (const persona of entry.personas) count(personas, persona);
      count(styles, entry.style);
      count(formats, entry.format);
      if (entry.quality !== undefined) quality.push(entry.quality);
      if (entry.judge !== undefined) judge.push(entry.judge);
      turns.push(entry.turns);
      if (entry.costMicros !== undefined) {
        cost += entry.costMicros;
        costed += 1;
      }
      if (entry.simulated) simulated += 1;
      rows.set(entry.file, (rows.get(entry.file) ?? 0) + 1);
    }
    const mean = (list: number[]) =>
      list.length ? list.reduce((a, b) => a + b, 0) / list.length : undefined;
    return {
      conversations: this.entries.length,
      files: this.readers.map((reader, i) => ({
        path: reader.path,
        rows: rows.get(i) ?? 0,
        skipped: reader.skipped.count,
        skippedLines: reader.skipped.lines,
      })),
      reasons,
      statuses,
      providers,
      personas,
      styles,
      formats,
      ...(quality.length ? { quality: histogram(quality, SCORE_BINS), meanQuality: mean(quality) } : {}),
      ...(judge.length ? { judge: histogram(judge, JUDGE_BINS) } : {}),
      turns: histogram(turns, TURN_BINS),
      meanTurns: mean(turns) ?? 0,
      ...(costed ? { totalCostMicros: cost } : {}),
      simulated,
      indexMs: this.indexMs,
    };
  }
}
