/**
 * The resumable state of one `chimera generate` run, built from its flags: the journal (`run-journal.ts`)
 * bound to the run's inputs, the run id, the output file cut back to its last complete record, and, in
 * embedded mode, the journal as the snapshot store and turn cache. With Redis configured, Redis holds the
 * conversations and answers (the journal keeps the run's identity and the output's progress).
 */
import { randomUUID } from 'node:crypto';
import { InvalidArgumentError } from 'commander';
import type { Config, ProviderName } from '../config.js';
import type { BudgetStore } from '../cost/ports.js';
import type { TopicMessage } from '../events.js';
import { isFinished } from '../persistence/snapshot-codec.js';
import { recordOf } from '../records.js';
import type { SnapshotStore, TurnCache } from '../services/ports.js';
import type { BatchResume } from './batch.js';
import { type Output, openOutput } from './output.js';
import { deriveRunId, digestOf, journalDirFor, type ResumableOutput, RunJournal } from './run-journal.js';

/** `--run-id`: what `RUN_ID` accepts, since it names the run in every record. */
export function runIdFlag(value: string): string {
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(value))
    throw new InvalidArgumentError('expected 1-64 characters of letters, digits, . _ : -');
  return value;
}

export interface RunStateFlags {
  out?: string;
  stateDir?: string;
  runId?: string;
  fresh?: boolean;
  format: string;
  /** `--max-cost`: the run's own cap, kept with its spend in the journal across resumes. */
  maxCost?: number | null;
  minQuality?: number;
  includeFailed?: boolean;
  system: boolean;
}

export interface RunState {
  readonly runId: string;
  readonly dir: string;
  /** The configuration with the run id as `RUN_ID` (unless the environment sets one). */
  readonly config: Readonly<Config>;
  /**
   * The journal as snapshot store and turn cache (embedded mode only), and as the budget: always in
   * embedded mode, and with Redis for the run's own cap (`--max-cost`), so what the run spent counts
   * across its resumes.
   */
  readonly portOverrides?: { store?: SnapshotStore; turnCache?: TurnCache; budget?: BudgetStore };
  /** Opens the output: a file continues after its last complete record; stdout is stdout. */
  openOutput(path: string | undefined): Promise<Output>;
  /** One line for stderr: a new run, or what a resume found. */
  describe(): string;
  /** What the batch skips or reuses, reading finished conversations from `store`. */
  batchResume(store: SnapshotStore): BatchResume;
  /** The conversation's record is written (or left out): a resume does not deal with it again. */
  written(conversationId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the run's journal, or returns undefined when the run has none (output to stdout, no --state-dir).
 * @throws {ConfigError} (exit 2) when the journal belongs to other inputs or another run id.
 */
export async function openRunState(
  flags: RunStateFlags,
  config: Readonly<Config>,
  run: { topics: readonly TopicMessage[]; sides: readonly [ProviderName, ProviderName] },
): Promise<RunState | undefined> {
  const dir = journalDirFor(flags);
  if (dir === undefined) return undefined;
  // Whatever decides what the output holds; not what only decides how fast (concurrency, timeouts).
  const inputs = digestOf({
    topics: run.topics,
    sides: run.sides,
    models: run.sides.map((side) => config.providers[side].model),
    format: flags.format,
    minQuality: flags.minQuality,
    includeFailed: flags.includeFailed,
    system: flags.system,
    turns: [config.conversation.minTurns, config.conversation.maxTurns, config.conversation.maxTokensPerTurn],
    temperature: config.dataset.temperature,
    seed: config.dataset.seed,
    pool: config.dataset.pool,
  });
  const journal = await RunJournal.open(dir, { fresh: flags.fresh, finishedTtlMs: config.finishedTtlMs });
  try {
    const derived = deriveRunId(flags.out, inputs);
    // A fresh start on a shared store needs new conversation ids: the old run's are taken there.
    const fresh = flags.fresh && config.redis ? `${derived}-${randomUUID().slice(0, 6)}` : derived;
    const identity = await journal.bind(inputs, fresh, flags.runId);
    const runConfig: Readonly<Config> = process.env.RUN_ID?.trim()
      ? config
      : { ...config, dataset: { ...config.dataset, runId: identity.id } };
    const { snapshots, turns, budget } = journal.stores;
    const overrides = {
      ...(config.redis ? {} : { store: snapshots, turnCache: turns }),
      ...(config.redis && flags.maxCost === undefined ? {} : { budget }),
    };
    let output: Output | undefined;
    let resumable: ResumableOutput | undefined;
    let closing: Promise<void> | undefined;
    return {
      runId: identity.id,
      dir,
      config: runConfig,
      ...(Object.keys(overrides).length > 0 ? { portOverrides: overrides } : {}),
      async openOutput(path) {
        if (path === undefined || path === '-') output = await openOutput(path);
        else output = resumable = await journal.openOutput(path);
        return output;
      },
      describe() {
        if (!identity.resumed) return `chimera: run ${identity.id}, journal in ${dir}\n`;
        const cut =
          resumable && resumable.cutBytes > 0
            ? `; cut ${resumable.cutBytes} bytes of an unfinished record`
            : '';
        return `chimera: resuming run ${identity.id} from ${dir}: ${journal.done.size} conversations already written${cut}\n`;
      },
      batchResume(store) {
        return {
          done: journal.done,
          async finished(conversationId) {
            const stored = await store.load(conversationId).catch(() => null);
            if (!stored || !isFinished(stored.status)) return undefined;
            return recordOf(stored.snapshot, stored.updatedAt);
          },
        };
      },
      async written(conversationId) {
        if (resumable) await resumable.mark(conversationId);
        else await journal.markOutput([conversationId], 0);
      },
      close() {
        closing ??= journal.close();
        return closing;
      },
    };
  } catch (error) {
    await journal.close();
    throw error;
  }
}
