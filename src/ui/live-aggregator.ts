/**
 * The dashboard's view of a running service, built from what the service already emits and nothing else:
 * XState inspection events (every conversation actor's snapshots and events), finished records, and a
 * periodic sample of the metrics registry and the store. Pure: no I/O, time from an injected clock, so it
 * is tested by feeding it events.
 *
 * Memory is bounded: the conversations in flight (bounded by the service's concurrency), a ring of recent
 * finished conversations, a bounded event history per conversation, and fixed-size time buckets for the
 * last hour. Work per inspection event is a map lookup and, on a state change, one history entry; the
 * summaries are computed only when a page asks.
 */
import type { ConversationRecord, Turn } from '../events.js';
import type {
  ConversationDetail,
  ConversationStatus,
  ConversationSummary,
  HistoryEntry,
  LiveEvent,
  LiveSummary,
  MinuteByReason,
  ProviderView,
  TurnView,
} from './model.js';
import { percentile } from './percentile.js';
import { qualityFigures } from './quality-figures.js';

/** An XState inspection event, reduced to the fields read here (so tests can build them by hand). */
export interface InspectionLike {
  type: string;
  actorRef?: { sessionId?: string };
  snapshot?: unknown;
  event?: { type?: unknown };
}

/** What the integration samples every few seconds while a page is open. */
export interface ServiceSample {
  providers?: Record<string, Omit<ProviderView, 'latency'>>;
  outboxBacklog?: number;
  stored?: Record<string, number>;
  spend?: LiveSummary['spend'];
  batches?: LiveSummary['batches'];
}

export interface LiveAggregatorOptions {
  /** @default Date.now */
  now?: () => number;
  /** Finished conversations kept for their pages. @default DEFAULT_RECENT_FINISHED */
  recentFinished?: number;
  /** History entries kept per conversation. @default DEFAULT_HISTORY */
  historyPerConversation?: number;
  /** Turn latencies kept per provider for the percentiles. @default DEFAULT_LATENCY_SAMPLES */
  latencySamples?: number;
}

/** Enough to click through the last minutes of a busy run; each holds a whole conversation. */
export const DEFAULT_RECENT_FINISHED = 200;
/** A ten-turn conversation makes about 60 entries (states and events); room for longer ones. */
export const DEFAULT_HISTORY = 200;
/** Percentiles of the last thousand turns per provider: recent, and stable enough to read. */
export const DEFAULT_LATENCY_SAMPLES = 1_000;
/** Width of one point of the last-hour charts. */
export const BUCKET_MS = 10_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const BUCKETS = HOUR_MS / BUCKET_MS;
const PREVIEW_CHARS = 280;

interface Tracked {
  id: string;
  sessionId?: string;
  summary: ConversationSummary;
  turns: TurnView[];
  topic: ConversationDetail['topic'];
  personas?: ConversationDetail['personas'];
  quality?: Record<string, number>;
  error?: ConversationDetail['error'];
  history: HistoryEntry[];
  /** Turns generated and not kept (repetition, refusal), shown struck through. */
  discarded: TurnView[];
}

interface ConversationContextLike {
  conversationId: string;
  topic: { id?: string; title?: string; source?: string; url?: string };
  providers?: Record<string, string>;
  personas?: Record<string, string>;
  turns: Turn[];
  status?: string;
  terminationReason?: string;
  startedAt?: number;
  endedAt?: number;
  quality?: Record<string, number>;
  error?: { code: string; message: string };
  discarded?: Array<Turn & { reason?: string }>;
  provenance?: { personas?: Record<string, { id?: string }>; style?: { id?: string } };
}

function contextOf(snapshot: unknown): ConversationContextLike | undefined {
  const context = (snapshot as { context?: unknown } | undefined)?.context as
    | Partial<ConversationContextLike>
    | undefined;
  if (!context || typeof context.conversationId !== 'string' || !Array.isArray(context.turns))
    return undefined;
  if (!context.topic || typeof context.topic !== 'object') return undefined;
  return context as ConversationContextLike;
}

