/**
 * `chimera export`: the dataset from what the daemons produced, as JSONL. From Kafka, the final records on
 * the events topic up to its end at the time of the export; from Redis, the finished conversations still
 * retained (`FINISHED_TTL_SECONDS`), read through the finished indexes. Each conversation once.
 */
import { access } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import type { Config } from '../../config.js';
import { DatasetWriter } from '../../export/dataset-writer.js';
import { DEDUP_MODES, type DedupMode } from '../../export/dedup/deduplicator.js';
import { readRecordsFromFile } from '../../export/file-reader.js';
import { DATASET_FORMATS } from '../../export/formats.js';
import { readRecordsFromKafka } from '../../export/kafka-reader.js';
import { DEFAULT_MAX_SHARD_BYTES, ParquetDataset } from '../../export/parquet/writer.js';
import { readRecordsFromRedis } from '../../export/redis-reader.js';
import type { Logger } from '../../logger.js';
import { closeRedis, connectRedis, kafkaClient } from '../connect.js';
import { cliLogger, loadCliConfig } from '../context.js';
import { EXIT_FAILURE, EXIT_OK, usageError } from '../errors.js';
import { judgeScore, score, wholeNumber } from '../options.js';
import { openOutput } from '../output.js';

export const EXPORT_SOURCES = ['kafka', 'redis'] as const;
/** `kafka`, `redis`, or the path of a JSONL file of full (`chimera`) records. */
type ExportSource = string;

/** Every `--format`: the JSONL formats and the Parquet dataset directory. */
export const EXPORT_FORMATS = [...DATASET_FORMATS, 'parquet'] as const;
type ExportFormat = (typeof EXPORT_FORMATS)[number];

