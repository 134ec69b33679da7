/**
 * `chimera export`: the dataset from what the daemons produced, as JSONL. From Kafka, the final records on
 * the events topic up to its end at the time of the export; from Redis, the finished conversations still
 * retained (`FINISHED_TTL_SECONDS`), read through the finished indexes. Each conversation once.
 */
import { type Command, Option } from 'commander';
import type { Config } from '../../config.js';
import { DatasetWriter } from '../../export/dataset-writer.js';
import { DATASET_FORMATS, type DatasetFormat } from '../../export/formats.js';
import { readRecordsFromKafka } from '../../export/kafka-reader.js';
import { readRecordsFromRedis } from '../../export/redis-reader.js';
import type { Logger } from '../../logger.js';
import { closeRedis, connectRedis, kafkaClient } from '../connect.js';
import { cliLogger, loadCliConfig } from '../context.js';
import { EXIT_OK, usageError } from '../errors.js';
import { score } from '../options.js';
import { openOutput } from '../output.js';

export const EXPORT_SOURCES = ['kafka', 'redis'] as const;
type ExportSource = (typeof EXPORT_SOURCES)[number];

interface ExportFlags {
  from: ExportSource;
  format: DatasetFormat;
  out?: string;
  minQuality?: number;
  includeFailed?: boolean;
  system: boolean;
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** What was read besides the records, for the summary; empty when nothing noteworthy. */
type Extra = string[];

async function fromKafka(config: Readonly<Config>, logger: Logger, writer: DatasetWriter): Promise<Extra> {
  if (!config.kafka) throw usageError('--from', 'kafka needs KAFKA_BOOTSTRAP_SERVERS to be set');
  const result = await readRecordsFromKafka({
    kafka: kafkaClient(config.kafka, logger),
    topic: config.kafka.topics.events,
    groupPrefix: `${config.kafka.groupId}-export`,
    onRecord: async (record) => void (await writer.add(record)),
  });
  return result.unreadable > 0 ? [`${count(result.unreadable, 'unreadable message')} skipped`] : [];
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
    const extra: Extra = [];
    if (result.unreadable > 0) extra.push(`${count(result.unreadable, 'unreadable snapshot')} skipped`);
    if (result.missing > 0) extra.push(`${result.missing} expired while reading`);
    return extra;
  } finally {
    await closeRedis(redis);
  }
}

async function runExport(flags: ExportFlags): Promise<number> {
  const config = loadCliConfig();
  // Before opening the output, so a missing variable does not leave an empty file behind.
  if (flags.from === 'kafka' && !config.kafka)
    throw usageError('--from', 'kafka needs KAFKA_BOOTSTRAP_SERVERS to be set');
  if (flags.from === 'redis' && !config.redis) {
    throw usageError('--from', 'redis needs REDIS_URL (or REDIS_HOST) to be set');
  }
  const logger = cliLogger(config);
  const output = await openOutput(flags.out);
  const writer = new DatasetWriter(output, {
    format: flags.format,
    minQuality: flags.minQuality,
    includeFailed: flags.includeFailed ?? false,
    system: flags.system,
  });
  let extra: Extra;
  try {
    extra =
      flags.from === 'kafka'
        ? await fromKafka(config, logger, writer)
        : await fromRedis(config, writer, flags.includeFailed ?? false);
  } finally {
    await output.close();
  }
  const tail = extra.length > 0 ? `; ${extra.join(', ')}` : '';
  process.stderr.write(`${writer.summary('exported')}${tail}\n`);
  return EXIT_OK;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('write the finished conversations from Kafka or Redis as a JSONL dataset')
    .addOption(
      new Option('--from <source>', 'where to read: the events topic or the finished index')
        .choices([...EXPORT_SOURCES])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--format <format>', 'dataset format').choices([...DATASET_FORMATS]).default('chimera'),
    )
    .option('--out <file>', 'write the dataset here instead of stdout')
    .option('--min-quality <score>', 'leave out conversations with a quality score below this (0-1)', score)
    .option('--include-failed', 'keep failed and timed-out conversations')
    .option('--no-system', 'leave out the system message in openai/sharegpt output')
    .addHelpText(
      'after',
      '\nKafka: reads the events topic (KAFKA_TOPIC_EVENTS) from the beginning up to its end at the start\n' +
        'of the export, with a throwaway consumer group. Redis: reads the finished conversations still\n' +
        'retained (FINISHED_TTL_SECONDS). A summary line goes to stderr.',
    )
    .action(async (flags: ExportFlags) => {
      process.exitCode = await runExport(flags);
    });
}
