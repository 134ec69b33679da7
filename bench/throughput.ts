/**
 * Orchestration throughput (and the LangGraph.js peer in the same run).
 *
 * Conversations of MAX_CONVERSATION_TURNS = MIN_CONVERSATION_TURNS = 10 between two simulated providers
 * that answer at once, through the whole pipeline: intake, leases, a fenced snapshot write per step,
 * the outbox, and the relay to Kafka. A batch is timed from the first topic queued until every
 * conversation's final record is saved and the outbox is empty (every event acknowledged by the
 * broker). The same batch runs in embedded mode (no Redis, no Kafka), and as the same two-sided
 * conversation written with LangGraph.js (`StateGraph`) with the same number of conversations and
 * concurrency, once with `MemorySaver` and once with its durable `PostgresSaver` on the local PostgreSQL
 * server (`BENCH_POSTGRES_URL`). Each variant runs in a process of its own.
 *
 *   node --import tsx bench/throughput.ts [--quick] [--conversations=N] [--concurrency=N] [--rounds=N]
 *     [--warmup=N] [--variants=chimera-redis-kafka,chimera-embedded,langgraph,langgraph-postgres]
 */
import { fileURLToPath } from 'node:url';
import { runFigures } from './support/children.js';
import { type BatchResult, startChimeraBench } from './support/chimera-run.js';
import { cleanup, infra, runNames, topicMessageCount } from './support/infra.js';
import { buildPeerGraph, postgresCheckpointer, runPeer } from './support/langgraph-peer.js';
import { intOption, listOption, option } from './support/options.js';
import { emit, type Figure, note, printTable } from './support/report.js';
import { type ServerName, serverCpu, serverPids } from './support/server-cpu.js';

const BENCH = 'throughput';
const VARIANTS = ['chimera-redis-kafka', 'chimera-embedded', 'langgraph', 'langgraph-postgres'] as const;
type Variant = (typeof VARIANTS)[number];

/** Per process, with Redis and Kafka on the same two-core machine. */
const GOAL_TURNS_PER_S = 5000;
/** Chimera on Redis + Kafka against LangGraph.js on PostgreSQL, embedded Chimera against `MemorySaver`. */
const GOAL_SPEEDUP = 5;

const sizes = {
  conversations: intOption('conversations', 2000, 400),
  concurrency: intOption('concurrency', 100),
  turns: intOption('turns', 10),
  warmup: intOption('warmup', 300, 100),
  rounds: intOption('rounds', 3, 1),
};

interface Round {
  turns: number;
  wallMs: number;
  cpuMs: number;
  /** CPU milliseconds of the Redis server and the Kafka broker over the round (Redis + Kafka variant). */
  serverCpuMs?: Partial<Record<ServerName, number>>;
}

