/**
 * `chimera batches list | cancel`: the provider batches out in batch mode, as the daemons recorded them in
 * Redis (the batch store, docs/batch.md), and cancelling them at the providers through the SDKs' batch APIs.
 *
 * `cancel` only asks the providers to cancel: the intents stay in the store, so the daemon that holds them
 * (or the one that adopts them) polls each batch to its end and reads its results as for any batch.
 * Requests the provider answered before the cancel are delivered; the others come back `cancelled`, a
 * non-retryable code, so their conversations fail with it (`provider_failed`) and their records are
 * published like any other failure: nothing is lost, nothing is sent again.
 */
import type { Command } from 'commander';
import { type Config, PROVIDER_NAMES, type ProviderName } from '../../config.js';
import type { BatchState } from '../../services/ports.js';
import { ProviderFactory } from '../../services/providers/factory.js';
import { RedisBatchStore } from '../../services/redis/batch-store.js';
import { closeRedis, connectRedis } from '../connect.js';
import { loadCliConfig, providerFlag } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, errorLine, usageError } from '../errors.js';
import { seconds } from '../output.js';

/** One batch out as the batch store records it. */
export interface BatchOutStatus {
  /** The provider's batch id; the intent id while its submission has not come back. */
  id: string;
  requests: number;
  ageMs: number;
  /** `submitting`: recorded, not yet accepted; `out`: the provider has it. */
  state: 'submitting' | 'out';
  owner: string;
}

export type BatchesOut = Partial<Record<ProviderName, BatchOutStatus[]>>;

/** The batches out per provider, oldest first; providers without any are left out. */
export async function readBatchesOut(
  store: RedisBatchStore,
  at: number,
  providers: readonly ProviderName[] = PROVIDER_NAMES,
): Promise<BatchesOut> {
  const batches: BatchesOut = {};
  for (const name of providers) {
    const stored = await store.list(name);
    if (stored.length === 0) continue;
    batches[name] = stored.map((batch) => ({
      id: batch.batchId ?? batch.intentId,
      requests: batch.requests.length,
      ageMs: Math.max(0, at - (batch.submittedAt ?? batch.createdAt)),
      state: batch.batchId === null ? 'submitting' : 'out',
      owner: batch.owner,
    }));
  }
  return batches;
}

