/**
 * The embedded durable journal: one directory, one writer process, append-only segment files of framed
 * records (`frame.ts`), each batch of records written with one `write` and made durable with one
 * `fdatasync` before any of its writers hears back (group commit: many conversations share one disk
 * flush). Everything is also held in memory (`state.ts`), so reads cost no I/O.
 *
 * Recovery: the newest segment is read and replayed; a torn last record (power loss mid-write) is cut
 * off; damage followed by intact records is refused. The process that wrote it is gone (the directory
 * lock says so), so a `recovered` record ends its leases and reservations.
 *
 * Bounded: when the live segment passes `maxSegmentBytes`, the state is written as the base of a new
 * segment (to a temporary file, flushed, renamed, the directory flushed), then the old segment is
 * deleted. The journal on disk is at most the live state plus `maxSegmentBytes` and one record, twice
 * that during a compaction.
 */
import { type FileHandle, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ChimeraError } from '../../errors.js';
import { type Clock, systemClock } from '../ports.js';
import { decodeSegment, encodeFrame } from './frame.js';
import { type DirectoryLock, lockDirectory } from './lock.js';
import {
  applyRecord,
  baseRecords,
  emptyJournalState,
  type JournalRecord,
  type JournalState,
} from './state.js';

/** Compact after this much log: a few hundred conversations' full histories. */
export const DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024;

export interface JournalOptions {
  /** Stamps records with the time (`at`) that replays use. @default systemClock */
  clock?: Clock;
  /** Size of the live segment that starts a compaction. @default DEFAULT_MAX_SEGMENT_BYTES */
  maxSegmentBytes?: number;
}