/** `{ running: 'callingModel' }` -> `running.callingModel`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    return Object.entries(value)
      .map(([key, inner]) => {
        const rest = stateName(inner);
        return rest ? `${key}.${rest}` : key;
      })
      .join(',');
  }
  return '';
}

function costOf(turn: object): number | undefined {
  const value = (turn as { costMicros?: unknown; cost?: { micros?: unknown } }).costMicros;
  if (typeof value === 'number') return value;
  const nested = (turn as { cost?: { micros?: unknown; totalMicros?: unknown } }).cost;
  const micros = nested?.micros ?? nested?.totalMicros;
  return typeof micros === 'number' ? micros : undefined;
}

export function turnView(turn: Turn): TurnView {
  const extra = turn as Turn & { stopReason?: unknown; discarded?: unknown; truncated?: unknown };
  const cost = costOf(turn);
  return {
    index: turn.index,
    speaker: turn.speaker,
    provider: turn.provider,
    model: turn.model,
    text: turn.text,
    inputTokens: turn.usage?.inputTokens,
    outputTokens: turn.usage?.outputTokens,
    latencyMs: turn.latencyMs,
    attempts: turn.attempts,
    at: turn.at,
    ...(typeof extra.stopReason === 'string' ? { stopReason: extra.stopReason } : {}),
    ...(cost !== undefined ? { costMicros: cost } : {}),
    ...(extra.discarded === true ? { discarded: true } : {}),
    ...(extra.truncated === true ? { truncated: true } : {}),
  };
}

function discardedView(turn: Turn & { reason?: string }): TurnView {
  return { ...turnView(turn), discarded: true, ...(turn.reason ? { discardReason: turn.reason } : {}) };
}

/** Persona ids of both sides and the style id, from the provenance a conversation carries. */
function setup(provenance: ConversationContextLike['provenance']): Partial<ConversationSummary> {
  const ids = [provenance?.personas?.questioner?.id, provenance?.personas?.answerer?.id].filter(
    (id): id is string => typeof id === 'string',
  );
  return {
    ...(ids.length > 0 ? { persona: [...new Set(ids)].join(' / '), personaIds: ids } : {}),
    ...(typeof provenance?.style?.id === 'string' ? { style: provenance.style.id } : {}),
  };
}

function sumCost(turns: TurnView[]): number | undefined {
  let total = 0;
  let any = false;
  for (const turn of turns) {
    if (turn.costMicros !== undefined) {
      total += turn.costMicros;
      any = true;
    }
  }
  return any ? total : undefined;
}

function preview(turn: TurnView): ConversationSummary['lastTurn'] {
  return {
    index: turn.index,
    speaker: turn.speaker,
    provider: turn.provider,
    preview: turn.text.length > PREVIEW_CHARS ? `${turn.text.slice(0, PREVIEW_CHARS)}…` : turn.text,
  };
}

export type LiveListener = (event: LiveEvent) => void;

export class LiveAggregator {
  private readonly now: () => number;
  private readonly recentLimit: number;
  private readonly historyLimit: number;
  private readonly latencyLimit: number;
  private readonly bySession = new Map<string, Tracked>();
  private readonly inFlight = new Map<string, Tracked>();
  private readonly recent = new Map<string, Tracked>();
  private readonly listeners = new Set<LiveListener>();
  private readonly latencies = new Map<string, number[]>();
  private readonly reasons: Record<string, number> = {};
  /** Per 10-second bucket of the last hour: turns, and the sum and count of quality scores. */
  private readonly turnBuckets = new Float64Array(BUCKETS);
  private readonly qualitySum = new Float64Array(BUCKETS);
  private readonly qualityCount = new Uint32Array(BUCKETS);
  private readonly bucketStart = new Float64Array(BUCKETS);
  private minutes: MinuteByReason[] = [];
  private finishedCount = 0;
  private turnCount = 0;
  private sample: ServiceSample = {};

  constructor(options: LiveAggregatorOptions = {}) {
    this.now = options.now ?? Date.now;
    this.recentLimit = options.recentFinished ?? DEFAULT_RECENT_FINISHED;
    this.historyLimit = options.historyPerConversation ?? DEFAULT_HISTORY;
    this.latencyLimit = options.latencySamples ?? DEFAULT_LATENCY_SAMPLES;
    this.bucketStart.fill(-1);
  }

