/**
 * Concurrency and memory at scale: 10,000 conversations in flight at once, each model call taking 5 s
 * (and, as a stress row, 500 ms). If nothing but the model took time, every conversation would finish one
 * call per latency: the ideal is in-flight / latency = 2,000 calls per second at 5 s, 20,000 at 500 ms.
 * Filling up is the admission figure: new conversations started per second from a backlog of queued
 * topics, and how many are in flight after 10 s (the goal: all 10,000). The run fills up to the target in flight (new topics
 * are queued as conversations end, so the number stays up), then measures a steady window: completed
 * model calls per second against the ideal, the mean number actually in flight, and the peak resident
 * set size (sampled every 100 ms). The same for Chimera on Redis and Kafka, Chimera embedded, and the
 * LangGraph.js peer, each in a process of its own. A run ends abruptly after the window (a crash stop;
 * draining 10,000 conversations would measure something else).
 *
 *   node --import tsx bench/concurrency.ts [--quick] [--in-flight=N] [--latency-ms=5000,500] [--steady-s=N]
 *     [--ramp-s=N] [--variants=chimera-redis-kafka,chimera-embedded,langgraph]
 */

import { setMaxListeners } from 'node:events';
import { fileURLToPath } from 'node:url';
import { runFigures } from './support/children.js';
import { startChimeraBench } from './support/chimera-run.js';
import { cleanup, infra, runNames } from './support/infra.js';
import { buildPeerGraph } from './support/langgraph-peer.js';
import { MIB, sampleRss } from './support/memory.js';
import { intOption, listOption, option } from './support/options.js';
import { emit as emitFigure, type Figure, note, printTable } from './support/report.js';

const BENCH = 'concurrency';
const VARIANTS = ['chimera-redis-kafka', 'chimera-embedded', 'langgraph'] as const;
type Variant = (typeof VARIANTS)[number];

const GOAL_SHARE_OF_IDEAL = 90;
const GOAL_RSS_MIB = 1024;
/** Admission: new conversations started per second while filling, and the whole target in flight within this. */
const GOAL_ADMISSIONS_PER_S = 1000;
const ADMISSION_GOAL_S = 10;

/**
 * Model latencies, one row each: 5 s (the scale of real providers' replies: the goal's row) and 500 ms (a
 * stress row, ten times the calls per conversation in flight). `--latency-ms=5000,500`; a child process
 * measures one.
 */
const LATENCIES_MS = latencyList();

function latencyList(): number[] {
  const raw = option('latency-ms') ?? '5000,500';
  return raw.split(',').map((item) => {
    const value = Number(item.trim());
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`--latency-ms: expected whole numbers of milliseconds, got "${raw}"`);
    return value;
  });
}

const sizes = {
  inFlight: intOption('in-flight', 10_000),
  latencyMs: LATENCIES_MS[0]!,
  turns: intOption('turns', 10),
  steadyS: intOption('steady-s', 25, 10),
  /** Longest wait for the in-flight target before the window starts anyway. */
  rampS: intOption('ramp-s', 60, 30),
};

const SAMPLE_MS = 100;

/** Every figure says which latency row it belongs to. */
function emit(figure: Figure): Figure {
  return emitFigure({ ...figure, latencyMs: sizes.latencyMs });
}

/** What a variant exposes to the measuring loop. */
interface Subject {
  /** Completed model calls so far. */
  calls(): number;
  /** Conversations in flight now. */
  inFlight(): number;
  /**
   * Conversations given up since start because their lease lapsed (an event loop stalled past the lease
   * renewal): each is adopted again and its in-flight call re-run. Undefined where there are no leases.
   */
  lost?(): number;
  /** Conversations started since start (in flight now plus those that ended). */
  started?(): number;
  /** Keeps work queued so the in-flight count stays at the target. */
  topUp(): Promise<void>;
  /** Ends the run at once. */
  end(): Promise<void>;
}