function plural(n: number, word: string): string {
  return `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;
}

/** The batches out as lines for a terminal (`status` shows the same lines). */
export function formatBatchesOut(batches: BatchesOut): string[] {
  const lines: string[] = [];
  for (const [name, list] of Object.entries(batches) as Array<[ProviderName, BatchOutStatus[]]>)
    for (const batch of list)
      lines.push(
        `  ${name.padEnd(10)} ${batch.id} ${plural(batch.requests, 'request')}, ` +
          `${seconds(batch.ageMs)} old, ${batch.state} (${batch.owner})`,
      );
  return lines;
}

/** What `cancel` did with one batch out. */
export interface CancelOutcome {
  provider: ProviderName;
  /** The provider's batch id, or the intent id of a submission not yet accepted. */
  id: string;
  requests: number;
  /**
   * `cancelling` / `cancelled` (or `ended`, `failed`, `expired` when it had already finished): the provider's
   * answer; `submitting`: not yet accepted, nothing to cancel; `error`: the cancel failed (see `error`).
   */
  result: BatchState | 'submitting' | 'error';
  error?: string;
}

export interface CancelReport {
  outcomes: CancelOutcome[];
  /** Batches the providers accepted the cancel of. */
  cancelled: number;
  failed: number;
}

async function withBatchStore<T>(
  config: Readonly<Config>,
  command: string,
  run: (store: RedisBatchStore) => Promise<T>,
): Promise<T> {
  if (!config.redis) {
    throw usageError(
      command,
      'the batches out are recorded in Redis; set REDIS_URL (or REDIS_HOST) to the one the daemons use',
    );
  }
  const redis = await connectRedis(config.redis.url);
  try {
    return await run(new RedisBatchStore(redis, config.redis.keyPrefix));
  } finally {
    await closeRedis(redis);
  }
}

/**
 * Asks each provider to cancel every batch out the store records for it. A provider without credentials
 * here, or the simulated one (its batches live inside the daemon's process), cannot be asked: those
 * batches are reported as errors.
 */
export async function cancelBatchesOut(
  config: Readonly<Config>,
  store: RedisBatchStore,
  providers: readonly ProviderName[],
): Promise<CancelReport> {
  const factory = new ProviderFactory(config);
  const outcomes: CancelOutcome[] = [];
  for (const provider of providers) {
    for (const batch of await store.list(provider)) {
      const base = { provider, requests: batch.requests.length };
      if (batch.batchId === null) {
        outcomes.push({ ...base, id: batch.intentId, result: 'submitting' });
        continue;
      }
      const id = batch.batchId;
      if (provider === 'simulated') {
        outcomes.push({
          ...base,
          id,
          result: 'error',
          error: 'simulated batches live in the daemon; stop it with run --cancel-batches',
        });
        continue;
      }
      if (!config.configuredProviders.includes(provider)) {
        outcomes.push({ ...base, id, result: 'error', error: `no credentials for ${provider} here` });
        continue;
      }
      try {
        const status = await factory.batchApi(provider).cancel(id);
        outcomes.push({ ...base, id, result: status.state });
      } catch (error) {
        outcomes.push({ ...base, id, result: 'error', error: errorLine(error).replace(/^chimera: /, '') });
      }
    }
  }
  const failed = outcomes.filter((outcome) => outcome.result === 'error').length;
  const cancelled = outcomes.filter(
    (outcome) => outcome.result !== 'error' && outcome.result !== 'submitting',
  ).length;
  return { outcomes, cancelled, failed };
}

/** The report as text for a terminal. */
export function formatCancel(report: CancelReport): string {
  if (report.outcomes.length === 0) return 'no batches out\n';
  const lines = report.outcomes.map((outcome) => {
    const head = `${outcome.provider.padEnd(10)} ${outcome.id} ${plural(outcome.requests, 'request')}: `;
    if (outcome.result === 'error') return `${head}NOT cancelled: ${outcome.error}`;
    if (outcome.result === 'submitting') return `${head}not yet accepted by the provider, nothing to cancel`;
    return `${head}${outcome.result}`;
  });
  lines.push(
    `${plural(report.cancelled, 'batch')} cancelled` +
      (report.failed > 0 ? `, ${report.failed} could not be` : '') +
      '; their daemons read what the providers answered before the cancel, and the other requests fail ' +
      'their conversations with the code cancelled',
  );
  return `${lines.join('\n')}\n`;
}

function providersFrom(config: Readonly<Config>, flag: string | undefined): readonly ProviderName[] {
  return flag === undefined ? PROVIDER_NAMES : [providerFlag(config, flag)];
}

export function registerBatches(program: Command): void {
  const batches = program
    .command('batches')
    .description('the provider batches out in batch mode, as recorded in Redis');
  batches
    .command('list')
    .description('the batches out per provider (id, requests, age, state, owner)')
    .option('--provider <name>', 'only this provider')
    .option('--json', 'print them as JSON')
    .action(async (flags: { provider?: string; json?: boolean }) => {
      const config = loadCliConfig();
      const providers = providersFrom(config, flags.provider);
      const out = await withBatchStore(config, 'batches list', (store) =>
        readBatchesOut(store, Date.now(), providers),
      );
      const lines = formatBatchesOut(out);
      process.stdout.write(
        flags.json
          ? `${JSON.stringify(out, null, 2)}\n`
          : lines.length === 0
            ? 'no batches out\n'
            : `${lines.map((line) => line.trimStart()).join('\n')}\n`,
      );
      process.exitCode = EXIT_OK;
    });
  batches
    .command('cancel')
    .description(
      'cancel every batch out at its provider; the conversations waiting on them fail with the code cancelled',
    )
    .option('--provider <name>', 'only this provider')
    .option('--json', 'print the outcome as JSON')
    .action(async (flags: { provider?: string; json?: boolean }) => {
      const config = loadCliConfig();
      const providers = providersFrom(config, flags.provider);
      const report = await withBatchStore(config, 'batches cancel', (store) =>
        cancelBatchesOut(config, store, providers),
      );
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatCancel(report));
      process.exitCode = report.failed > 0 ? EXIT_FAILURE : EXIT_OK;
    });
}