function median<R extends Round>(rounds: R[]): R {
  const sorted = [...rounds].sort((a, b) => a.turns / a.wallMs - b.turns / b.wallMs);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function emitRounds(variant: Variant, rounds: Round[], extra: Record<string, unknown>): void {
  const chosen = median(rounds);
  const turnsPerS = (chosen.turns / chosen.wallMs) * 1000;
  const isGoal = variant === 'chimera-redis-kafka';
  emit({
    bench: BENCH,
    variant,
    metric: 'turns_per_s',
    value: turnsPerS,
    unit: 'turns/s',
    ...(isGoal ? { goal: `>= ${GOAL_TURNS_PER_S}`, pass: turnsPerS >= GOAL_TURNS_PER_S } : {}),
    conversations: sizes.conversations,
    concurrency: sizes.concurrency,
    rounds: rounds.map((r) => Math.round((r.turns / r.wallMs) * 1000)),
    ...extra,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'cpu_ms_per_turn',
    value: chosen.cpuMs / chosen.turns,
    unit: 'ms',
  });
  // The servers' share of the cost of a turn: what the whole machine spends is the sum.
  for (const [server, ms] of Object.entries(chosen.serverCpuMs ?? {}))
    emit({
      bench: BENCH,
      variant,
      metric: 'cpu_ms_per_turn',
      process: server === 'redis' ? 'redis-server' : 'kafka-broker',
      value: ms / chosen.turns,
      unit: 'ms',
    });
  emit({
    bench: BENCH,
    variant,
    metric: 'turns_per_conversation',
    value: chosen.turns / sizes.conversations,
    unit: 'turns',
  });
}

async function runChimera(variant: 'chimera-redis-kafka' | 'chimera-embedded'): Promise<void> {
  const withInfra = variant === 'chimera-redis-kafka';
  const services = withInfra ? await infra() : undefined;
  const names = runNames(BENCH);
  const env: Record<string, string> = {
    ...names.env,
    MAX_CONVERSATION_TURNS: String(sizes.turns),
    MIN_CONVERSATION_TURNS: String(sizes.turns),
    MAX_CONCURRENT_CONVERSATIONS: String(sizes.concurrency),
    ...(services ? { REDIS_URL: services.redisUrl, KAFKA_BOOTSTRAP_SERVERS: services.kafkaBrokers } : {}),
  };
  const bench = await startChimeraBench({ env });
  try {
    note(`${variant}: warm-up with ${sizes.warmup} conversations`);
    await bench.batch(sizes.warmup, 'warmup');
    const rounds: Array<Round & BatchResult> = [];
    const pids = services ? serverPids(services.redisUrl) : {};
    for (let i = 1; i <= sizes.rounds; i++) {
      const servers = serverCpu(pids);
      const result: Round & BatchResult = await bench.batch(sizes.conversations, `round${i}`);
      if (services) result.serverCpuMs = servers.stop();
      note(
        `${variant}: round ${i}: ${result.turns} turns in ${Math.round(result.wallMs)} ms (${Math.round((result.turns / result.wallMs) * 1000)} turns/s)`,
      );
      rounds.push(result);
    }
    const chosen = median(rounds);
    const extra: Record<string, unknown> = { reasons: chosen.reasons, events: chosen.events };
    if (services) {
      // The relay counts what the broker acknowledged; the topic itself must hold exactly that many.
      extra.eventsOnKafka = await topicMessageCount(services.kafkaBrokers, env.KAFKA_TOPIC_EVENTS!);
      extra.eventsRelayed = bench.chimera.parts.relay.delivered;
    }
    emitRounds(variant, rounds, extra);
  } finally {
    await bench.stop();
    if (services) await cleanup(services, names);
  }
}

async function runLangGraph(variant: 'langgraph' | 'langgraph-postgres'): Promise<void> {
  const durable =
    variant === 'langgraph-postgres' ? await postgresCheckpointer('chimera_bench_peer') : undefined;
  try {
    const graph = buildPeerGraph({ maxTurns: sizes.turns, checkpointer: durable?.saver });
    const topic = (i: number) => `grid-scale batteries and the economics of storage, part ${i}`;
    note(`${variant}: warm-up with ${sizes.warmup} conversations`);
    await runPeer(graph, sizes.warmup, sizes.concurrency, 'warmup', topic);
    const rounds: Round[] = [];
    for (let i = 1; i <= sizes.rounds; i++) {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const turns = await runPeer(graph, sizes.conversations, sizes.concurrency, `round${i}`, topic);
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      note(`${variant}: round ${i}: ${turns} turns in ${Math.round(wallMs)} ms`);
      rounds.push({ turns, wallMs, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
    emitRounds(variant, rounds, durable ? { checkpointer: 'PostgresSaver (PostgreSQL 15, local)' } : {});
  } finally {
    await durable?.close();
  }
}

async function runVariant(variant: Variant): Promise<void> {
  if (variant === 'langgraph' || variant === 'langgraph-postgres') await runLangGraph(variant);
  else await runChimera(variant);
}

function turnsPerS(figures: Figure[], variant: Variant): number | undefined {
  return figures.find((f) => f.variant === variant && f.metric === 'turns_per_s')?.value;
}

/** Every chosen variant in a child process of its own, then the ratios. */
export async function main(): Promise<Figure[]> {
  const variants = listOption('variants', VARIANTS) as Variant[];
  const self = fileURLToPath(import.meta.url);
  const figures: Figure[] = [];
  for (const variant of variants)
    figures.push(...(await runFigures(self, [...process.argv.slice(2), `--variant=${variant}`])));
  // Like for like: the durable Chimera against the durable peer, the in-memory one against `MemorySaver`.
  const pairs = [
    ['chimera-redis-kafka', 'langgraph-postgres'],
    ['chimera-embedded', 'langgraph'],
    ['chimera-redis-kafka', 'langgraph'],
  ] as const;
  for (const [variant, peerVariant] of pairs) {
    const ours = turnsPerS(figures, variant);
    const peer = turnsPerS(figures, peerVariant);
    if (peer === undefined || ours === undefined) continue;
    const ratio = ours / peer;
    const isGoal = peerVariant !== 'langgraph' || variant === 'chimera-embedded';
    figures.push(
      emit({
        bench: BENCH,
        variant: `${variant} / ${peerVariant}`,
        metric: 'speedup',
        value: ratio,
        unit: 'x',
        ...(isGoal ? { goal: `>= ${GOAL_SPEEDUP}`, pass: ratio >= GOAL_SPEEDUP } : {}),
      }),
    );
  }
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const variant = option('variant');
  if (variant) {
    if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown variant ${variant}`);
    await runVariant(variant as Variant);
  } else {
    printTable('Orchestration throughput', await main());
  }
}
