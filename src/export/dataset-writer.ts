/**
 * Turns a stream of records (from a run, Kafka, Redis or a file) into a dataset: each conversation once,
 * only those that ended unless failed ones are asked for, only those at or above the quality threshold,
 * without exact or near duplicates when asked, in the chosen format. It counts what it left out and why,
 * for the summary line.
 */
import type { ConversationRecord } from '../events.js';
import { Deduplicator, type DedupOptions } from './dedup/deduplicator.js';
import { chatMessages, type DatasetFormat, formatRecord } from './formats.js';

export interface DatasetWriterOptions {
  /** A JSONL format (lines to a {@link LineSink}), or `parquet` (records to a {@link RecordSink}). */
  format: DatasetFormat | 'parquet';
  /** Keep only records whose `quality.score` is at least this. @default 0 (everything) */
  minQuality?: number;
  /**
   * Keep only records the judge scored at least this overall (`quality.judge.overall`, 1-5); unjudged
   * records are left out. @default none (the judge is not looked at)
   */
  minJudgeScore?: number;
  /** Keep `failed` and `timedOut` records too. @default false */
  includeFailed?: boolean;
  /** Lead `openai` / `sharegpt` examples with the answerer's persona. @default true */
  system?: boolean;
  /** Drop exact or near duplicates of conversations already written. @default none */
  dedup?: DedupOptions;
}

/** Where lines go; resolves when the line is accepted (backpressure). */
export interface LineSink {
  write(line: string): Promise<void>;
}

/** Where whole records go (the Parquet dataset). */
export interface RecordSink {
  writeRecord(record: ConversationRecord): Promise<void>;
}

export type Verdict =
  | 'written'
  | 'duplicate'
  | 'failed'
  | 'below_quality'
  | 'below_judge_score'
  | 'unjudged'
  | 'empty'
  | 'exact_duplicate'
  | 'near_duplicate';

export interface DatasetCounts {
  written: number;
  /** The same conversation id again (at-least-once delivery, replays). */
  duplicates: number;
  /** Failed or timed-out conversations left out (no `includeFailed`). */
  failed: number;
  belowQuality: number;
  /** Judged below `minJudgeScore`. */
  belowJudgeScore: number;
  /** Without a judge score while `minJudgeScore` is set. */
  unjudged: number;
  /** Conversations whose format has no example (no answered question, see `toOpenAi`). */
  empty: number;
  /** Other conversations with the same words as one written before (`dedup`). */
  exactDuplicates: number;
  /** Other conversations at or above the similarity threshold with one written before (`dedup: near`). */
  nearDuplicates: number;
}

export class DatasetWriter {
  private readonly seen = new Set<string>();
  private readonly dedup: Deduplicator | undefined;
  private readonly tally: DatasetCounts = {
    written: 0,
    duplicates: 0,
    failed: 0,
    belowQuality: 0,
    belowJudgeScore: 0,
    unjudged: 0,
    empty: 0,
    exactDuplicates: 0,
    nearDuplicates: 0,
  };

  constructor(
    private readonly sink: LineSink | RecordSink,
    private readonly options: DatasetWriterOptions,
  ) {
    this.dedup = options.dedup ? new Deduplicator(options.dedup) : undefined;
  }

  /** Writes `record` if it belongs in the dataset; says what happened to it. */
  async add(record: ConversationRecord): Promise<Verdict> {
    // At-least-once delivery and replays repeat records; the first copy of a conversation is the one kept.
    if (this.seen.has(record.conversationId)) {
      this.tally.duplicates += 1;
      return 'duplicate';
    }
    this.seen.add(record.conversationId);
    if (record.status !== 'ended' && !this.options.includeFailed) {
      this.tally.failed += 1;
      return 'failed';
    }
    if (record.quality.score < (this.options.minQuality ?? 0)) {
      this.tally.belowQuality += 1;
      return 'below_quality';
    }
    const { minJudgeScore } = this.options;
    if (minJudgeScore !== undefined) {
      const overall = record.quality.judge?.overall;
      if (overall === undefined) {
        this.tally.unjudged += 1;
        return 'unjudged';
      }
      if (overall < minJudgeScore) {
        this.tally.belowJudgeScore += 1;
        return 'below_judge_score';
      }
    }
    const { format } = this.options;
    const line =
      format === 'parquet' ? undefined : formatRecord(record, format, { system: this.options.system });
    const empty = format === 'parquet' ? chatMessages(record).length === 0 : line === null;
    if (empty) {
      this.tally.empty += 1;
      return 'empty';
    }
    const candidate = this.dedup?.check(record);
    if (candidate && candidate.verdict.kind !== 'unique') {
      const exact = candidate.verdict.kind === 'exact_duplicate';
      if (exact) this.tally.exactDuplicates += 1;
      else this.tally.nearDuplicates += 1;
      return exact ? 'exact_duplicate' : 'near_duplicate';
    }
    if ('writeRecord' in this.sink) await this.sink.writeRecord(record);
    else await this.sink.write(`${JSON.stringify(line)}\n`);
    candidate?.keep();
    this.tally.written += 1;
    return 'written';
  }

  get counts(): Readonly<DatasetCounts> {
    return { ...this.tally };
  }

  /** `exported N conversations (M skipped below min quality, K duplicates)`, plus other reasons when any. */
  summary(verb = 'exported'): string {
    const c = this.tally;
    const parts = [`${c.belowQuality} skipped below min quality`, `${plural(c.duplicates, 'duplicate')}`];
    if (this.options.minJudgeScore !== undefined) {
      parts.push(`${c.belowJudgeScore} below min judge score`, `${c.unjudged} unjudged left out`);
    }
    if (c.failed > 0) parts.push(`${c.failed} failed left out (--include-failed keeps them)`);
    if (c.empty > 0) parts.push(`${c.empty} without an answered question`);
    if (this.dedup) {
      parts.push(`${c.exactDuplicates} exact duplicates dropped`);
      if (this.dedup.options.mode === 'near') {
        parts.push(`${c.nearDuplicates} near duplicates dropped (Jaccard >= ${this.dedup.threshold})`);
      }
    }
    return `${verb} ${plural(c.written, 'conversation')} (${parts.join(', ')})`;
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
