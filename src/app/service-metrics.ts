/**
 * Metrics of the running service beyond the provider calls (those are in `src/metrics.ts`): conversations
 * by state and termination reason, turns, tokens and turn latency, the outbox backlog; and, for a daemon,
 * the Node.js process (event-loop lag, memory, GC). Kept outside the pure machines: it listens to the
 * finished records and the supervisor's snapshots, and samples the store when Prometheus scrapes.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import type { Actor } from 'xstate';
import type { ConversationRecord } from '../events.js';
import type { SupervisorMachine } from '../machines/supervisor.js';
import type { ConversationStatus, SnapshotStore } from '../services/ports.js';

export interface ServiceMetricsOptions {
  registry: Registry;
  /** Subscribes to final records once they are saved; returns the unsubscribe. */
  onFinished(listener: (record: ConversationRecord) => void): () => void;
  supervisor: Pick<Actor<SupervisorMachine>, 'getSnapshot' | 'subscribe'>;
  store: Pick<SnapshotStore, 'outboxSize' | 'counts'>;
  /**
   * Longest a scrape waits for the store (outbox length, counts by status); past it the last sample is
   * reported, so a slow Redis slows no scrape beyond this.
   * @default DEFAULT_SAMPLE_TIMEOUT_MS
   */
  sampleTimeoutMs?: number;
}

/** Well inside Prometheus' default 10 s scrape timeout. */
export const DEFAULT_SAMPLE_TIMEOUT_MS = 1_000;

const STATUSES: readonly ConversationStatus[] = ['active', 'ended', 'failed', 'timedOut'];

/**
 * Node.js process metrics (event-loop lag from `monitorEventLoopDelay`, heap, GC, handles) on `registry`,
 * once per registry.
 */
export function collectProcessMetrics(registry: Registry): void {
  if (registry.getSingleMetric('nodejs_eventloop_lag_seconds')) return;
  collectDefaultMetrics({ register: registry });
}

/** The counter `name` of `registry`, made on the first call (every metric exists once per registry). */
function counterOnce<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

/**
 * `chimera_conversation_crashes_total{outcome}`: conversation actors that crashed, by what followed
 * (`released`: given back to be adopted again; `failed`: saved as failed, reason `crashed`). Once per registry.
 */
export function conversationCrashCounter(registry: Registry): Counter<'outcome'> {
  return counterOnce(
    registry,
    'chimera_conversation_crashes_total',
    'Conversation actors that crashed, by outcome (released to be adopted again, or failed)',
    ['outcome'],
  );
}

/**
 * `chimera_intake_failures_total{source,outcome}`: topic messages whose admission failed (the dead-letter
 * publish or the claim store threw), by source and what followed (`retry`: given back, the source pauses;
 * `parked`: set aside in the parked stream after `INTAKE_MAX_ATTEMPTS`). Once per registry.
 */
export function intakeFailureCounter(registry: Registry): Counter<'source' | 'outcome'> {
  return counterOnce(
    registry,
    'chimera_intake_failures_total',
    'Topic messages whose admission failed, by source and outcome (retry or parked)',
    ['source', 'outcome'],
  );
}

/**
 * `chimera_redis_replica_wait_shortfalls_total`: waits for `REDIS_WAIT_REPLICAS` replicas that ended with
 * fewer within `REDIS_WAIT_TIMEOUT_MS`. Once per registry.
 */
export function replicaShortfallCounter(registry: Registry): Counter {
  return counterOnce(
    registry,
    'chimera_redis_replica_wait_shortfalls_total',
    'Waits for REDIS_WAIT_REPLICAS Redis replicas that ended with fewer within REDIS_WAIT_TIMEOUT_MS (topics wait for a later step, events are published without waiting)',
  );
}

/**
 * `chimera_outbox_events_too_large_total`: events the bus refused as too large, parked in the parked
 * stream instead of blocking the outbox. Once per registry.
 */
export function tooLargeEventCounter(registry: Registry): Counter {
  return counterOnce(
    registry,
    'chimera_outbox_events_too_large_total',
    'Events the bus refused as too large, parked instead of delivered',
  );
}

/**
 * Reads a value from the store at most once at a time: a scrape that comes while the last read is still
 * pending waits on that read (bounded by the timeout) instead of piling another command on a slow Redis.
 */
