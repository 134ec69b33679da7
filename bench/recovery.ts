/**
 * Recovery time: a `chimera run` daemon holding 100 conversations, each with a model call in flight, is
 * killed with SIGKILL (nothing drained, no lease released). A second daemon on the same Redis adopts
 * them once their leases lapse. Measured from the kill: the time until every one of the 100 has a lease
 * held by the survivor (the goal: at most the lease TTL plus 2 s), the median of those times, and the
 * time until every one has also made a new turn (this includes one model call, whose latency is long on
 * purpose so that every conversation is mid-call when the first daemon dies).
 *
 *   node --import tsx bench/recovery.ts [--conversations=N] [--lease-ttl-s=N] [--latency-ms=N]
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { conversationIdFor } from '../src/events.js';
import { snapshotKeys } from '../src/services/redis/keys.js';
import { enqueueTopic } from '../src/services/redis/topic-queue.js';
import type { Daemon } from './support/children.js';
import { logDir, startCliDaemon } from './support/daemons.js';
import { cleanup, infra, runNames } from './support/infra.js';
import { intOption } from './support/options.js';
import { emit, type Figure, note, printTable } from './support/report.js';

const BENCH = 'recovery';
const GOAL_MARGIN_S = 2;

const sizes = {
  conversations: intOption('conversations', 100),
  leaseTtlS: intOption('lease-ttl-s', 5),
  /** Long enough that no conversation ends, and every one is mid-call, while recovery is measured. */
  latencyMs: intOption('latency-ms', 5000),
  timeoutS: intOption('timeout-s', 90),
};

const POLL_MS = 50;

interface Held {
  owner: string | null;
  status: string | null;
  turns: number;
}

async function readAll(redis: Redis, prefix: string, ids: readonly string[]): Promise<Held[]> {
  const keys = snapshotKeys(prefix);
  const pipeline = redis.pipeline();
  for (const id of ids) {
    pipeline.get(keys.lease(id));
    pipeline.hmget(keys.conversation(id), 'status', 'data');
  }
  const replies = (await pipeline.exec()) ?? [];
  return ids.map((_, i) => {
    const lease = replies[i * 2]?.[1] as string | null;
    const [status, data] = (replies[i * 2 + 1]?.[1] as [string | null, string | null]) ?? [null, null];
    const owner = lease ? (JSON.parse(lease) as { owner: string }).owner : null;
    const turns = data
      ? ((JSON.parse(data) as { snapshot?: { context?: { turns?: unknown[] } } }).snapshot?.context?.turns
          ?.length ?? 0)
      : 0;
    return { owner, status, turns };
  });
}

async function waitFor(what: string, condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function logSays(daemon: Daemon, text: string): Promise<boolean> {
  const { readFile } = await import('node:fs/promises');
  return (await readFile(daemon.logFile, 'utf8').catch(() => '')).includes(text);
}

export async function main(): Promise<Figure[]> {
  const services = await infra();
  const names = runNames(BENCH);
  const dir = logDir(names.id);
  const redis = new Redis(services.redisUrl);
  const daemons: Daemon[] = [];
  const figures: Figure[] = [];
  const env = {
    ...names.env,
    REDIS_URL: services.redisUrl,
    KAFKA_BOOTSTRAP_SERVERS: services.kafkaBrokers,
    CONVERSATION_PROVIDERS: 'simulated,simulated',
    SIMULATED_LATENCY_MS: String(sizes.latencyMs),
    MAX_CONVERSATION_TURNS: '10',
    MIN_CONVERSATION_TURNS: '10',
    MAX_CONCURRENT_CONVERSATIONS: String(sizes.conversations),
    LEASE_TTL_SECONDS: String(sizes.leaseTtlS),
    LOG_LEVEL: 'info',
  };
  try {
    const first = startCliDaemon({ ...env, INSTANCE_ID: 'bench-first' }, dir, 'first', [
      '--provider',
      'simulated',
    ]);
    daemons.push(first);
    const topicIds = Array.from({ length: sizes.conversations }, (_, i) => `recovery-${i}`);
    for (const id of topicIds) {
      await enqueueTopic(redis, names.env.REDIS_TOPIC_QUEUE!, {
        id,
        title: `Offshore wind and grid storage, case ${id}`,
      });
    }
    const ids = topicIds.map(conversationIdFor);
    await waitFor(
      `the first daemon to hold all ${ids.length} conversations`,
      async () =>
        (await readAll(redis, names.prefix, ids)).every(
          (h) => h.owner?.startsWith('bench-first') && h.status === 'active',
        ),
      sizes.timeoutS * 1000,
    );
    const survivor = startCliDaemon({ ...env, INSTANCE_ID: 'bench-survivor' }, dir, 'survivor', [
      '--provider',
      'simulated',
    ]);
    daemons.push(survivor);
    await waitFor(
      'the second daemon to start',
      () => logSays(survivor, 'chimera started'),
      sizes.timeoutS * 1000,
    );

    const before = await readAll(redis, names.prefix, ids);
    await first.kill();
    const killedAt = performance.now();
    note(`first daemon killed holding ${ids.length} conversations; waiting for the survivor`);

    const adoptedAt: Array<number | undefined> = ids.map(() => undefined);
    const progressedAt: Array<number | undefined> = ids.map(() => undefined);
    await waitFor(
      'every conversation adopted and progressing',
      async () => {
        const now = (performance.now() - killedAt) / 1000;
        const held = await readAll(redis, names.prefix, ids);
        held.forEach((h, i) => {
          const finished = h.status !== null && h.status !== 'active';
          if (adoptedAt[i] === undefined && (h.owner?.startsWith('bench-survivor') || finished))
            adoptedAt[i] = now;
          if (
            adoptedAt[i] !== undefined &&
            progressedAt[i] === undefined &&
            (h.turns > before[i]!.turns || finished)
          ) {
            progressedAt[i] = now;
          }
        });
        return progressedAt.every((t) => t !== undefined);
      },
      sizes.timeoutS * 1000,
    );
    const adopted = adoptedAt.map((t) => t!).sort((a, b) => a - b);
    const progressed = progressedAt.map((t) => t!).sort((a, b) => a - b);
    const allAdopted = adopted.at(-1)!;
    const goal = sizes.leaseTtlS + GOAL_MARGIN_S;
    const common = { conversations: ids.length, leaseTtlS: sizes.leaseTtlS, latencyMs: sizes.latencyMs };
    figures.push(
      emit({
        bench: BENCH,
        metric: 'all_adopted',
        value: allAdopted,
        unit: 's',
        goal: `<= ${goal}`,
        pass: allAdopted <= goal,
        ...common,
      }),
      emit({
        bench: BENCH,
        metric: 'median_adopted',
        value: adopted[Math.floor(adopted.length / 2)]!,
        unit: 's',
      }),
      emit({ bench: BENCH, metric: 'first_adopted', value: adopted[0]!, unit: 's' }),
      emit({
        bench: BENCH,
        metric: 'all_progressing',
        value: progressed.at(-1)!,
        unit: 's',
        modelLatencyS: sizes.latencyMs / 1000,
      }),
    );
  } finally {
    await Promise.all(daemons.map((d) => d.stop(5000)));
    await redis.quit();
    await cleanup(services, names);
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printTable('Recovery after SIGKILL', await main());
}
