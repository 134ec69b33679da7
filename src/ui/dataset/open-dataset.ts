/**
 * A path given to `chimera view`, as readers: a JSONL or Parquet file, or a folder whose dataset files
 * (searched a few levels down, as in the Hugging Face layout `data/train-*.parquet`) are read in name order.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonlReader } from './jsonl-reader.js';
import { ParquetReader } from './parquet-reader.js';
import type { DatasetReader } from './reader.js';

/** Extensions read as JSON Lines. */
export const JSONL_EXTENSIONS = ['.jsonl', '.ndjson', '.json'];
/** The Parquet export's shards (`data/train-00000-of-00004.parquet`). */
export const PARQUET_EXTENSIONS = ['.parquet'];
const DATASET_EXTENSIONS = [...JSONL_EXTENSIONS, ...PARQUET_EXTENSIONS];

function readerFor(path: string): DatasetReader {
  return PARQUET_EXTENSIONS.some((ext) => path.endsWith(ext))
    ? new ParquetReader(path)
    : new JsonlReader(path);
}
/** Folders are searched this deep: the dataset layouts in use put files at most two levels down. */
const MAX_DEPTH = 3;

export class DatasetPathError extends Error {
  override readonly name = 'DatasetPathError';
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1, out);
    else if (entry.isFile() && DATASET_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) out.push(path);
  }
}

/**
 * Readers for every dataset file at `path`.
 * @throws {DatasetPathError} when the path does not exist or a folder holds no dataset file.
 */
export async function openDataset(path: string): Promise<DatasetReader[]> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new DatasetPathError(`${path}: no such file or folder`);
  if (info.isFile()) return [readerFor(path)];
  const files: string[] = [];
  await walk(path, 0, files);
  if (files.length === 0) {
    throw new DatasetPathError(
      `${path}: no dataset file in this folder (expected ${DATASET_EXTENSIONS.join(', ')}; found none within ${MAX_DEPTH} levels)`,
    );
  }
  return files.map(readerFor);
}
