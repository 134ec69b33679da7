/**
 * Where a command's data goes: a file given with `--out`, or stdout. The file is opened before any work
 * starts, so a wrong path fails in a second instead of after an hour of generation.
 */
import { once } from 'node:events';
import { type FileHandle, open } from 'node:fs/promises';
import type { LineSink } from '../export/dataset-writer.js';
import { usageError } from './errors.js';

export interface Output extends LineSink {
  /** `stdout` or the path, for summary lines. */
  readonly name: string;
  close(): Promise<void>;
}

/** A reason for an fs error without the stack: `no such file or directory`. */
export function fsReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
    EROFS: 'read-only file system',
  };
  if (code && reasons[code]) return reasons[code];
  return error instanceof Error ? error.message : String(error);
}

class FileOutput implements Output {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
  ) {}

  async write(line: string): Promise<void> {
    await this.handle.write(line);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

class StdoutOutput implements Output {
  readonly name = 'stdout';

  async write(line: string): Promise<void> {
    if (!process.stdout.write(line)) await once(process.stdout, 'drain');
  }

  async close(): Promise<void> {}
}

/**
 * Opens `path` for writing (truncating it), or stdout when no path (or `-`) is given.
 * @throws {ConfigError} naming `flag` and the path when the file cannot be opened.
 */
export async function openOutput(path: string | undefined, flag = '--out'): Promise<Output> {
  if (path === undefined || path === '-') return new StdoutOutput();
  try {
    return new FileOutput(path, await open(path, 'w'));
  } catch (error) {
    throw usageError(flag, `cannot write ${path}: ${fsReason(error)}`);
  }
}

/** A duration for a terminal: whole seconds, tenths under one second (`0.4s`, `12s`). */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms > 0 && ms < 1000 ? 1 : 0)}s`;
}
