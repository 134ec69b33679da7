/**
 * `chimera topics add`: queues topics for the daemons. Every topic is checked with the intake's own rules
 * first and nothing is queued unless all pass, so a file with one bad line is fixed and sent again whole.
 * Topics go to the Kafka input topic when Kafka is configured (that is where daemons read first), else to
 * the Redis topic queue.
 */
import type { Command } from 'commander';
import type { Config } from '../../config.js';
import type { TopicMessage } from '../../events.js';
import { publishTopics } from '../../intake/enqueue.js';
import type { TopicLimits } from '../../intake/parse-topic.js';
import type { Logger } from '../../logger.js';
import { KafkaEventBus } from '../../services/kafka/event-bus.js';
import { ensureTopics } from '../../services/kafka/topics.js';
import { enqueueTopic } from '../../services/redis/topic-queue.js';
import { closeRedis, connectRedis, kafkaClient } from '../connect.js';
import { cliLogger, loadCliConfig } from '../context.js';
import { EXIT_OK, usageError } from '../errors.js';
import { nonBlank } from '../options.js';
import { type CheckedTopic, checkTopic, readTopicsFile } from '../topics-input.js';

interface AddFlags {
  source?: string;
  url?: string;
  id?: string;
  file?: string;
}

async function gather(
  title: string | undefined,
  flags: AddFlags,
  limits: TopicLimits,
): Promise<CheckedTopic[]> {
  if (title !== undefined && flags.file !== undefined) {
    throw usageError('--file', 'give a title or --file, not both');
  }
  if (flags.file !== undefined) {
    if (flags.source !== undefined || flags.url !== undefined || flags.id !== undefined) {
      throw usageError(
        '--file',
        '--source, --url and --id go with a title; in a file, use JSONL topic messages',
      );
    }
    return readTopicsFile(flags.file, limits, '--file');
  }
  if (title === undefined) throw usageError('title', 'give a topic title or --file FILE');
  const message: TopicMessage = { title };
  if (flags.source !== undefined) message.source = flags.source;
  if (flags.url !== undefined) message.url = flags.url;
  if (flags.id !== undefined) message.id = flags.id;
  return [checkTopic(message, limits, 'title')];
}

async function toKafka(config: Readonly<Config>, logger: Logger, messages: TopicMessage[]): Promise<string> {
  const kafkaConfig = config.kafka!;
  const kafka = kafkaClient(kafkaConfig, logger);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, kafkaConfig);
  } finally {
    await admin.disconnect();
  }
  const bus = new KafkaEventBus({ kafka, topics: kafkaConfig.topics, logger });
  try {
    await publishTopics(bus, messages);
  } finally {
    await bus.close();
  }
  return `Kafka topic ${kafkaConfig.topics.input}`;
}

async function toRedis(config: Readonly<Config>, messages: TopicMessage[]): Promise<string> {
  const redisConfig = config.redis!;
  const redis = await connectRedis(redisConfig.url);
  try {
    for (const message of messages) await enqueueTopic(redis, redisConfig.topicQueue, message);
  } finally {
    await closeRedis(redis);
  }
  return `Redis list ${redisConfig.topicQueue}`;
}

async function add(title: string | undefined, flags: AddFlags): Promise<number> {
  const config = loadCliConfig();
  const topics = await gather(title, flags, config.conversation);
  if (!config.kafka && !config.redis) {
    throw usageError(
      'topics add',
      'a daemon receives topics through Kafka or Redis; set KAFKA_BOOTSTRAP_SERVERS or REDIS_URL (or use chimera generate)',
    );
  }
  const messages = topics.map((t) => t.message);
  const where = config.kafka
    ? await toKafka(config, cliLogger(config), messages)
    : await toRedis(config, messages);
  process.stdout.write(`enqueued ${messages.length} topic${messages.length === 1 ? '' : 's'} on ${where}\n`);
  return EXIT_OK;
}

export function registerTopics(program: Command): void {
  const topics = program
    .command('topics')
    .description('manage the topics the daemons take conversations from');
  topics
    .command('add')
    .description('queue topics for the daemons (Kafka input topic when configured, else the Redis queue)')
    .argument('[title]', 'the topic title')
    .option('--source <source>', 'where the topic comes from (e.g. hackernews)', nonBlank)
    .option('--url <url>', 'a link to the topic', nonBlank)
    .option('--id <id>', 'the topic id (default: derived from source, url and title)', nonBlank)
    .option('--file <file>', 'a file of topics: one title per line, or JSONL topic messages (- for stdin)')
    .addHelpText(
      'after',
      '\nThe same topic (same id) sent twice starts one conversation. Every topic is checked first;\n' +
        'nothing is queued when one is invalid.',
    )
    .action(async (title: string | undefined, flags: AddFlags) => {
      process.exitCode = await add(title, flags);
    });
}
