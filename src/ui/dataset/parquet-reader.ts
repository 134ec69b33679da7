/**
 * The Parquet export (`data/train-*.parquet`, written by `export --format parquet`), read with hyparquet
 * (pure JavaScript, reads byte ranges of the file): the scan decodes the rows a batch at a time and keeps
 * none of them; a row is read again by its index, which decodes only the pages that hold it.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import type { ConversationDetail } from '../model.js';
import { normaliseParquetRow } from './normalise.js';
import type { DatasetReader, RowPlace, ScannedRow } from './reader.js';

/** Rows decoded at once while scanning: bounds memory whatever the row groups' size. */
const BATCH_ROWS = 2_000;
const SKIPPED_LINES_KEPT = 10;

type File = Awaited<ReturnType<typeof asyncBufferFromFile>>;

export class ParquetReader implements DatasetReader {
  readonly skipped = { count: 0, lines: [] as number[] };
  private file: File | undefined;

  constructor(readonly path: string) {}

  private async open(): Promise<File> {
    this.file ??= await asyncBufferFromFile(this.path);
    return this.file;
  }

  private row(raw: Record<string, unknown>, index: number): ConversationDetail | undefined {
    return normaliseParquetRow(raw, `${this.path.split('/').pop()}#${index + 1}`);
  }

  async *scan(): AsyncIterable<ScannedRow> {
    this.skipped.count = 0;
    this.skipped.lines = [];
    const file = await this.open();
    const metadata = await parquetMetadataAsync(file);
    const total = Number(metadata.num_rows);
    for (let start = 0; start < total; start += BATCH_ROWS) {
      const end = Math.min(total, start + BATCH_ROWS);
      const rows = await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: end });
      for (const [i, raw] of rows.entries()) {
        const index = start + i;
        const detail = this.row(raw, index);
        if (!detail) {
          this.skipped.count += 1;
          if (this.skipped.lines.length < SKIPPED_LINES_KEPT) this.skipped.lines.push(index + 1);
          continue;
        }
        yield { detail, place: { line: index + 1, offset: index, length: 0 } };
      }
    }
  }

  async read(place: RowPlace): Promise<ConversationDetail | undefined> {
    const file = await this.open();
    const [raw] = await parquetReadObjects({ file, rowStart: place.offset, rowEnd: place.offset + 1 });
    const detail = raw ? this.row(raw, place.offset) : undefined;
    if (detail) detail.location = { file: this.path, line: place.line };
    return detail;
  }

  async close(): Promise<void> {
    this.file = undefined;
  }
}
