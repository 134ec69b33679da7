/**
 * `chimera judge`: runs the judge (`JUDGE_PROVIDER`) over finished conversations that have no judgement
 * yet (or over all of them, `--all`), from the Redis finished index or a JSONL file of full records, and
 * writes every record read, the newly judged ones with `quality.judge` filled in, as chimera-format JSONL.
 * The judge's calls go through the same rate limiter, breaker and retries as a daemon's.
 */
import { access } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { buildProviders } from '../../app/providers.js';
import type { Config, JudgeConfig } from '../../config.js';
import { ConfigError } from '../../errors.js';
import type { ConversationRecord, JudgeVerdict } from '../../events.js';
import { readRecordsFromFile } from '../../export/file-reader.js';
import { readRecordsFromRedis } from '../../export/redis-reader.js';
import { isJudgeFailedError, judgeConversation } from '../../judge/run.js';
import { createMetrics } from '../../metrics.js';
import { MemoryBreakerStateStore } from '../../services/memory/breaker-state-store.js';
import { type LlmProvider, systemClock } from '../../services/ports.js';
import { closeRedis, connectRedis } from '../connect.js';
import { cliLogger, loadCliConfig } from '../context.js';
import { EXIT_OK, usageError } from '../errors.js';
import { openOutput } from '../output.js';

interface JudgeFlags {
  from: string;
  out?: string;
  all?: boolean;
}

/** Whether a record gets a (new) judgement: a conversation that ended with turns, and not judged yet. */
export function needsJudging(record: ConversationRecord, all: boolean): boolean {
  if (record.status !== 'ended' || record.turns.length === 0) return false;
  return all || record.quality.judge?.status !== 'judged';
}

/** One record's judgement: the verdict, or the unjudged verdict the judge failed with. */
export async function judgeRecord(
  record: ConversationRecord,
  judge: { provider: LlmProvider; config: JudgeConfig },
): Promise<JudgeVerdict> {
  try {
    return await judgeConversation(
      { conversationId: record.conversationId, topicTitle: record.topic.title, turns: record.turns },
      {
        provider: judge.provider,
        providerName: judge.config.provider,
        model: judge.config.model,
        maxAttempts: judge.config.maxAttempts,
        maxTokens: judge.config.maxTokens,
        maxTranscriptChars: judge.config.maxTranscriptChars,
        clock: systemClock,
      },
    );
  } catch (error) {
    if (isJudgeFailedError(error)) return error.verdict;
    throw error;
  }
}

async function checkFlags(flags: JudgeFlags, config: Readonly<Config>): Promise<JudgeConfig> {
  if (!config.judge) {
    throw new ConfigError(
      'JUDGE_PROVIDER',
      'chimera judge needs a judge: set JUDGE_PROVIDER to a configured provider',
    );
  }
  if (flags.from === 'redis') {
    if (!config.redis) throw usageError('--from', 'redis needs REDIS_URL (or REDIS_HOST) to be set');
    return config.judge;
  }
  try {
    await access(flags.from);
  } catch {
    throw usageError(
      '--from',
      `expected redis or a readable JSONL file of chimera records (got "${flags.from}")`,
    );
  }
  return config.judge;
}

async function runJudge(flags: JudgeFlags): Promise<number> {
  const config = loadCliConfig();
  const judgeConfig = await checkFlags(flags, config);
  const logger = cliLogger(config);
  let redis: Redis | undefined;
  const output = await openOutput(flags.out);
  const tally = { judged: 0, unjudged: 0, kept: 0, unreadable: 0 };
  let stopBreakers = () => {};
  try {
    if (flags.from === 'redis') redis = await connectRedis(config.redis!.url);
    // The rate limits are shared with the daemons through Redis when there is one.
    const providers = await buildProviders(
      config,
      { redis, breakerStates: new MemoryBreakerStateStore() },
      { logger, clock: systemClock, metrics: createMetrics(new Registry()), sides: [judgeConfig.provider] },
    );
    stopBreakers = () => {
      for (const breaker of providers.breakers.values()) breaker.stop();
    };
    const judge = { provider: providers.judge!, config: judgeConfig };
    const onRecord = async (record: ConversationRecord) => {
      let out = record;
      if (needsJudging(record, flags.all ?? false)) {
        const verdict = await judgeRecord(record, judge);
        tally[verdict.status === 'judged' ? 'judged' : 'unjudged'] += 1;
        out = { ...record, quality: { ...record.quality, judge: verdict } };
      } else {
        tally.kept += 1;
      }
      await output.write(`${JSON.stringify(out)}\n`);
    };
    if (redis) {
      const result = await readRecordsFromRedis({
        redis,
        keyPrefix: config.redis!.keyPrefix,
        statuses: ['ended'],
        onRecord,
      });
      tally.unreadable = result.unreadable;
    } else {
      tally.unreadable = (await readRecordsFromFile(flags.from, onRecord)).unreadable;
    }
  } finally {
    stopBreakers();
    await output.close();
    if (redis) await closeRedis(redis);
  }
  const unreadable = tally.unreadable > 0 ? `, ${tally.unreadable} unreadable skipped` : '';
  process.stderr.write(
    `judged ${tally.judged} conversations (${tally.unjudged} left unjudged, ${tally.kept} passed through unchanged${unreadable})\n`,
  );
  return EXIT_OK;
}

export function registerJudge(program: Command): void {
  program
    .command('judge')
    .description('score finished conversations against the rubric with the judge (JUDGE_PROVIDER)')
    .requiredOption('--from <source>', 'redis (the finished index) or a JSONL file of chimera records')
    .option('--out <file>', 'write the records here instead of stdout')
    .option('--all', 'judge again conversations that already have a judgement')
    .addHelpText(
      'after',
      '\nEvery record read is written out as chimera-format JSONL; the conversations without a judgement\n' +
        '(or all, with --all) get quality.judge filled in. A judge failure leaves a record unjudged, with\n' +
        'the reason, and goes on with the next one. A summary line goes to stderr.',
    )
    .action(async (flags: JudgeFlags) => {
      process.exitCode = await runJudge(flags);
    });
}
