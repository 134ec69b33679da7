/**
 * `chimera generate`: one-shot generation without a daemon. Topics in, a JSONL dataset out. With no Redis
 * and no Kafka configured everything runs in this process; with them configured it uses them (state in
 * Redis, events on Kafka) like a daemon would, taking topics only from the command line.
 *
 * Exit code: 0 when every conversation ended; 1 when any failed or timed out (the dataset is still
 * written: the records that ended are in it, and with the `chimera` format or `--include-failed` the
 * failed ones too); 2 for bad flags or configuration, before anything runs.
 */
import { randomUUID } from 'node:crypto';
import { type Command, Option } from 'commander';
import { type Config, chooseSides, type ProviderName } from '../../config.js';
import { formatUsd } from '../../cost/money.js';
import { DatasetWriter } from '../../export/dataset-writer.js';
import { DATASET_FORMATS, type DatasetFormat } from '../../export/formats.js';
import type { TopicLimits } from '../../intake/parse-topic.js';
import { Batch, type BatchResume, expandTopics } from '../batch.js';
import { cliLogger, loadCliConfig, providerFlag } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, usageError } from '../errors.js';
import { collect, nonBlank, score, wholeNumber } from '../options.js';
import { type Output, openOutput } from '../output.js';
import { ProgressReporter } from '../progress.js';
import { openRunState, type RunState, runIdFlag } from '../run-state.js';
import { type CheckedTopic, checkTopic, readTopicsFile } from '../topics-input.js';
import { capArgument } from './budget.js';

interface GenerateFlags {
  /** Every provider through its batch API (`PROVIDER_MODE=batch`). */
  batch?: boolean;
  topic?: string[];
  topics?: string;
  conversations: number;
  out?: string;
  format: DatasetFormat;
  provider?: string;
  maxTurns?: number;
  minQuality?: number;
  includeFailed?: boolean;
  system: boolean;
  personas?: string;
  seed?: number;
  /** Spending cap for this run, micro-dollars (`--max-cost USD`); null: none. */
  maxCost?: number | null;
  stateDir?: string;
  runId?: string;
  fresh?: boolean;
}

/** How long a drain on Ctrl-C waits for conversations in flight before stopping them where they are. */
const INTERRUPT_DRAIN_MS = 5_000;

/** A conversation that never starts must not hang the run: allow a full conversation timeout per round. */
function waitBudgetMs(total: number, maxConcurrent: number, timeoutMs: number): number {
  // Kept within what one timer can wait (a longer delay would fire at once).
  return Math.min(2_147_483_647, timeoutMs * Math.ceil(total / maxConcurrent) + 60_000);
}

/** How long one conversation may take: in batch mode every turn may use its whole window. */
function conversationBoundMs(config: Readonly<Config>): number {
  const batched = Object.values(config.batch.modes).includes('batch');
  return batched
    ? Math.max(config.conversation.timeoutMs, config.conversation.maxTurns * config.batch.maxWaitMs)
    : config.conversation.timeoutMs;
}

/** Said on stderr, loudly, whenever a side is the simulated provider: this is not model output. */
export function simulatedWarning(explicit: boolean): string {
  const why = explicit
    ? 'the simulated provider was asked for (--provider simulated).'
    : 'no provider API key is configured, so the built-in simulated provider is used.';
  const lines = [
    'SIMULATED OUTPUT',
    `These conversations are NOT from a language model: ${why}`,
    'Every record carries "simulated": true. Do not train on this data.',
    'For real conversations set ANTHROPIC_API_KEY, GOOGLE_API_KEY or OPENAI_API_KEY (or OPENAI_BASE_URL).',
  ];
  const rule = '!'.repeat(78);
  return `${[rule, ...lines.map((l) => `!!! ${l}`), rule].join('\n')}\n`;
}

async function gatherTopics(flags: GenerateFlags, limits: TopicLimits): Promise<CheckedTopic[]> {
  const topics: CheckedTopic[] = (flags.topic ?? []).map((title) => checkTopic({ title }, limits, '--topic'));
  if (flags.topics !== undefined) topics.push(...(await readTopicsFile(flags.topics, limits, '--topics')));
  if (topics.length === 0) throw usageError('--topic', 'give at least one --topic TITLE or --topics FILE');
  return topics;
}