function sampler<T>(read: () => Promise<T>, timeoutMs: number): () => Promise<T | undefined> {
  let last: T | undefined;
  let pending: Promise<void> | undefined;
  return async () => {
    pending ??= read()
      .then((value) => {
        last = value;
      })
      .catch(() => {})
      .finally(() => {
        pending = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([pending, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    return last;
  };
}

export interface ServiceMetrics {
  /** Stops listening to the service (the metrics stay registered with their last values). */
  stop(): void;
}

/** Registers the conversation and outbox metrics of one service. */
export function instrumentService(options: ServiceMetricsOptions): ServiceMetrics {
  const { registry, supervisor, store } = options;
  const timeoutMs = options.sampleTimeoutMs ?? DEFAULT_SAMPLE_TIMEOUT_MS;
  const registers = [registry];

  new Gauge({
    name: 'chimera_conversations_active',
    help: 'Conversations this process runs now',
    registers,
    collect() {
      this.set(supervisor.getSnapshot().context.active);
    },
  });

  const counts = sampler(() => store.counts(), timeoutMs);
  new Gauge({
    name: 'chimera_conversations_stored',
    help: 'Conversations in the store by status, across every daemon sharing it (sampled at scrape)',
    labelNames: ['status'],
    registers,
    async collect() {
      const sample = await counts();
      if (!sample) return;
      for (const status of STATUSES) this.set({ status }, sample[status]);
    },
  });

  const outbox = sampler(() => store.outboxSize(), timeoutMs);
  new Gauge({
    name: 'chimera_outbox_backlog',
    help: 'Events saved but not yet delivered to the event bus (sampled at scrape)',
    registers,
    async collect() {
      const size = await outbox();
      if (size !== undefined) this.set(size);
    },
  });

  const outcomes = new Counter({
    name: 'chimera_supervisor_conversations_total',
    help: 'Conversations this process stopped running, by outcome: settled (finished and saved), lost (another owner took it), crashed',
    labelNames: ['outcome'],
    registers,
  });
  const seen = { settled: 0, lost: 0, crashed: 0 };
  for (const outcome of Object.keys(seen)) outcomes.inc({ outcome }, 0);
  const supervision = supervisor.subscribe((snapshot) => {
    for (const outcome of ['settled', 'lost', 'crashed'] as const) {
      const now = snapshot.context[outcome];
      if (now > seen[outcome]) outcomes.inc({ outcome }, now - seen[outcome]);
      seen[outcome] = now;
    }
  });

  // Finished records carry every turn: each conversation is counted once, by the daemon that finished it,
  // so sums across a fleet are right even when conversations move between daemons.
  const finished = new Counter({
    name: 'chimera_conversations_finished_total',
    help: 'Finished conversations by status and termination reason',
    labelNames: ['status', 'reason'],
    registers,
  });
  const turns = new Counter({
    name: 'chimera_turns_total',
    help: 'Turns of finished conversations, by provider and speaker',
    labelNames: ['provider', 'speaker'],
    registers,
  });
  const tokens = new Counter({
    name: 'chimera_conversation_tokens_total',
    help: 'Tokens of the turns of finished conversations, by provider and kind (input, output)',
    labelNames: ['provider', 'kind'],
    registers,
  });
  const turnLatency = new Histogram({
    name: 'chimera_turn_latency_seconds',
    help: 'Time to generate one turn, retries and rate-limit waits included',
    labelNames: ['provider'],
    // A turn is one model call or a few with retries: from under a second to minutes.
    buckets: [0.05, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300],
    registers,
  });
  const turnsPerConversation = new Histogram({
    name: 'chimera_conversation_turns',
    help: 'Turns per finished conversation',
    buckets: [1, 2, 4, 6, 8, 10, 15, 20, 30, 50, 100],
    registers,
  });
  const duration = new Histogram({
    name: 'chimera_conversation_duration_seconds',
    help: 'Time from the start of a conversation to its end',
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers,
  });

  function record(conversation: ConversationRecord): void {
    finished.inc({ status: conversation.status, reason: conversation.terminationReason });
    turnsPerConversation.observe(conversation.turns.length);
    duration.observe(Math.max(0, conversation.endedAt - conversation.startedAt) / 1000);
    for (const turn of conversation.turns) {
      turns.inc({ provider: turn.provider, speaker: turn.speaker });
      tokens.inc({ provider: turn.provider, kind: 'input' }, turn.usage.inputTokens);
      tokens.inc({ provider: turn.provider, kind: 'output' }, turn.usage.outputTokens);
      turnLatency.observe({ provider: turn.provider }, turn.latencyMs / 1000);
    }
  }
  const unsubscribe = options.onFinished(record);

  return {
    stop() {
      unsubscribe();
      supervision.unsubscribe();
    },
  };
}
