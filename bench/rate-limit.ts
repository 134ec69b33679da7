/**
 * Rate-limit utilisation: three `chimera run` daemons share the per-provider limits through Redis while
 * fake provider servers enforce a quota themselves (a 429 for every request beyond it in any sliding
 * minute). Each provider has a server of its own, as Anthropic and Gemini each have their own quota:
 * one server speaks the Anthropic protocol for the questioner side, one the Gemini protocol for the
 * answerer side, each enforcing `--quota-rpm` (600) requests and `--quota-tpm` tokens per minute, and the
 * daemons are told the same limits (ANTHROPIC_RPM, GEMINI_RPM, *_TPM). Enough topics wait in the Redis
 * queue to keep both quotas saturated for the whole run.
 *
 * Figures per provider, from the server's own request log over the steady window (from `--warmup-s`
 * after its first request to the end): answered requests per minute as a share of the quota, and the
 * 429s the server sent over the whole run, daemons' drain included.
 *
 * Two runs, one after the other: the daemons' limit equal to the quota, and the limit less the limiter's
 * burst and one request, for comparison. Chimera's GCRA lets `DEFAULT_REQUEST_BURST` requests go back to
 * back after an idle spell and pays for them within the minute (interval 60 s / (limit - burst)), so no
 * 60-second window of grants holds more than the limit; what is left to measure is whether calls reach the
 * server within the one interval of slack that leaves, and what the headroom run costs. The quick sizes
 * (30 s) end before the first full minute, so only the full run can show a 429.
 *
 *   node --import tsx bench/rate-limit.ts [--quick] [--duration-s=N] [--daemons=N] [--quota-rpm=N]
 *     [--quota-tpm=N] [--limits=600,596] [--latency-ms=N] [--concurrency=N]
 */
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { DEFAULT_REQUEST_BURST } from '../src/resilience/gcra.js';
import { enqueueTopic } from '../src/services/redis/topic-queue.js';
import { type FakeProviderServer, startFakeProviderServer } from '../tools/fake-provider/server.js';
import type { Daemon } from './support/children.js';
import { logDir, startCliDaemon } from './support/daemons.js';
import { cleanup, infra, runNames } from './support/infra.js';
import { intOption, option } from './support/options.js';
import { emit, type Figure, note, printTable } from './support/report.js';

const BENCH = 'rate-limit';
const GOAL_SHARE = 95;

const sizes = {
  durationS: intOption('duration-s', 120, 30),
  warmupS: intOption('warmup-s', 10, 5),
  daemons: intOption('daemons', 3),
  quotaRpm: intOption('quota-rpm', 600),
  /**
   * High enough that requests, not tokens, are the binding budget (the server charges a request's whole
   * JSON body at admission, about 1,000-3,000 tokens late in a conversation, more than the content
   * tokens the providers report and Chimera settles with).
   */
  quotaTpm: intOption('quota-tpm', 5_000_000),
  latencyMs: intOption('latency-ms', 100),
  /** Conversations per daemon: enough waiting turns that neither limiter ever idles. */
  concurrency: intOption('concurrency', 20),
};

/** The daemons' RPM per run: the quota itself, then the quota less the limiter's burst and one request. */
const limits = (option('limits') ?? `${sizes.quotaRpm},${sizes.quotaRpm - DEFAULT_REQUEST_BURST - 1}`)
  .split(',')
  .map((value) => {
    const limit = Number(value.trim());
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`--limits: expected whole numbers, got "${value}"`);
    return limit;
  });

const SIDES = ['anthropic', 'gemini'] as const;
type Side = (typeof SIDES)[number];

function sideEnv(servers: Record<Side, FakeProviderServer>, limitRpm: number): Record<string, string> {
  return {
    // Fake keys: the fake servers accept any, and they never reach a real provider.
    ANTHROPIC_API_KEY: 'sk-ant-bench-0000000000000000',
    ANTHROPIC_BASE_URL: servers.anthropic.urls.anthropic,
    GOOGLE_API_KEY: 'AIza-bench-00000000000000000000000',
    GOOGLE_GEMINI_BASE_URL: servers.gemini.urls.gemini,
    CONVERSATION_PROVIDERS: 'anthropic,gemini',
    ANTHROPIC_RPM: String(limitRpm),
    GEMINI_RPM: String(limitRpm),
    ANTHROPIC_TPM: String(sizes.quotaTpm),
    GEMINI_TPM: String(sizes.quotaTpm),
  };
}