async function generate(flags: GenerateFlags): Promise<number> {
  // Loaded here rather than at the top: the provider SDKs take a second to load, which every other
  // command (and --help, and a bad flag) would otherwise pay for.
  const { Chimera } = await import('../../chimera.js');
  const config = loadCliConfig(process.env, {
    ...(flags.maxTurns === undefined ? {} : { MAX_CONVERSATION_TURNS: String(flags.maxTurns) }),
    // Dataset diversity flags stand for their variables, so errors name the variable like the rest.
    ...(flags.personas === undefined ? {} : { PERSONAS_FILE: flags.personas }),
    ...(flags.seed === undefined ? {} : { SEED: String(flags.seed) }),
    ...(flags.batch ? { PROVIDER_MODE: 'batch' } : {}),
  });
  const topics = await gatherTopics(flags, config.conversation);
  let sides: [ProviderName, ProviderName];
  if (flags.provider !== undefined) {
    const provider = providerFlag(config, flags.provider);
    sides = [provider, provider];
  } else {
    sides = chooseSides(config);
  }
  // A run with a journal (an output file, or --state-dir) resumes: same run id, same conversations.
  const state: RunState | undefined = await openRunState(flags, config, {
    topics: expandTopics(topics, { copies: flags.conversations }),
    sides,
  });
  const runId = state?.runId ?? flags.runId ?? (config.redis ? randomUUID().slice(0, 8) : undefined);
  const messages = expandTopics(topics, {
    copies: flags.conversations,
    runId: config.redis ? runId : undefined,
  });
  let output: Output;
  try {
    output = state ? await state.openOutput(flags.out) : await openOutput(flags.out);
  } catch (error) {
    await state?.close();
    throw error;
  }
  if (sides.includes('simulated')) process.stderr.write(simulatedWarning(flags.provider !== undefined));
  if (state) process.stderr.write(state.describe());

  const logger = cliLogger(config);
  const chimera = await Chimera.create(state?.config ?? config, {
    logger,
    intake: 'none',
    sides,
    drainTimeoutMs: INTERRUPT_DRAIN_MS,
    ...(flags.maxCost === undefined ? {} : { capMicros: flags.maxCost }),
    ...(state?.portOverrides ? { portOverrides: state.portOverrides } : {}),
  });
  chimera.start();
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nchimera: interrupted; stopping (Ctrl-C again to quit at once)\n');
    void chimera
      .stop()
      .finally(() => output.close())
      .finally(() => state?.close())
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onInterrupt);

  const resume: BatchResume | undefined = state?.batchResume(chimera.parts.store);
  const batch = new Batch(chimera, messages, resume);
  const progress = new ProgressReporter({ sample: () => batch.stats() });
  const writer = new DatasetWriter(output, {
    format: flags.format,
    minQuality: flags.minQuality,
    // The chimera format is the full provenance: failed records stay, marked by their status.
    includeFailed: flags.includeFailed ?? flags.format === 'chimera',
    system: flags.system,
  });
  let ended = 0;
  let failed = 0;
  try {
    await batch.start(
      waitBudgetMs(messages.length, config.conversation.maxConcurrent, conversationBoundMs(config)),
    );
    progress.start();
    for await (const record of batch.records()) {
      // Stopping: what finishes during the drain is saved, and a rerun writes it.
      if (interrupted) break;
      if (record.status === 'ended') ended += 1;
      else failed += 1;
      await writer.add(record);
      await state?.written(record.conversationId);
    }
    await progress.finish();
  } finally {
    process.off('SIGINT', onInterrupt);
    await output.close();
    await chimera.stop();
    await state?.close();
  }
  if (interrupted) return 130;
  const to = output.name === 'stdout' ? 'stdout' : output.name;
  process.stderr.write(`${writer.summary('wrote')} to ${to}; ${ended} ended, ${failed} failed\n`);
  const spent = chimera.parts.spending.ledger.totalMicros;
  if (batch.cappedBeforeEnd) {
    process.stderr.write(
      `chimera: spending cap reached after ${formatUsd(spent)}: ${batch.unfinished} conversation(s) not finished (paused or not started); raise --max-cost or MAX_SPEND_USD and run again\n`,
    );
    return EXIT_FAILURE;
  }
  return failed > 0 ? EXIT_FAILURE : EXIT_OK;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate conversations about the given topics in this process and write them as JSONL')
    .option('--topic <title>', 'a topic title (repeatable)', collect)
    .option('--topics <file>', 'a file of topics: one title per line, or JSONL topic messages (- for stdin)')
    .option('--conversations <n>', 'conversations per topic', wholeNumber(1, 10_000), 1)
    .option('--out <file>', 'write the dataset here instead of stdout')
    .addOption(
      new Option('--format <format>', 'dataset format').choices([...DATASET_FORMATS]).default('chimera'),
    )
    .option('--provider <name>', 'use this provider for both sides (e.g. simulated)', nonBlank)
    .option(
      '--batch',
      'every provider answers through its batch API: half price, hours not seconds (PROVIDER_MODE=batch)',
    )
    .option(
      '--max-turns <n>',
      'turns per conversation at most (MAX_CONVERSATION_TURNS)',
      wholeNumber(1, 1000),
    )
    .option('--min-quality <score>', 'leave out conversations with a quality score below this (0-1)', score)
    .option(
      '--include-failed',
      'keep failed conversations in openai/sharegpt output (chimera keeps them always)',
    )
    .option('--no-system', 'leave out the system message in openai/sharegpt output')
    .option(
      '--personas <file>',
      'a JSON file adding to or replacing the persona and style pool (PERSONAS_FILE)',
    )
    .option(
      '--seed <n>',
      'seed of the persona, style and temperature draws (SEED)',
      wholeNumber(0, 2_147_483_647),
    )
    .option(
      '--max-cost <usd>',
      'stop starting model calls once this many US dollars could be passed (MAX_SPEND_USD; none for no cap)',
      capArgument,
    )
    .option(
      '--state-dir <dir>',
      "keep the run's journal here (default: beside --out, as FILE.journal) so a rerun resumes it",
    )
    .option('--run-id <id>', 'name the run (default: derived from --out and the inputs)', runIdFlag)
    .option('--fresh', "discard the run's journal and start over")
    .addHelpText(
      'after',
      '\nWith --out FILE (or --state-dir) the run keeps a journal: the same command run again after\n' +
        'Ctrl-C or a crash continues it, without redoing finished conversations or repeating model calls.\n' +
        '\nWithout provider keys both sides are the simulated provider, and stderr says so.\n' +
        'Exit code 0 when every conversation ended, 1 when any failed, 2 for bad flags or configuration.',
    )
    .action(async (flags: GenerateFlags) => {
      process.exitCode = await generate(flags);
    });
}
