/**
 * `chimera status`: what the daemons share through Redis. Conversations by state (from the indexes),
 * the outbox backlog, per provider the last reported breaker state and the use of the shared rate
 * budget, and the batches out (batch mode). Redis is the only place these meet, so it is required.
 */
import type { Command } from 'commander';
import { type Config, PROVIDER_NAMES, type ProviderName } from '../../config.js';
import { capReachedIn } from '../../cost/budget-state.js';
import type { BudgetSnapshot } from '../../cost/ports.js';
import { RedisBudgetStore } from '../../cost/redis-budget-store.js';
import type { BreakerReport } from '../../events.js';
import type { ConversationStatus } from '../../services/ports.js';
import { RedisBatchStore } from '../../services/redis/batch-store.js';
import { RedisBreakerStateStore } from '../../services/redis/breaker-state-store.js';
import { eventStreamKey } from '../../services/redis/keys.js';
import { type RateLimitUse, readRateLimitUse } from '../../services/redis/rate-limit-use.js';
import { RedisSnapshotStore } from '../../services/redis/snapshot-store.js';
import { closeRedis, connectRedis } from '../connect.js';
import { loadCliConfig } from '../context.js';
import { EXIT_OK, usageError } from '../errors.js';
import { seconds } from '../output.js';
import { type BatchesOut, formatBatchesOut, readBatchesOut } from './batches.js';
import { formatBudget } from './budget.js';

export interface ProviderStatus {
  /** Null when no daemon has reported this provider's breaker. */
  breaker: BreakerReport | null;
  rateLimit: RateLimitUse;
}

export interface StatusReport {
  conversations: Record<ConversationStatus, number>;
  /** Batches out per provider, oldest first; providers without any are left out. */
  batches: BatchesOut;
  /** Events saved with their snapshot and not yet published on the event bus. */
  outbox: number;
  /** Where the outbox is relayed: Kafka when `KAFKA_BROKERS` is set, otherwise the Redis event streams. */
  eventBus: 'kafka' | 'redis streams';
  /**
   * Entries in the Redis event streams (Redis without Kafka: `<prefix>:stream:events` and
   * `<prefix>:stream:deadLetter`, each kept to about `REDIS_STREAM_MAX_LENGTH`); 0 when they are unused.
   */
  streams: { events: number; deadLetter: number };
  providers: Partial<Record<ProviderName, ProviderStatus>>;
  /** The spending cap and what was spent (in total, in the last hour, per provider and model). */
  budget: BudgetSnapshot;
  /** Spend is at or past the cap: intake stopped, conversations paused for budget. */
  capReached: boolean;
  keyPrefix: string;
  at: number;
}

/**
 * Providers worth showing: those this environment has credentials for, and any a daemon reported a
 * breaker for. The simulated provider, always available, only when a daemon uses it.
 */
function providersToShow(config: Readonly<Config>, reported: Record<string, BreakerReport>): ProviderName[] {
  return PROVIDER_NAMES.filter((name) =>
    name === 'simulated' ? name in reported : config.configuredProviders.includes(name) || name in reported,
  );
}

/** A report as `status` shows it: the machine snapshot is for a restarting daemon (breaker-restore.ts). */
function withoutSnapshot({ persisted: _snapshot, ...report }: BreakerReport): BreakerReport {
  return report;
}

