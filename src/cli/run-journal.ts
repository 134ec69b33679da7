/**
 * What makes `chimera generate` resumable: the run's journal (`services/journal/`, an append-only file
 * flushed with `fdatasync`), kept beside the output or under `--state-dir`. It holds the run's identity
 * (its id and a digest of its inputs), how much of the output file is complete, and which conversations
 * that covers; in embedded mode it is also the snapshot store and the turn cache, so conversations
 * continue from their last saved step and an answered model call is not sent again.
 *
 * The output file is only ever appended to with whole records, each flushed before the journal marks its
 * conversation as written; a resume cuts the file back to the last marked length, so a record torn by a
 * crash (or written and not yet marked) is neither kept half nor written twice.
 */
import { createHash } from 'node:crypto';
import { type FileHandle, open, readdir, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type JournalStores, openJournalStores } from '../services/journal/index.js';
import { usageError } from './errors.js';
import { fsReason, type Output } from './output.js';

/** The journal directory beside an output file. */
export const JOURNAL_SUFFIX = '.journal';

export interface RunJournalFlags {
  out?: string;
  stateDir?: string;
  runId?: string;
  fresh?: boolean;
}

/** Where the run's journal lives: `--state-dir`, or beside `--out`; none when writing to stdout. */
export function journalDirFor(flags: RunJournalFlags): string | undefined {
  if (flags.stateDir !== undefined) return flags.stateDir;
  if (flags.out !== undefined && flags.out !== '-') return `${flags.out}${JOURNAL_SUFFIX}`;
  return undefined;
}

/** A digest of whatever decides a run's output: the same inputs give the same digest in any process. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** Deletes a journal's own files (segments, temporaries, lock) and nothing else in the directory. */
async function discardJournal(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    if (/^segment-\d{12}\.log(\.tmp)?$/.test(name)) await unlink(join(dir, name));
  }
}

export interface RunIdentity {
  /** The run id: given with `--run-id`, or derived from the output and the inputs. */
  id: string;
  /** True when the journal already held this run (a resume). */
  resumed: boolean;
}

export class RunJournal {
  private constructor(
    readonly dir: string,
    readonly stores: JournalStores,
  ) {}

  /**
   * Opens (creating) the journal in `dir`; with `fresh`, whatever a previous run left there is discarded
   * first (only after its lock shows no live process is using it).
   * @throws {ConfigError} naming `--state-dir` when the directory cannot be used.
   */
  static async open(
    dir: string,
    options: { fresh?: boolean; finishedTtlMs?: number } = {},
  ): Promise<RunJournal> {
    try {
      if (options.fresh) {
        // Opening takes the lock: a live run using this journal is refused before anything is deleted.
        const previous = await openJournalStores(dir);
        await previous.close();
        await discardJournal(dir);
      }
      const stores = await openJournalStores(
        dir,
        options.finishedTtlMs === undefined ? {} : { finishedTtlMs: options.finishedTtlMs },
      );
      return new RunJournal(dir, stores);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (typeof code === 'string' && code.startsWith('E'))
        throw usageError('--state-dir', `cannot use ${dir} for the run's journal: ${fsReason(error)}`);
      throw error;
    }
  }

  /**
   * Binds the journal to this run, or checks that it already belongs to it.
   * @param derivedId the id to use when neither the journal nor `--run-id` names one.
   * @throws {ConfigError} (exit 2) when the journal belongs to other inputs or another run id.
   */
  async bind(inputs: string, derivedId: string, runId: string | undefined): Promise<RunIdentity> {
    const { journal } = this.stores;
    const existing = journal.state.run;
    if (existing) {
      if (existing.inputs !== inputs) {
        throw usageError(
          '--state-dir',
          `the run journal in ${this.dir} belongs to run ${existing.id}, made with other topics or flags; ` +
            'rerun with the same ones to continue it, add --fresh to discard it and start over, ' +
            'or choose another --out or --state-dir',
        );
      }
      if (runId !== undefined && runId !== existing.id) {
        throw usageError(
          '--run-id',
          `the run journal in ${this.dir} belongs to run ${existing.id}, not ${runId}; ` +
            'add --fresh to discard it and start over, or choose another --state-dir',
        );
      }
      return { id: existing.id, resumed: true };
    }
    const id = runId ?? derivedId;
    await journal.commit({ t: 'run', id, inputs });
    return { id, resumed: false };
  }

  /** Conversations the output already deals with (their records written, or left out by a filter). */
  get done(): ReadonlySet<string> {
    return this.stores.journal.state.output.done;
  }

  /**
   * Opens the output file for appending after its last complete record: anything after the length the
   * journal marked (a torn line, a record not yet marked) is cut off first.
   * @throws {ConfigError} naming `--out` when it cannot be opened, or is shorter than the journal says.
   */
  async openOutput(path: string): Promise<ResumableOutput> {
    const bytes = this.stores.journal.state.output.bytes;
    let handle: FileHandle;
    try {
      handle = await open(path, bytes === 0 ? 'w' : 'r+');
    } catch (error) {
      throw usageError('--out', `cannot write ${path}: ${fsReason(error)}`);
    }
    const size = (await handle.stat()).size;
    if (size < bytes) {
      await handle.close();
      throw usageError(
        '--out',
        `${path} is shorter (${size} bytes) than the run journal in ${this.dir} records (${bytes}): ` +
          'it was changed since; add --fresh to start over',
      );
    }
    if (size > bytes) {
      await handle.truncate(bytes);
      await handle.datasync();
    }
    return new ResumableOutput(path, handle, bytes, this, size - bytes);
  }

  /** Marks conversations as dealt with, up to `bytes` of output (already flushed). */
  async markOutput(conversationIds: string[], bytes: number): Promise<void> {
    await this.stores.journal.commit({ t: 'output', c: conversationIds, bytes });
  }

  async close(): Promise<void> {
    await this.stores.close();
  }
}

/** The deterministic run id: from where the output goes and what the run is made of. */
export function deriveRunId(out: string | undefined, inputs: string): string {
  return createHash('sha256')
    .update(`${out === undefined ? '-' : resolve(out)}\n${inputs}`)
    .digest('hex')
    .slice(0, 12);
}

/**
 * The output file of a journaled run: each line written whole and flushed; `mark` then records in the
 * journal that the conversation is in the file.
 */
export class ResumableOutput implements Output {
  constructor(
    readonly name: string,
    private readonly handle: FileHandle,
    private bytes: number,
    private readonly journal: RunJournal,
    /** Bytes cut off the end when it was opened (a torn or unmarked record). */
    readonly cutBytes: number,
  ) {}

  async write(line: string): Promise<void> {
    const data = Buffer.from(line, 'utf8');
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(
        data,
        written,
        data.length - written,
        this.bytes + written,
      );
      written += bytesWritten;
    }
    await this.handle.datasync();
    this.bytes += data.length;
  }

  /** The conversation's record is written (or was left out): a resume does not deal with it again. */
  async mark(conversationId: string): Promise<void> {
    await this.journal.markOutput([conversationId], this.bytes);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => {});
  }
}