  /** Listens to deltas (a conversation changed, a turn completed). Returns the unsubscribe function. */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listening(): number {
    return this.listeners.size;
  }

  private emit(event: LiveEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** Feeds one XState inspection event (pass every one: non-conversation actors are ignored cheaply). */
  observe(event: InspectionLike): void {
    const sessionId = event.actorRef?.sessionId;
    if (!sessionId) return;
    if (event.type === '@xstate.snapshot') {
      const snapshot = event.snapshot as { value?: unknown; status?: string } | undefined;
      const context = contextOf(snapshot);
      if (!context) return;
      this.onSnapshot(sessionId, context, snapshot?.value, snapshot?.status);
      return;
    }
    if (event.type === '@xstate.event') {
      const tracked = this.bySession.get(sessionId);
      const type = event.event?.type;
      if (tracked && typeof type === 'string' && !type.startsWith('xstate.init')) {
        this.addHistory(tracked, 'event', type);
      }
    }
  }

  private onSnapshot(sessionId: string, context: ConversationContextLike, value: unknown, status?: string) {
    const now = this.now();
    let tracked = this.bySession.get(sessionId);
    if (!tracked) {
      tracked = this.inFlight.get(context.conversationId) ?? this.track(context, sessionId, now);
      this.bySession.set(sessionId, tracked);
    }
    const summary = tracked.summary;
    const state = stateName(value);
    let changed = false;
    if (state && state !== summary.state) {
      summary.state = state;
      this.addHistory(tracked, 'state', state);
      changed = true;
    }
    for (const turn of context.turns.slice(tracked.turns.length)) {
      const view = turnView(turn);
      tracked.turns.push(view);
      this.onTurn(view, now);
      this.addHistory(tracked, 'turn', `turn ${view.index} (${view.speaker}, ${view.provider ?? '?'})`);
      summary.turns = tracked.turns.length;
      summary.lastTurn = preview(view);
      summary.costMicros = sumCost(tracked.turns);
      this.emit({ type: 'turn', id: tracked.id, turn: view });
      changed = true;
    }
    if (context.discarded && context.discarded.length !== tracked.discarded.length) {
      tracked.discarded = context.discarded.map(discardedView);
      changed = true;
    }
    summary.updatedAt = now;
    if (status === 'done' || status === 'error' || status === 'stopped') {
      this.bySession.delete(sessionId);
      if (status === 'done') this.finish(tracked, context, now);
      else this.stop(tracked, status, now);
      return;
    }
    if (changed) this.emit({ type: 'conversation', conversation: { ...summary } });
  }

  private track(context: ConversationContextLike, sessionId: string, now: number): Tracked {
    const tracked: Tracked = {
      id: context.conversationId,
      sessionId,
      summary: {
        id: context.conversationId,
        title: context.topic.title ?? '',
        status: 'active',
        state: '',
        turns: 0,
        providers: [...new Set(Object.values(context.providers ?? {}))],
        startedAt: context.startedAt ?? now,
        updatedAt: now,
        ...setup(context.provenance),
      },
      turns: [],
      discarded: [],
      topic: { ...context.topic, title: context.topic.title ?? '' },
      personas: context.personas,
      history: [],
    };
    this.inFlight.set(tracked.id, tracked);
    this.recent.delete(tracked.id);
    return tracked;
  }

  private addHistory(tracked: Tracked, kind: HistoryEntry['kind'], label: string): void {
    tracked.history.push({ at: this.now(), kind, label });
    if (tracked.history.length > this.historyLimit) tracked.history.shift();
  }

  private bucket(now: number): number {
    const start = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const slot = (start / BUCKET_MS) % BUCKETS;
    if (this.bucketStart[slot] !== start) {
      this.bucketStart[slot] = start;
      this.turnBuckets[slot] = 0;
      this.qualitySum[slot] = 0;
      this.qualityCount[slot] = 0;
    }
    return slot;
  }

  private onTurn(turn: TurnView, now: number): void {
    this.turnCount += 1;
    const slot = this.bucket(now);
    this.turnBuckets[slot] = (this.turnBuckets[slot] ?? 0) + 1;
    if (turn.provider && turn.latencyMs !== undefined) {
      let list = this.latencies.get(turn.provider);
      if (!list) {
        list = [];
        this.latencies.set(turn.provider, list);
      }
      list.push(turn.latencyMs);
      if (list.length > this.latencyLimit) list.shift();
    }
  }

  private finish(tracked: Tracked, context: ConversationContextLike, now: number): void {
    const summary = tracked.summary;
    summary.status = (context.status as ConversationStatus | undefined) ?? 'ended';
    summary.state = summary.status;
    summary.endedAt = context.endedAt ?? now;
    summary.terminationReason = context.terminationReason;
    if (context.quality) {
      tracked.quality = qualityFigures(context.quality);
      summary.qualityScore = context.quality.score;
    }
    if (context.error) tracked.error = context.error;
    this.addHistory(tracked, 'finished', `${summary.status}: ${summary.terminationReason ?? 'unknown'}`);
    this.settle(tracked, now);
  }

  private stop(tracked: Tracked, status: string, now: number): void {
    // Stopped without finishing: drained, or taken over by another daemon; its record is not ours to count.
    tracked.summary.status = 'stopped';
    tracked.summary.state = 'stopped';
    tracked.summary.endedAt = now;
    this.addHistory(tracked, 'finished', status === 'error' ? 'crashed' : 'stopped here (handed over)');
    this.inFlight.delete(tracked.id);
    this.remember(tracked);
    this.emit({ type: 'conversation', conversation: { ...tracked.summary } });
  }

  private settle(tracked: Tracked, now: number): void {
    if (!this.inFlight.delete(tracked.id)) return;
    this.finishedCount += 1;
    const reason = tracked.summary.terminationReason ?? 'unknown';
    this.reasons[reason] = (this.reasons[reason] ?? 0) + 1;
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    let last = this.minutes.at(-1);
    if (!last || last.at !== minute) {
      last = { at: minute, byReason: {} };
      this.minutes.push(last);
      this.minutes = this.minutes.filter((m) => m.at > now - HOUR_MS);
    }
    last.byReason[reason] = (last.byReason[reason] ?? 0) + 1;
    const score = tracked.summary.qualityScore;
    if (score !== undefined) {
      const slot = this.bucket(now);
      this.qualitySum[slot] = (this.qualitySum[slot] ?? 0) + score;
      this.qualityCount[slot] = (this.qualityCount[slot] ?? 0) + 1;
    }
    this.remember(tracked);
    this.emit({ type: 'conversation', conversation: { ...tracked.summary } });
  }

  private remember(tracked: Tracked): void {
    this.recent.set(tracked.id, tracked);
    while (this.recent.size > this.recentLimit) {
      const oldest = this.recent.keys().next().value!;
      this.recent.delete(oldest);
    }
  }

  /**
   * A finished record, as saved: the source of truth for the quality and termination reason (the final
   * snapshot may already have given them; the record wins).
   */
  finished(record: ConversationRecord): void {
    const now = this.now();
    const tracked =
      this.inFlight.get(record.conversationId) ??
      this.recent.get(record.conversationId) ??
      this.track(
        {
          conversationId: record.conversationId,
          topic: record.topic,
          providers: record.providers,
          personas: record.personas,
          turns: [],
          startedAt: record.startedAt,
          provenance: record.provenance,
        },
        '',
        now,
      );
    const summary = tracked.summary;
    if (tracked.turns.length < record.turns.length) {
      for (const turn of record.turns.slice(tracked.turns.length)) {
        const view = turnView(turn);
        tracked.turns.push(view);
        this.onTurn(view, now);
      }
      summary.turns = tracked.turns.length;
      summary.lastTurn = preview(tracked.turns.at(-1)!);
    }
    summary.status = record.status;
    summary.state = record.status;
    summary.terminationReason = record.terminationReason;
    summary.qualityScore = record.quality.score;
    summary.endedAt = record.endedAt;
    summary.simulated = record.simulated;
    summary.costMicros = sumCost(tracked.turns);
    tracked.quality = qualityFigures(record.quality);
    if (record.discarded) tracked.discarded = record.discarded.map(discardedView);
    if (record.error) tracked.error = record.error;
    if (this.inFlight.has(tracked.id)) {
      this.addHistory(tracked, 'finished', `${record.status}: ${record.terminationReason}`);
      this.settle(tracked, now);
    }
  }

  /** The latest sample of metrics and store figures (see the integration in `live-source.ts`). */
  setSample(sample: ServiceSample): void {
    this.sample = sample;
  }

  /** In-flight conversations (oldest first), then recent finished ones (newest first). */
  list(): ConversationSummary[] {
    const live = [...this.inFlight.values()].map((t) => ({ ...t.summary }));
    const done = [...this.recent.values()].reverse().map((t) => ({ ...t.summary }));
    return [...live, ...done];
  }

  detail(id: string): ConversationDetail | undefined {
    const tracked = this.inFlight.get(id) ?? this.recent.get(id);
    if (!tracked) return undefined;
    return {
      ...tracked.summary,
      topic: tracked.topic,
      ...(tracked.personas ? { personas: tracked.personas } : {}),
      turnList: [...tracked.turns, ...tracked.discarded].sort(
        (a, b) => a.index - b.index || Number(a.discarded ?? false) - Number(b.discarded ?? false),
      ),
      ...(tracked.quality ? { quality: tracked.quality } : {}),
      ...(tracked.error ? { error: tracked.error } : {}),
      history: [...tracked.history],
    };
  }

  summary(): LiveSummary {
    const now = this.now();
    const current = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    const t: number[] = [];
    const turnsPerSecond: number[] = [];
    const quality: Array<number | null> = [];
    for (let i = BUCKETS - 1; i >= 0; i -= 1) {
      const start = current - i * BUCKET_MS;
      const slot = (start / BUCKET_MS) % BUCKETS;
      const live = this.bucketStart[slot] === start;
      t.push(start / 1000);
      // The current bucket is still filling: rate over the part of it that has passed.
      const span = start === current ? Math.max(1_000, now - start) : BUCKET_MS;
      turnsPerSecond.push(live ? ((this.turnBuckets[slot] ?? 0) * 1000) / span : 0);
      const count = live ? (this.qualityCount[slot] ?? 0) : 0;
      quality.push(count > 0 ? (this.qualitySum[slot] ?? 0) / count : null);
    }
    const lastMinute = turnsPerSecond.slice(-6);
    const providers: Record<string, ProviderView> = {};
    for (const [name, view] of Object.entries(this.sample.providers ?? {})) providers[name] = { ...view };
    for (const [name, list] of this.latencies) {
      const sorted = [...list].sort((a, b) => a - b);
      providers[name] = {
        ...(providers[name] ?? { requests: 0, errors: 0, retries: 0 }),
        latency: {
          count: sorted.length,
          p50: percentile(sorted, 0.5),
          p90: percentile(sorted, 0.9),
          p99: percentile(sorted, 0.99),
        },
      };
    }
    return {
      at: now,
      inFlight: this.inFlight.size,
      finished: this.finishedCount,
      turns: this.turnCount,
      turnsPerSecond: lastMinute.reduce((a, b) => a + b, 0) / lastMinute.length,
      finishedPerMinute: this.minutes.filter((m) => m.at > now - HOUR_MS).map((m) => ({ ...m })),
      reasons: { ...this.reasons },
      providers,
      ...(this.sample.outboxBacklog !== undefined ? { outboxBacklog: this.sample.outboxBacklog } : {}),
      ...(this.sample.stored ? { stored: this.sample.stored } : {}),
      series: { t, turnsPerSecond, quality },
      ...(this.sample.spend ? { spend: this.sample.spend } : {}),
      ...(this.sample.batches ? { batches: this.sample.batches } : {}),
    };
  }
}