/** Topics for the whole run and then some: a dry queue would read as a limiter that idles. */
function topicsNeeded(): number {
  const turnsPerMinute = sizes.quotaRpm * SIDES.length;
  return Math.ceil(((turnsPerMinute / 10) * sizes.durationS) / 60) * 2 + sizes.daemons * sizes.concurrency;
}

export async function main(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const limit of limits) figures.push(...(await runWithLimit(limit)));
  return figures;
}

async function runWithLimit(limitRpm: number): Promise<Figure[]> {
  const services = await infra();
  const names = runNames(BENCH);
  const dir = logDir(names.id);
  const servers = {} as Record<Side, FakeProviderServer>;
  for (const side of SIDES) {
    servers[side] = await startFakeProviderServer({
      latencyMs: sizes.latencyMs,
      quota: { rpm: sizes.quotaRpm, tpm: sizes.quotaTpm },
      maxLoggedRequests: 1_000_000,
    });
  }
  const redis = new Redis(services.redisUrl);
  const daemons: Daemon[] = [];
  const figures: Figure[] = [];
  try {
    const count = topicsNeeded();
    for (let i = 0; i < count; i++) {
      await enqueueTopic(redis, names.env.REDIS_TOPIC_QUEUE!, {
        id: `rl-${i}`,
        title: `The economics of grid-scale battery storage, case ${i}`,
      });
    }
    note(`limit ${limitRpm}/min: ${count} topics queued; starting ${sizes.daemons} daemons (logs in ${dir})`);
    const env = {
      ...names.env,
      ...sideEnv(servers, limitRpm),
      REDIS_URL: services.redisUrl,
      KAFKA_BOOTSTRAP_SERVERS: services.kafkaBrokers,
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: String(sizes.concurrency),
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < sizes.daemons; i++) {
      daemons.push(startCliDaemon({ ...env, INSTANCE_ID: `bench-daemon-${i}` }, dir, `daemon-${i}`));
    }
    const startedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, sizes.durationS * 1000));
    const endedAt = Date.now();
    // 429s count until the daemons are gone, their drain included.
    await Promise.all(daemons.map((d) => d.stop()));

    for (const side of SIDES) {
      const log = servers[side].requests().filter((r) => r.operation === 'generate');
      const first = log[0]?.at ?? startedAt;
      const from = first + sizes.warmupS * 1000;
      const windowMin = (endedAt - from) / 60_000;
      const answered = log.filter((r) => r.at >= from && r.at < endedAt && r.status === 200).length;
      const perMinute = answered / windowMin;
      const share = (perMinute / sizes.quotaRpm) * 100;
      const rejected = log.filter((r) => r.status === 429).length;
      const stats = servers[side].stats();
      figures.push(
        emit({
          bench: BENCH,
          variant: `${side}, limit ${limitRpm}`,
          metric: 'requests_per_min',
          value: perMinute,
          unit: 'req/min',
          quotaRpm: sizes.quotaRpm,
          limitRpm,
          windowS: Math.round(windowMin * 60),
          daemons: sizes.daemons,
        }),
        emit({
          bench: BENCH,
          variant: `${side}, limit ${limitRpm}`,
          metric: 'share_of_quota',
          value: share,
          unit: '%',
          goal: `>= ${GOAL_SHARE}`,
          pass: share >= GOAL_SHARE,
        }),
        emit({
          bench: BENCH,
          variant: `${side}, limit ${limitRpm}`,
          metric: 'rate_limited_429',
          value: rejected,
          unit: 'responses',
          goal: '0',
          pass: rejected === 0,
          quotaRejections: stats.quotaRejections,
          requests: stats.total,
        }),
      );
    }
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await redis.quit();
    for (const side of SIDES) await servers[side].close();
    await cleanup(services, names);
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  printTable('Rate-limit utilisation', await main());
}