async function measure(variant: Variant, subject: Subject): Promise<void> {
  const rss = sampleRss(SAMPLE_MS);
  const startedAt = performance.now();
  const target = Math.floor(sizes.inFlight * 0.98);
  note(`${variant}: filling up to ${sizes.inFlight} conversations in flight`);
  // In flight when the admission goal's 10 s have passed (the goal: the whole target by then).
  let inFlightAtGoal: number | undefined;
  // The CPU of starting conversations alone: until the first model call completes, starting is all the
  // process does (sampled with the in-flight count, so it is the figure of the last sample before).
  const cpuAtStart = process.cpuUsage();
  let startCost: { cpuMs: number; started: number } | undefined;
  let lastSample = { cpuMs: 0, started: 0 };
  while (subject.inFlight() < target && performance.now() - startedAt < sizes.rampS * 1000) {
    await subject.topUp();
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    if (inFlightAtGoal === undefined && performance.now() - startedAt >= ADMISSION_GOAL_S * 1000)
      inFlightAtGoal = subject.inFlight();
    if (!startCost && subject.calls() > 0) startCost = lastSample;
    const cpu = process.cpuUsage(cpuAtStart);
    lastSample = {
      cpuMs: (cpu.user + cpu.system) / 1000,
      started: subject.started?.() ?? subject.inFlight(),
    };
  }
  startCost ??= lastSample;
  const rampS = (performance.now() - startedAt) / 1000;
  inFlightAtGoal ??= subject.inFlight();
  // New conversations per second while filling: every conversation started, not only those still in flight.
  const admissionRate = (subject.started?.() ?? subject.inFlight()) / rampS;
  const filled = subject.inFlight() >= target;
  note(
    `${variant}: ${subject.inFlight()} in flight after ${rampS.toFixed(1)} s; measuring ${sizes.steadyS} s`,
  );

  const callsBefore = subject.calls();
  const cpuBefore = process.cpuUsage();
  const windowStart = performance.now();
  let inFlightSum = 0;
  // How late each 100 ms sampling timer fired: the event loop's delay as any timer (a lease renewal) sees it.
  const delays: number[] = [];
  while (performance.now() - windowStart < sizes.steadyS * 1000) {
    await subject.topUp();
    const asleep = performance.now();
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
    delays.push(Math.max(0, performance.now() - asleep - SAMPLE_MS));
    inFlightSum += subject.inFlight();
  }
  const windowS = (performance.now() - windowStart) / 1000;
  const calls = subject.calls() - callsBefore;
  const cpu = process.cpuUsage(cpuBefore);
  const peakRss = rss.peak;
  const lost = subject.lost?.();
  rss.stop();
  await subject.end();

  const rate = calls / windowS;
  const ideal = sizes.inFlight / (sizes.latencyMs / 1000);
  const meanInFlight = inFlightSum / Math.max(1, delays.length);
  delays.sort((a, b) => a - b);
  const share = (rate / ideal) * 100;
  const common = { inFlightTarget: sizes.inFlight, latencyMs: sizes.latencyMs, windowS: Math.round(windowS) };
  emit({
    bench: BENCH,
    variant,
    metric: 'calls_per_s',
    value: rate,
    unit: 'calls/s',
    idealPerS: ideal,
    ...common,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'share_of_ideal',
    value: share,
    unit: '%',
    goal: `>= ${GOAL_SHARE_OF_IDEAL}`,
    pass: share >= GOAL_SHARE_OF_IDEAL,
  });
  emit({ bench: BENCH, variant, metric: 'mean_in_flight', value: meanInFlight, unit: 'conversations' });
  emit({ bench: BENCH, variant, metric: 'fill_time', value: rampS, unit: 's', filled });
  emit({
    bench: BENCH,
    variant,
    metric: 'admission_rate',
    value: admissionRate,
    unit: 'conversations/s',
    goal: `>= ${GOAL_ADMISSIONS_PER_S}`,
    pass: admissionRate >= GOAL_ADMISSIONS_PER_S,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'cpu_ms_per_start',
    value: startCost.cpuMs / Math.max(1, startCost.started),
    unit: 'ms',
    started: startCost.started,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'in_flight_at_10s',
    value: inFlightAtGoal,
    unit: 'conversations',
    goal: `>= ${target}`,
    pass: inFlightAtGoal >= target,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'peak_rss',
    value: peakRss / MIB,
    unit: 'MiB',
    goal: `< ${GOAL_RSS_MIB}`,
    pass: peakRss / MIB < GOAL_RSS_MIB,
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'cpu_ms_per_call',
    value: (cpu.user + cpu.system) / 1000 / Math.max(1, calls),
    unit: 'ms',
  });
  emit({
    bench: BENCH,
    variant,
    metric: 'timer_delay_p99',
    value: delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.99))] ?? 0,
    unit: 'ms',
    max: delays.at(-1) ?? 0,
  });
  if (lost !== undefined)
    emit({ bench: BENCH, variant, metric: 'conversations_lost', value: lost, unit: 'conversations' });
}

