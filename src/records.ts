/**
 * Pure translations from a conversation's machine context to what leaves the process: the dataset record
 * and the lifecycle events. Event ids are deterministic per (conversation, step), so a step replayed after
 * a crash produces the same ids and consumers can drop the copy.
 */
import {
  type ConversationEvent,
  type ConversationRecord,
  type CostSummary,
  conversationRecordSchema,
  EVENT_HEADERS,
  eventIdFor,
  type Turn,
} from './events.js';
import type { ConversationContext } from './machines/conversation.js';
import { computeQuality } from './quality/compute-quality.js';
import type { OutboxEvent } from './services/ports.js';

export const SIMULATED_PROVIDER = 'simulated';

/**
 * What every call of a conversation cost: the sum of its turns' exact charges in whole micro-dollars (each
 * call was rounded once, when it was priced; see `src/cost/ledger.ts`), with dollars for display computed
 * from the integer once. Turns recorded before costs existed add nothing.
 */
export function conversationCost(
  calls: ReadonlyArray<Pick<Turn, 'provider' | 'model' | 'cost'>>,
): CostSummary {
  let micros = 0;
  const byProvider: Record<string, number> = {};
  const unpriced = new Set<string>();
  for (const call of calls) {
    if (!call.cost) continue;
    if (call.cost.status === 'unpriced') unpriced.add(`${call.provider}/${call.model}`);
    micros += call.cost.micros;
    byProvider[call.provider] = (byProvider[call.provider] ?? 0) + call.cost.micros;
  }
  return {
    usd: micros / 1_000_000,
    micros,
    byProvider: Object.fromEntries(
      Object.entries(byProvider).map(([provider, m]) => [provider, { usd: m / 1_000_000, micros: m }]),
    ),
    unpriced: [...unpriced].sort(),
  };
}

/**
 * The dataset record of a conversation. Its quality is computed here from the kept turns and the ending,
 * whatever the context holds, so records restored from snapshots written by an older build are scored by
 * the same formula as new ones. Provenance and discarded turns are present when the context has them
 * (contexts persisted before they existed have neither).
 */
export function toRecord(context: ConversationContext, now: number): ConversationRecord {
  const status = context.status === 'active' ? 'ended' : context.status;
  const terminationReason =
    context.terminationReason ?? (status === 'timedOut' ? 'timeout' : 'provider_failed');
  return {
    conversationId: context.conversationId,
    topic: context.topic,
    status,
    terminationReason,
    personas: context.personas,
    providers: context.providers,
    turns: context.turns,
    quality: {
      ...computeQuality(context.turns, { terminationReason }),
      ...(context.judge ? { judge: context.judge } : {}),
    },
    simulated:
      context.providers.questioner === SIMULATED_PROVIDER ||
      context.providers.answerer === SIMULATED_PROVIDER ||
      context.turns.some((t) => t.provider === SIMULATED_PROVIDER),
    ...(context.error ? { error: context.error } : {}),
    startedAt: context.startedAt,
    endedAt: context.endedAt ?? now,
    ...(context.provenance ? { provenance: context.provenance } : {}),
    ...(context.discarded && context.discarded.length > 0 ? { discarded: context.discarded } : {}),
    ...(context.lostCalls && context.lostCalls.length > 0 ? { lostCalls: context.lostCalls } : {}),
    // Every call was paid for, the discarded turns' included.
    cost: conversationCost([
      ...context.turns,
      ...(context.discarded ?? []),
      ...(context.judge?.cost && context.judge.provider && context.judge.model
        ? [{ provider: context.judge.provider, model: context.judge.model, cost: context.judge.cost }]
        : []),
    ]),
  };
}

function outbox(event: ConversationEvent, token: number, turnIndex?: number): OutboxEvent {
  return {
    topic: 'events',
    key: event.conversationId,
    value: event,
    headers: {
      [EVENT_HEADERS.eventId]: event.eventId,
      [EVENT_HEADERS.eventType]: event.type,
      [EVENT_HEADERS.conversationId]: event.conversationId,
      [EVENT_HEADERS.fencingToken]: String(token),
      ...(turnIndex === undefined ? {} : { [EVENT_HEADERS.turnIndex]: String(turnIndex) }),
    },
  };
}

export function startedEvent(context: ConversationContext, token: number, now: number): OutboxEvent {
  return outbox(
    {
      type: 'conversation.started',
      eventId: eventIdFor(context.conversationId, 'started'),
      conversationId: context.conversationId,
      occurredAt: now,
      topic: context.topic,
      providers: context.providers,
    },
    token,
  );
}

/**
 * Events for the step from `turnsBefore` kept turns to `context`: one `turn.completed` per new turn, then
 * `conversation.ended` or `conversation.failed` when the conversation reached a final state.
 */
export function stepEvents(
  context: ConversationContext,
  turnsBefore: number,
  final: boolean,
  token: number,
  now: number,
): OutboxEvent[] {
  const events: OutboxEvent[] = [];
  for (const turn of context.turns.slice(turnsBefore)) {
    events.push(
      outbox(
        {
          type: 'turn.completed',
          eventId: eventIdFor(context.conversationId, `turn-${turn.index}`),
          conversationId: context.conversationId,
          occurredAt: now,
          turnIndex: turn.index,
          turn,
          ...(turn.cost ? { cost: turn.cost } : {}),
        },
        token,
        turn.index,
      ),
    );
  }
  if (final) {
    const record = toRecord(context, now);
    const type = record.status === 'ended' ? 'conversation.ended' : 'conversation.failed';
    events.push(
      outbox(
        {
          type,
          eventId: eventIdFor(context.conversationId, type === 'conversation.ended' ? 'ended' : 'failed'),
          conversationId: context.conversationId,
          occurredAt: now,
          record,
          ...(type === 'conversation.ended' && record.cost ? { cost: record.cost } : {}),
        },
        token,
      ),
    );
  }
  return events;
}

/**
 * The record of a persisted conversation snapshot, or undefined when it holds none: a snapshot marked
 * failed without content (unreadable on adoption) or a context that is not a conversation's.
 */
export function recordOf(snapshot: unknown, updatedAt: number): ConversationRecord | undefined {
  if (snapshot === null || typeof snapshot !== 'object') return undefined;
  const context = (snapshot as { context?: unknown }).context;
  if (context === null || typeof context !== 'object') return undefined;
  const candidate = context as Partial<ConversationContext>;
  const readable =
    Array.isArray(candidate.turns) &&
    typeof candidate.conversationId === 'string' &&
    typeof candidate.providers === 'object' &&
    candidate.providers !== null;
  if (!readable) return undefined;
  let record: ConversationRecord;
  try {
    record = toRecord(context as ConversationContext, updatedAt);
  } catch {
    // A context shaped like a conversation with corrupt parts inside (a null turn): unreadable, like any
    // other snapshot that does not give a record; the caller counts it and goes on.
    return undefined;
  }
  const parsed = conversationRecordSchema.safeParse(record);
  return parsed.success ? parsed.data : undefined;
}
