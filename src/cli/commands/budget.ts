/**
 * `chimera budget show | set USD`: the spending cap every daemon on the Redis shares. `set` writes the cap
 * to Redis, where running daemons read it (they poll the budget's snapshot), so raising it resumes
 * conversations paused for budget without a restart. `MAX_SPEND_USD` applies at a daemon's start only
 * when it differs from the last configured value, so a restart does not undo `set`.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { Config } from '../../config.js';
import { capReachedIn } from '../../cost/budget-state.js';
import { formatUsd, parseUsdToMicros } from '../../cost/money.js';
import type { BudgetSnapshot } from '../../cost/ports.js';
import { RedisBudgetStore } from '../../cost/redis-budget-store.js';
import { closeRedis, connectRedis } from '../connect.js';
import { loadCliConfig } from '../context.js';
import { EXIT_OK, usageError } from '../errors.js';

/** A cap for `set`: dollars, or `none` for no cap. */
export function capArgument(value: string): number | null {
  const trimmed = value.trim().toLowerCase();
  if (trimmed === 'none' || trimmed === 'off') return null;
  const micros = parseUsdToMicros(trimmed.replace(/^\$/, ''));
  if (micros === null) {
    throw new InvalidArgumentError(
      'expected a non-negative amount of US dollars with at most 6 decimals (e.g. 25 or 12.50), or none',
    );
  }
  return micros;
}

function requireRedis(config: Readonly<Config>, command: string) {
  if (!config.redis) {
    throw usageError(
      command,
      'the shared cap lives in Redis; set REDIS_URL (or REDIS_HOST) to the one the daemons use (for chimera generate, set MAX_SPEND_USD)',
    );
  }
  return config.redis;
}

async function withBudget<T>(
  config: Readonly<Config>,
  command: string,
  run: (store: RedisBudgetStore) => Promise<T>,
): Promise<T> {
  const redisConfig = requireRedis(config, command);
  const redis = await connectRedis(redisConfig.url);
  const store = new RedisBudgetStore({ redis, keyPrefix: redisConfig.keyPrefix });
  try {
    return await run(store);
  } finally {
    await store.close();
    await closeRedis(redis);
  }
}

/** The snapshot as text for a terminal. */
export function formatBudget(snapshot: BudgetSnapshot): string {
  const lines: string[] = [];
  if (snapshot.capMicros === null) {
    lines.push(
      `cap: none; spent ${formatUsd(snapshot.spentMicros)}, ${formatUsd(snapshot.reservedMicros)} reserved by calls in flight`,
    );
  } else {
    const headroom = snapshot.capMicros - snapshot.spentMicros - snapshot.reservedMicros;
    const reached = capReachedIn(snapshot)
      ? snapshot.lastRefusal && headroom >= 1
        ? ` (cap reached: the last refused call needs ${formatUsd(snapshot.lastRefusal.worstCaseMicros)})`
        : ' (cap reached)'
      : '';
    lines.push(
      `cap: ${formatUsd(snapshot.capMicros)}; spent ${formatUsd(snapshot.spentMicros)}, ${formatUsd(snapshot.reservedMicros)} reserved, ` +
        `${formatUsd(Math.max(0, headroom))} left${reached}`,
    );
  }
  lines.push(`spent in the last hour: ${formatUsd(snapshot.spentLastHourMicros)}`);
  if (snapshot.spentBy.length > 0) {
    lines.push('spent by provider and model:');
    const width = Math.max(...snapshot.spentBy.map((s) => s.provider.length + s.model.length + 1));
    for (const s of snapshot.spentBy)
      lines.push(`  ${`${s.provider}/${s.model}`.padEnd(width)}  ${formatUsd(s.micros)}`);
  }
  lines.push(`calls in flight: ${snapshot.reservations}`);
  if (snapshot.expiredMicros > 0) {
    lines.push(
      `reservations that lapsed unsettled (calls of stopped daemons, maybe billed): ${formatUsd(snapshot.expiredMicros)}`,
    );
  }
  if (snapshot.overrunMicros > 0)
    lines.push(`spent beyond reservations: ${formatUsd(snapshot.overrunMicros)}`);
  return `${lines.join('\n')}\n`;
}

export function registerBudget(program: Command): void {
  const budget = program
    .command('budget')
    .description('the spending cap shared by every daemon on the Redis');
  budget
    .command('show')
    .description('the cap, what is spent (in total, in the last hour, by provider and model) and reserved')
    .option('--json', 'print the snapshot as JSON (amounts in micro-dollars)')
    .action(async (flags: { json?: boolean }) => {
      const config = loadCliConfig();
      const snapshot = await withBudget(config, 'budget show', (store) => store.snapshot());
      process.stdout.write(flags.json ? `${JSON.stringify(snapshot, null, 2)}\n` : formatBudget(snapshot));
      process.exitCode = EXIT_OK;
    });
  budget
    .command('set')
    .description('set the shared cap (running daemons see it within seconds); none removes it')
    .argument('<usd>', 'the cap in US dollars, or none', capArgument)
    .action(async (capMicros: number | null) => {
      const config = loadCliConfig();
      const snapshot = await withBudget(config, 'budget set', async (store) => {
        await store.setCap(capMicros);
        return store.snapshot();
      });
      const cap = capMicros === null ? 'none' : formatUsd(capMicros);
      process.stdout.write(`cap set to ${cap}; spent so far ${formatUsd(snapshot.spentMicros)}\n`);
      process.exitCode = EXIT_OK;
    });
}