interface ExportFlags {
  from: ExportSource;
  format: ExportFormat;
  out?: string;
  minQuality?: number;
  minJudgeScore?: number;
  includeFailed?: boolean;
  system: boolean;
  dedup?: DedupMode;
  threshold?: number;
  shardSize?: number;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What was read besides the records, for the summary; empty when nothing noteworthy. */
interface Extra {
  notes: string[];
  /** Ids of records that could not be read and were skipped: the export exits 1 after writing the rest. */
  unreadableIds: string[];
}

const notes = (...list: string[]): Extra => ({ notes: list, unreadableIds: [] });

/** Ids named on stderr at most; the count covers the rest. */
const MAX_IDS_SHOWN = 100;

function skippedLine(ids: string[]): string {
  const shown = ids.slice(0, MAX_IDS_SHOWN).join(', ');
  const more = ids.length > MAX_IDS_SHOWN ? ` and ${ids.length - MAX_IDS_SHOWN} more` : '';
  return `unreadable snapshots skipped: ${shown}${more}`;
}

async function fromKafka(config: Readonly<Config>, logger: Logger, writer: DatasetWriter): Promise<Extra> {
  if (!config.kafka) throw usageError('--from', 'kafka needs KAFKA_BOOTSTRAP_SERVERS to be set');
  const result = await readRecordsFromKafka({
    kafka: kafkaClient(config.kafka, logger),
    topic: config.kafka.topics.events,
    groupPrefix: `${config.kafka.groupId}-export`,
    onRecord: async (record) => void (await writer.add(record)),
  });
  return result.unreadable > 0 ? notes(`${count(result.unreadable, 'unreadable message')} skipped`) : notes();
}

async function fromRedis(
  config: Readonly<Config>,
  writer: DatasetWriter,
  includeFailed: boolean,
): Promise<Extra> {
  if (!config.redis) throw usageError('--from', 'redis needs REDIS_URL (or REDIS_HOST) to be set');
  const redis = await connectRedis(config.redis.url);
  try {
    const result = await readRecordsFromRedis({
      redis,
      keyPrefix: config.redis.keyPrefix,
      statuses: includeFailed ? ['ended', 'failed', 'timedOut'] : ['ended'],
      onRecord: async (record) => void (await writer.add(record)),
    });
    const extra = notes();
    if (result.unreadable > 0) {
      extra.notes.push(`${count(result.unreadable, 'unreadable snapshot')} skipped`);
      extra.unreadableIds = result.unreadableIds;
    }
    if (result.missing > 0) extra.notes.push(`${result.missing} expired while reading`);
    return extra;
  } finally {
    await closeRedis(redis);
  }
}

async function fromFile(path: string, writer: DatasetWriter): Promise<Extra> {
  const result = await readRecordsFromFile(path, async (record) => void (await writer.add(record)));
  return result.unreadable > 0 ? notes(`${count(result.unreadable, 'unreadable line')} skipped`) : notes();
}

function read(
  flags: ExportFlags,
  config: Readonly<Config>,
  logger: Logger,
  writer: DatasetWriter,
): Promise<Extra> {
  if (flags.from === 'kafka') return fromKafka(config, logger, writer);
  if (flags.from === 'redis') return fromRedis(config, writer, flags.includeFailed ?? false);
  return fromFile(flags.from, writer);
}

/** Flag combinations commander cannot check alone; before anything is opened. */
async function checkFlags(flags: ExportFlags, config: Readonly<Config>): Promise<void> {
  if (flags.from === 'kafka' && !config.kafka)
    throw usageError('--from', 'kafka needs KAFKA_BOOTSTRAP_SERVERS to be set');
  if (flags.from === 'redis' && !config.redis) {
    throw usageError('--from', 'redis needs REDIS_URL (or REDIS_HOST) to be set');
  }
  if (flags.from !== 'kafka' && flags.from !== 'redis') {
    try {
      await access(flags.from);
    } catch {
      throw usageError(
        '--from',
        `expected kafka, redis or a readable JSONL file of chimera records (got "${flags.from}")`,
      );
    }
  }
  if (flags.threshold !== undefined && flags.dedup !== 'near') {
    throw usageError('--threshold', 'applies to --dedup near only');
  }
  if (flags.threshold !== undefined && flags.threshold === 0) {
    throw usageError('--threshold', 'expected a number above 0 and at most 1');
  }
  if (flags.format === 'parquet' && flags.out === undefined) {
    throw usageError('--out', '--format parquet writes a directory: give it with --out DIR');
  }
  if (flags.shardSize !== undefined && flags.format !== 'parquet') {
    throw usageError('--shard-size', 'applies to --format parquet only');
  }
}

async function runExport(flags: ExportFlags): Promise<number> {
  const config = loadCliConfig();
  // Before opening the output, so a bad flag or a missing variable does not leave an empty file behind.
  await checkFlags(flags, config);
  const logger = cliLogger(config);
  const options = {
    format: flags.format,
    minQuality: flags.minQuality,
    minJudgeScore: flags.minJudgeScore,
    includeFailed: flags.includeFailed ?? false,
    system: flags.system,
    ...(flags.dedup ? { dedup: { mode: flags.dedup, threshold: flags.threshold } } : {}),
  };
  let extra: Extra;
  let summary: string;
  if (flags.format === 'parquet') {
    const dataset = await ParquetDataset.create({
      dir: flags.out!,
      system: flags.system,
      maxShardBytes: flags.shardSize === undefined ? DEFAULT_MAX_SHARD_BYTES : flags.shardSize * 1024 * 1024,
    }).catch((error: unknown) => {
      throw usageError('--out', error instanceof Error ? error.message : String(error));
    });
    const writer = new DatasetWriter(dataset, options);
    try {
      extra = await read(flags, config, logger, writer);
    } catch (error) {
      await dataset.abort();
      throw error;
    }
    summary = writer.summary('exported');
    const shards = await dataset.close(summary);
    extra.notes.push(`${count(shards.length, 'shard')} and a dataset card in ${flags.out}`);
  } else {
    const output = await openOutput(flags.out);
    const writer = new DatasetWriter(output, { ...options, format: flags.format });
    try {
      extra = await read(flags, config, logger, writer);
    } finally {
      await output.close();
    }
    summary = writer.summary('exported');
  }
  const tail = extra.notes.length > 0 ? `; ${extra.notes.join(', ')}` : '';
  process.stderr.write(`${summary}${tail}\n`);
  if (extra.unreadableIds.length > 0) {
    process.stderr.write(`${skippedLine(extra.unreadableIds)}\n`);
    return EXIT_FAILURE;
  }
  return EXIT_OK;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the finished conversations from Kafka, Redis or a file as a JSONL or Parquet dataset')
    .addOption(
      new Option(
        '--from <source>',
        'where to read: kafka (the events topic), redis (the finished index) or a JSONL file of chimera records',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option('--format <format>', 'dataset format').choices([...EXPORT_FORMATS]).default('chimera'),
    )
    .option('--out <file>', 'write the dataset here instead of stdout (a directory for parquet)')
    .addOption(new Option('--dedup <mode>', 'drop duplicate conversations').choices([...DEDUP_MODES]))
    .option('--threshold <jaccard>', 'near-duplicate threshold for --dedup near (default 0.8)', score)
    .option(
      '--shard-size <MB>',
      `parquet shard size in MB of row data (default ${DEFAULT_MAX_SHARD_BYTES / 1024 / 1024})`,
      wholeNumber(1, 4096),
    )
    .option('--min-quality <score>', 'leave out conversations with a quality score below this (0-1)', score)
    .option(
      '--min-judge-score <score>',
      'keep only conversations the judge scored at least this overall (1-5); unjudged ones are left out',
      judgeScore,
    )
    .option('--include-failed', 'keep failed and timed-out conversations')
    .option('--no-system', 'leave out the system message in openai/sharegpt output')
    .addHelpText(
      'after',
      '\nKafka: reads the events topic (KAFKA_TOPIC_EVENTS) from the beginning up to its end at the start\n' +
        'of the export, with a throwaway consumer group. Redis: reads the finished conversations still\n' +
        'retained (FINISHED_TTL_SECONDS). A file: the chimera-format JSONL that generate writes.\n' +
        '--format parquet --out DIR writes DIR/data/train-*.parquet and DIR/README.md (a Hugging Face\n' +
        'dataset card). A summary line goes to stderr, with what --dedup dropped and why.',
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await runExport(flags);
    });
}