async function runChimera(variant: 'chimera-redis-kafka' | 'chimera-embedded'): Promise<void> {
  const services = variant === 'chimera-redis-kafka' ? await infra() : undefined;
  const names = runNames(BENCH);
  const bench = await startChimeraBench({
    latencyMs: sizes.latencyMs,
    env: {
      ...names.env,
      MAX_CONVERSATION_TURNS: String(sizes.turns),
      MIN_CONVERSATION_TURNS: String(sizes.turns),
      MAX_CONCURRENT_CONVERSATIONS: String(sizes.inFlight),
      ...(services ? { REDIS_URL: services.redisUrl, KAFKA_BOOTSTRAP_SERVERS: services.kafkaBrokers } : {}),
    },
  });
  let queued = 0;
  // Enough waiting topics that intake never runs dry, few enough that they do not weigh on memory.
  const backlog = Math.max(500, Math.floor(sizes.inFlight / 10));
  try {
    await measure(variant, {
      calls: () => bench.provider.completed,
      inFlight: () => bench.chimera.active,
      started: () => {
        const { active, settled, lost, crashed } = bench.chimera.supervision;
        return active + settled + lost + crashed;
      },
      lost: () => bench.chimera.parts.supervisor.getSnapshot().context.lost,
      async topUp() {
        // Topics queued but not started yet; the supervisor's cap keeps in-flight at the target.
        const waiting = queued - bench.finished - bench.chimera.active;
        const count = backlog - waiting;
        if (count > 0) {
          await bench.queue(count, 'c');
          queued += count;
        }
      },
      end: () => bench.kill(),
    });
  } finally {
    if (services) await cleanup(services, names);
  }
}

async function runLangGraph(): Promise<void> {
  let calls = 0;
  let active = 0;
  const graph = buildPeerGraph({ maxTurns: sizes.turns, latencyMs: sizes.latencyMs, onReply: () => calls++ });
  const stop = new AbortController();
  // Every in-flight invocation listens to the one signal that ends the run.
  setMaxListeners(0, stop.signal);
  let serial = 0;
  const lane = async () => {
    while (!stop.signal.aborted) {
      serial += 1;
      active += 1;
      try {
        await graph.converse(`t-${serial}`, `grid-scale batteries, part ${serial}`, stop.signal);
      } catch (error) {
        if (!stop.signal.aborted) throw error;
      } finally {
        active -= 1;
      }
    }
  };
  const lanes: Promise<void>[] = [];
  let started = false;
  await measure('langgraph', {
    calls: () => calls,
    inFlight: () => active,
    async topUp() {
      if (started) return;
      started = true;
      for (let i = 0; i < sizes.inFlight; i++) lanes.push(lane());
    },
    async end() {
      stop.abort();
      await Promise.allSettled(lanes);
    },
  });
}

export async function main(): Promise<Figure[]> {
  const variants = listOption('variants', VARIANTS) as Variant[];
  const self = fileURLToPath(import.meta.url);
  const figures: Figure[] = [];
  const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--latency-ms'));
  for (const latencyMs of LATENCIES_MS)
    for (const variant of variants)
      figures.push(
        ...(await runFigures(self, [...args, `--latency-ms=${latencyMs}`, `--variant=${variant}`])),
      );
  return figures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const variant = option('variant');
  if (variant) {
    if (!(VARIANTS as readonly string[]).includes(variant)) throw new Error(`unknown variant ${variant}`);
    // Exits without waiting for what a crash stop leaves behind (timers of abandoned actors).
    await runVariantThenExit(variant as Variant);
  } else {
    printTable('Concurrency and memory', await main());
  }
}

async function runVariantThenExit(variant: Variant): Promise<void> {
  if (variant === 'langgraph') await runLangGraph();
  else await runChimera(variant);
  process.exit(0);
}