async function collect(config: Readonly<Config>): Promise<StatusReport> {
  const redisConfig = config.redis!;
  const redis = await connectRedis(redisConfig.url);
  const store = new RedisSnapshotStore({
    redis,
    keyPrefix: redisConfig.keyPrefix,
    finishedTtlMs: config.finishedTtlMs,
  });
  try {
    const [conversations, outbox, events, deadLetter, breakers, budget] = await Promise.all([
      store.counts(),
      store.outboxSize(),
      redis.xlen(eventStreamKey(redisConfig.keyPrefix, 'events')),
      redis.xlen(eventStreamKey(redisConfig.keyPrefix, 'deadLetter')),
      new RedisBreakerStateStore(redis, redisConfig.keyPrefix).readAll(),
      new RedisBudgetStore({ redis, keyPrefix: redisConfig.keyPrefix }).snapshot(),
    ]);
    // Reached when spend and live reservations leave no room for a call: less headroom than the last
    // refused call needed (so conversations are paused for budget), or none at all.
    const capReached = capReachedIn(budget);
    const providers: StatusReport['providers'] = {};
    for (const name of providersToShow(config, breakers)) {
      const report = breakers[name];
      providers[name] = {
        breaker: report ? withoutSnapshot(report) : null,
        rateLimit: await readRateLimitUse(redis, redisConfig.keyPrefix, config.providers[name]),
      };
    }
    const at = Date.now();
    const batches = await readBatchesOut(new RedisBatchStore(redis, redisConfig.keyPrefix), at);
    return {
      conversations,
      batches,
      outbox,
      eventBus: config.kafka ? 'kafka' : 'redis streams',
      streams: { events, deadLetter },
      providers,
      budget,
      capReached,
      keyPrefix: redisConfig.keyPrefix,
      at,
    };
  } finally {
    await store.close();
    await closeRedis(redis);
  }
}

function number(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function breakerText(report: BreakerReport | null, now: number): string {
  if (!report) return 'breaker not reported';
  const open = report.state === 'open' && report.openedAt !== null;
  const probe = open ? `, probe in ${seconds(Math.max(0, report.openedAt! + report.cooldownMs - now))}` : '';
  return `breaker ${report.state}${probe} (${report.instance}, ${seconds(Math.max(0, now - report.since))} ago)`;
}

/** The report as text for a terminal. */
export function formatStatus(report: StatusReport): string {
  const c = report.conversations;
  const lines = [
    `conversations: ${c.active} active, ${c.ended} ended, ${c.failed} failed, ${c.timedOut} timed out`,
    `outbox: ${report.outbox} event${report.outbox === 1 ? '' : 's'} waiting for ${report.eventBus === 'kafka' ? 'Kafka' : 'the Redis event streams'}`,
  ];
  const { events, deadLetter } = report.streams;
  if (events > 0 || deadLetter > 0)
    lines.push(
      `redis streams: ${events} event${events === 1 ? '' : 's'}, ${deadLetter} dead letter${deadLetter === 1 ? '' : 's'}`,
    );
  const entries = Object.entries(report.providers) as Array<[ProviderName, ProviderStatus]>;
  lines.push(entries.length === 0 ? 'providers: none configured or reported' : 'providers:');
  for (const [name, status] of entries) {
    const { requests, tokens, penaltyMs } = status.rateLimit;
    const wait = Math.max(requests.waitMs, tokens.waitMs, penaltyMs);
    lines.push(
      `  ${name.padEnd(10)} ${breakerText(status.breaker, report.at)}; ` +
        `requests ${number(requests.inUse, 1)} in use (burst ${number(requests.burst)}, ${number(requests.perMinute)}/min), ` +
        `tokens ${number(tokens.inUse)} in use (${number(tokens.perMinute)}/min), next call waits ${seconds(wait)}`,
    );
  }
  if (report.capReached)
    lines.push(
      'SPENDING CAP REACHED: intake stopped, conversations paused (raise it: chimera budget set USD)',
    );
  lines.push(
    ...formatBudget(report.budget)
      .trimEnd()
      .split('\n')
      .map((line, i) => (i === 0 ? `spend: ${line}` : `  ${line}`)),
  );
  const batches = formatBatchesOut(report.batches);
  if (batches.length > 0) lines.push('batches out:', ...batches);
  return `${lines.join('\n')}\n`;
}

async function status(flags: { json?: boolean }): Promise<number> {
  const config = loadCliConfig();
  if (!config.redis) {
    throw usageError(
      'status',
      'the daemons share their state through Redis; set REDIS_URL (or REDIS_HOST) to the one they use',
    );
  }
  const report = await collect(config);
  process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  return EXIT_OK;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('conversations by state, breaker states, rate-limit use and outbox backlog, from Redis')
    .option('--json', 'print the report as JSON')
    .action(async (flags: { json?: boolean }) => {
      process.exitCode = await status(flags);
    });
}
