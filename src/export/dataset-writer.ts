/**
 * Turns a stream of records (from a run, Kafka or Redis) into dataset lines: each conversation once, only
 * those that ended unless failed ones are asked for, only those at or above the quality threshold, in the
 * chosen format. It counts what it left out and why, for the summary line.
 */
import type { ConversationRecord } from '../events.js';
import { type DatasetFormat, formatRecord } from './formats.js';

export interface DatasetWriterOptions {
  format: DatasetFormat;
  /** Keep only records whose `quality.score` is at least this. @default 0 (everything) */
  minQuality?: number;
  /** Keep `failed` and `timedOut` records too. @default false */
  includeFailed?: boolean;
  /** Lead `openai` / `sharegpt` examples with the answerer's persona. @default true */
  system?: boolean;
}

/** Where lines go; resolves when the line is accepted (backpressure). */
export interface LineSink {
  write(line: string): Promise<void>;
}

export type Verdict = 'written' | 'duplicate' | 'failed' | 'below_quality' | 'empty';

export interface DatasetCounts {
  written: number;
  duplicates: number;
  /** Failed or timed-out conversations left out (no `includeFailed`). */
  failed: number;
  belowQuality: number;
  /** Conversations whose format has no example (no answered question, see `toOpenAi`). */
  empty: number;
}

export class DatasetWriter {
  private readonly seen = new Set<string>();
  private readonly tally: DatasetCounts = { written: 0, duplicates: 0, failed: 0, belowQuality: 0, empty: 0 };

  constructor(
    private readonly sink: LineSink,
    private readonly options: DatasetWriterOptions,
  ) {}

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
    const line = formatRecord(record, this.options.format, { system: this.options.system });
    if (line === null) {
      this.tally.empty += 1;
      return 'empty';
    }
    await this.sink.write(`${JSON.stringify(line)}\n`);
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
    if (c.failed > 0) parts.push(`${c.failed} failed left out (--include-failed keeps them)`);
    if (c.empty > 0) parts.push(`${c.empty} without an answered question`);
    return `${verb} ${plural(c.written, 'conversation')} (${parts.join(', ')})`;
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
