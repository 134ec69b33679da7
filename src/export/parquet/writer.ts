/**
 * `export --format parquet --out DIR`: a Hugging Face datasets layout.
 *
 *     DIR/README.md                              the dataset card (see card.ts)
 *     DIR/data/train-00000-of-00003.parquet      shards of at most `maxShardBytes` of row data each
 *
 * Rows are buffered until the shard's estimated size (the UTF-8 length of its text plus a fixed amount per
 * row) reaches the limit, then written as one file; memory holds one shard at most. Shards are named
 * `train-NNNNN.parquet.partial` while the export runs and take their final `-of-` names when it ends, so
 * a crashed export never leaves a set of files that looks complete.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { ConversationRecord } from '../../events.js';
import { CHIMERA_VERSION } from '../../version.js';
import type { RecordSink } from '../dataset-writer.js';
import { renderCard } from './card.js';
import { columnNames, parquetSchema, type Row, type RowOptions, toRow } from './columns.js';
import { DatasetSummary } from './summary.js';

/** A shard of about this much row data (~30-60 MB compressed): well under the Hub's recommended file size. */
export const DEFAULT_MAX_SHARD_BYTES = 128 * 1024 * 1024;
/** Rows per row group: small groups let the Hub's viewer show the first rows quickly. */
const ROW_GROUP_SIZE = 5000;
/** Bytes counted per row beyond its text: ids, numbers, Parquet overhead. */
const ROW_OVERHEAD_BYTES = 512;

export interface ParquetDatasetOptions extends RowOptions {
  /** The output directory; created if missing. It must not already hold `data/train-*` files. */
  dir: string;
  /** @default DEFAULT_MAX_SHARD_BYTES */
  maxShardBytes?: number;
}

function rowBytes(row: Row): number {
  let bytes = ROW_OVERHEAD_BYTES;
  for (const message of row.messages as Array<{ content: string }>)
    bytes += Buffer.byteLength(message.content);
  bytes += Buffer.byteLength(String(row.topic_title));
  bytes += row.topic_metadata ? Buffer.byteLength(String(row.topic_metadata)) : 0;
  return bytes;
}

export class ParquetDataset implements RecordSink {
  readonly summary = new DatasetSummary();
  private rows: Row[] = [];
  private bufferedBytes = 0;
  private datasetBytes = 0;
  private readonly partials: string[] = [];
  private readonly dataDir: string;
  private readonly maxShardBytes: number;

  private constructor(private readonly options: ParquetDatasetOptions) {
    this.dataDir = join(options.dir, 'data');
    this.maxShardBytes = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  }

  /**
   * Prepares the directory.
   * @throws {Error} when `dir/data` already holds dataset files (an export never mixes with an older one).
   */
  static async create(options: ParquetDatasetOptions): Promise<ParquetDataset> {
    const dataset = new ParquetDataset(options);
    await mkdir(dataset.dataDir, { recursive: true });
    const existing = (await readdir(dataset.dataDir)).filter((f) => f.startsWith('train-'));
    if (existing.length > 0) {
      throw new Error(
        `${dataset.dataDir} already holds ${existing.length} dataset file(s); choose an empty --out`,
      );
    }
    return dataset;
  }

  async writeRecord(record: ConversationRecord): Promise<void> {
    const row = toRow(record, this.options);
    this.rows.push(row);
    const bytes = rowBytes(row);
    this.bufferedBytes += bytes;
    this.datasetBytes += bytes;
    this.summary.add(record);
    if (this.bufferedBytes >= this.maxShardBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.rows.length === 0) return;
    const rows = this.rows;
    this.rows = [];
    this.bufferedBytes = 0;
    const writer = new ByteWriter();
    const parquet = new ParquetWriter({
      writer,
      schema: parquetSchema(),
      createdBy: `chimera ${CHIMERA_VERSION}`,
    });
    await parquet.write({
      columnData: columnNames().map((name) => ({ name, data: rows.map((row) => row[name]) as never })),
      rowGroupSize: ROW_GROUP_SIZE,
    });
    await parquet.finish();
    const path = join(this.dataDir, `train-${String(this.partials.length).padStart(5, '0')}.parquet.partial`);
    await writeFile(path, new Uint8Array(writer.getBuffer()));
    this.partials.push(path);
  }

  /**
   * Writes the last shard, gives every shard its final name and writes the card. With no rows at all no
   * shard is written, and the card says so.
   * @returns the shard paths, in order.
   */
  async close(exportSummary: string): Promise<string[]> {
    await this.flush();
    const total = this.partials.length;
    const finals: string[] = [];
    let downloadBytes = 0;
    for (const [i, partial] of this.partials.entries()) {
      const final = join(
        this.dataDir,
        `train-${String(i).padStart(5, '0')}-of-${String(total).padStart(5, '0')}.parquet`,
      );
      await rename(partial, final);
      downloadBytes += (await stat(final)).size;
      finals.push(final);
    }
    const card = renderCard({
      summary: this.summary,
      shards: total,
      downloadBytes,
      datasetBytes: this.datasetBytes,
      exportSummary,
    });
    await writeFile(join(this.options.dir, 'README.md'), card);
    return finals;
  }

  /** Removes the partial shards of an export that failed. */
  async abort(): Promise<void> {
    for (const partial of this.partials) await rm(partial, { force: true });
  }
}
