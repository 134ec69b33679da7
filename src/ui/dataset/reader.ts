/**
 * Where the viewer's conversations come from. A reader streams its rows once to build the index (without
 * holding them) and reads one row back by its place when a page asks for it. JSONL is the reader here;
 * a parquet reader (the Hugging Face layout's `data/train-*.parquet`) implements the same interface.
 */
import type { ConversationDetail } from '../model.js';
import type { IndexEntry } from './normalise.js';

/** Where a row is: enough for its reader to read it again. */
export type RowPlace = Pick<IndexEntry, 'line' | 'offset' | 'length'>;

export interface ScannedRow {
  detail: ConversationDetail;
  place: RowPlace;
}

export interface DatasetReader {
  /** The file, for messages and the page. */
  readonly path: string;
  /** Rows in file order; rows that are no conversation are counted in `skipped`, not yielded. */
  scan(): AsyncIterable<ScannedRow>;
  /** Rows the last scan could not read (bad JSON, unknown shape), with the first few line numbers. */
  readonly skipped: { count: number; lines: number[] };
  /** One row again, by the place the scan gave. */
  read(place: RowPlace): Promise<ConversationDetail | undefined>;
  close(): Promise<void>;
}