const SEGMENT = /^segment-(\d{12})\.log$/;
const segmentName = (n: number) => `segment-${String(n).padStart(12, '0')}.log`;

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface Pending {
  bytes: Buffer;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface JournalRecovery {
  /** Records replayed from the live segment. */
  records: number;
  /** Bytes of a torn last record that were cut off. */
  tornBytes: number;
}

export class Journal {
  readonly state: JournalState = emptyJournalState();
  readonly clock: Clock;
  /** What opening found. */
  recovery: JournalRecovery = { records: 0, tornBytes: 0 };
  private readonly maxSegmentBytes: number;
  private handle?: FileHandle;
  private segment = 0;
  private segmentBytes = 0;
  private queue: Pending[] = [];
  private flushing?: Promise<void>;
  /** The durability of the last record appended: a barrier waits for it and nothing later. */
  private last: Promise<void> = Promise.resolve();
  private failure?: unknown;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly lock: DirectoryLock,
    options: JournalOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.maxSegmentBytes = options.maxSegmentBytes ?? DEFAULT_MAX_SEGMENT_BYTES;
  }

  /**
   * Opens (creating) the journal in `dir`, replaying what is there.
   * @throws {ChimeraError} `closed` when another live process holds it; `journal_corrupt` when damaged.
   */
  static async open(dir: string, options: JournalOptions = {}): Promise<Journal> {
    await mkdir(dir, { recursive: true });
    const lock = await lockDirectory(dir);
    const journal = new Journal(dir, lock, options);
    try {
      await journal.recover();
    } catch (error) {
      await lock.release();
      throw error;
    }
    return journal;
  }

  private async recover(): Promise<void> {
    const names = await readdir(this.dir);
    for (const name of names) if (name.endsWith('.tmp')) await unlink(join(this.dir, name));
    const segments = names
      .map((name) => SEGMENT.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const latest = segments.at(-1);
    if (latest === undefined) {
      await this.startSegment(1, []);
    } else {
      const path = join(this.dir, segmentName(latest));
      const decoded = decodeSegment(await readFile(path), segmentName(latest));
      const records = decoded.records as JournalRecord[];
      if (!records.some((r) => r.t === 'base-end')) {
        throw new ChimeraError(
          'journal_corrupt',
          `journal ${segmentName(latest)} has no base: it was not written by this journal`,
        );
      }
      for (const record of records) applyRecord(this.state, record);
      this.recovery = { records: records.length, tornBytes: decoded.tornBytes };
      const handle = await open(path, 'r+');
      if (decoded.tornBytes > 0) {
        await handle.truncate(decoded.validBytes);
        await handle.datasync();
      }
      await handle.close();
      this.handle = await open(path, 'a');
      this.segment = latest;
      this.segmentBytes = decoded.validBytes;
      // Older segments are superseded by the latest one's base (a crash may have left one behind).
      for (const older of segments.slice(0, -1)) await unlink(join(this.dir, segmentName(older)));
    }
    const recovered: JournalRecord = { t: 'recovered', at: this.clock.now() };
    applyRecord(this.state, recovered);
    await this.append(recovered);
  }

  /** Writes a new segment whose base is `base`, durably, and makes it the live one. */
  private async startSegment(n: number, base: JournalRecord[]): Promise<void> {
    const name = segmentName(n);
    const tmp = join(this.dir, `${name}.tmp`);
    const bytes = Buffer.concat(
      [...base, { t: 'base-end', at: this.clock.now() } as JournalRecord].map((r) => encodeFrame(r)),
    );
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, name));
    await syncDirectory(this.dir);
    const previous = this.handle;
    const previousSegment = this.segment;
    this.handle = await open(join(this.dir, name), 'a');
    this.segment = n;
    this.segmentBytes = bytes.length;
    if (previous) {
      await previous.close();
      await unlink(join(this.dir, segmentName(previousSegment)));
      await syncDirectory(this.dir);
    }
  }

  /**
   * Appends a record; resolves once it (and everything before it) is on disk. The caller has already
   * applied it to `state`.
   */
  append(record: JournalRecord): Promise<void> {
    let bytes: Buffer;
    try {
      this.assertUsable();
      bytes = encodeFrame(record);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(bytes);
  }

  private enqueue(bytes: Buffer): Promise<void> {
    const durable = new Promise<void>((resolve, reject) => {
      this.queue.push({ bytes, resolve, reject });
      this.flushing ??= this.flush();
    });
    this.last = durable;
    return durable;
  }

  /** Applies a record to the state and appends it; a record that cannot be written changes nothing. */
  commit(record: JournalRecord): Promise<void> {
    let bytes: Buffer;
    try {
      this.assertUsable();
      bytes = encodeFrame(record);
    } catch (error) {
      return Promise.reject(error);
    }
    applyRecord(this.state, record);
    return this.enqueue(bytes);
  }

  /** Resolves once everything appended so far is durable: reads wait on it, so nobody acts on state that could still be lost. */
  async barrier(): Promise<void> {
    this.assertUsable();
    await this.last.catch(() => {});
    if (this.failure) throw this.failed();
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          const bytes = Buffer.concat(batch.map((p) => p.bytes));
          let written = 0;
          while (written < bytes.length) {
            const { bytesWritten } = await this.handle!.write(bytes, written, bytes.length - written);
            written += bytesWritten;
          }
          await this.handle!.datasync();
          this.segmentBytes += bytes.length;
        } catch (error) {
          // The disk refused: what is on it is the truth; this process must stop and recover from it.
          this.failure = error;
          for (const p of [...batch, ...this.queue]) p.reject(this.failed());
          this.queue = [];
          return;
        }
        for (const p of batch) p.resolve();
        if (this.segmentBytes > this.maxSegmentBytes && this.queue.length === 0) await this.compact();
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Rewrites the live state as the base of a new segment and drops the old one. */
  private async compact(): Promise<void> {
    // Captured before any await: records queued meanwhile go after this base in the new segment.
    const base = baseRecords(this.state, this.clock.now());
    try {
      await this.startSegment(this.segment + 1, base);
    } catch (error) {
      this.failure = error;
    }
  }

  private failed(): ChimeraError {
    const reason = this.failure instanceof Error ? this.failure.message : String(this.failure);
    return new ChimeraError(
      'closed',
      `journal ${this.dir} stopped after a failed write (${reason}); restart to recover`,
      {
        cause: this.failure,
      },
    );
  }

  private assertUsable(): void {
    if (this.failure) throw this.failed();
    if (this.closed) throw new ChimeraError('closed', 'journal is closed');
  }

  /** The live segment's number and size, for tests and status. */
  stats(): { segment: number; bytes: number } {
    return { segment: this.segment, bytes: this.segmentBytes };
  }

  /** Waits for pending writes, closes the file and releases the directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.flushing) await this.flushing.catch(() => {});
    this.closed = true;
    await this.handle?.close();
    await this.lock.release();
  }
}
