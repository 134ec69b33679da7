/**
 * The independent checker of the fault suite. It knows only what was submitted and what came out of the
 * events topic, read from the beginning: it shares no state with the daemons it judges, and no code with
 * them either (it imports nothing from `src`). What it relies on is the published contract: the event
 * payloads and headers in the README's Kafka table, and the conversation id a topic id maps to.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

export interface OutputMessage {
  key: string | null;
  value: string;
  headers: Record<string, string>;
}

export interface CheckReport {
  submitted: number;
  /** Conversations with an ended or failed record. */
  finished: number;
  /** Submitted topics with no ended or failed record. */
  lost: string[];
  /** Of the lost, those that started: still running (or abandoned) when the check ran. */
  stuck: string[];
  /**
   * Turns announced by a `turn.completed` event that a final record of their conversation does not hold
   * with the same text (`conversation#index`): a turn the dataset lost after telling consumers about it.
   */
  lostTurns: string[];
  /** Turns of a final record that no `turn.completed` event announced (`conversation#index`). */
  unannouncedTurns: string[];
  /** Turn events beyond the first for the same (conversation, turn index), as received. */
  duplicateRaw: number;
  /** The same after a consumer drops repeats by event id. */
  duplicateAfterDedup: number;
  /** (conversation, turn index) pairs announced with two different texts. */
  forked: string[];
  /** Conversations with more than one final record carrying different contents. */
  conflictingFinals: string[];
  /** Events for conversations nobody submitted, and messages that are not valid events. */
  unexpected: string[];
  /**
   * Events that got past the fence: a first appearance of an event id whose fencing token is lower than one
   * already seen for its conversation. One conversation's events share a partition, so the topic's order
   * is the order they were written in; a stale owner's write can only arrive late with an old token.
   * (Re-published copies keep their event id and are not counted here.)
   */
  staleWrites: string[];
}

/** Header names of the published contract (README, "Kafka topics"). */
const HEADER_EVENT_ID = 'chimera-event-id';
const HEADER_FENCING_TOKEN = 'chimera-fencing-token';

/** The conversation a topic id starts: `c-` and the first 24 hex digits of the SHA-256 of the topic id. */
export function conversationOf(topicId: string): string {
  return `c-${createHash('sha256').update(topicId).digest('hex').slice(0, 24)}`;
}

const turnShape = z.looseObject({ index: z.number().int().nonnegative(), text: z.string() });
const base = { eventId: z.string(), conversationId: z.string() };
const recordShape = z.looseObject({
  conversationId: z.string(),
  status: z.enum(['ended', 'failed', 'timedOut']),
  turns: z.array(turnShape),
});
const eventShape = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('conversation.started'), ...base }),
  z.looseObject({ type: z.literal('turn.completed'), ...base, turnIndex: z.number().int(), turn: turnShape }),
  z.looseObject({ type: z.literal('conversation.ended'), ...base, record: recordShape }),
  z.looseObject({ type: z.literal('conversation.failed'), ...base, record: recordShape }),
]);
type Event = z.infer<typeof eventShape>;
type FinalRecord = z.infer<typeof recordShape>;

export function check(submittedTopicIds: readonly string[], output: readonly OutputMessage[]): CheckReport {
  const expected = new Map(submittedTopicIds.map((topicId) => [conversationOf(topicId), topicId]));
  const events: Array<{ event: Event; eventId: string; token?: number }> = [];
  const unexpected: string[] = [];
  for (const message of output) {
    let parsed: Event;
    try {
      parsed = eventShape.parse(JSON.parse(message.value));
    } catch {
      unexpected.push(`not an event: ${message.value.slice(0, 80)}`);
      continue;
    }
    if (!expected.has(parsed.conversationId))
      unexpected.push(`event for unknown conversation ${parsed.conversationId}`);
    const tokenHeader = message.headers[HEADER_FENCING_TOKEN];
    events.push({
      event: parsed,
      eventId: message.headers[HEADER_EVENT_ID] ?? parsed.eventId,
      token: tokenHeader === undefined ? undefined : Number(tokenHeader),
    });
  }

  const turnTexts = new Map<string, Set<string>>();
  const turnCount = new Map<string, number>();
  const seenEventIds = new Set<string>();
  const dedupedTurnCount = new Map<string, number>();
  /** Distinct final records per conversation, by their content without the end time. */
  const finals = new Map<string, Map<string, FinalRecord>>();
  const started = new Set<string>();
  const maxToken = new Map<string, number>();
  const staleWrites: string[] = [];
  for (const { event, eventId, token } of events) {
    if (token !== undefined && !seenEventIds.has(eventId)) {
      const highest = maxToken.get(event.conversationId) ?? 0;
      if (token < highest) staleWrites.push(`${eventId}@${token}<${highest}`);
      else maxToken.set(event.conversationId, token);
    }
    if (event.type === 'conversation.started') started.add(event.conversationId);
    if (event.type === 'turn.completed') {
      const key = `${event.conversationId}#${event.turnIndex}`;
      turnCount.set(key, (turnCount.get(key) ?? 0) + 1);
      const texts = turnTexts.get(key) ?? new Set<string>();
      texts.add(event.turn.text);
      turnTexts.set(key, texts);
      if (!seenEventIds.has(eventId)) dedupedTurnCount.set(key, (dedupedTurnCount.get(key) ?? 0) + 1);
    }
    if (event.type === 'conversation.ended' || event.type === 'conversation.failed') {
      const records = finals.get(event.conversationId) ?? new Map<string, FinalRecord>();
      records.set(JSON.stringify({ ...event.record, endedAt: 0 }), event.record);
      finals.set(event.conversationId, records);
    }
    seenEventIds.add(eventId);
  }

  // Every announced turn must be in every final record of its conversation, with the text announced;
  // every turn of a final record must have been announced.
  const lostTurns = new Set<string>();
  const unannouncedTurns = new Set<string>();
  for (const [key, texts] of turnTexts) {
    const conversationId = key.slice(0, key.lastIndexOf('#'));
    const index = Number(key.slice(key.lastIndexOf('#') + 1));
    for (const record of finals.get(conversationId)?.values() ?? []) {
      const kept = record.turns.find((turn) => turn.index === index);
      if (!kept || ![...texts].includes(kept.text)) lostTurns.add(key);
    }
  }
  for (const [conversationId, records] of finals) {
    for (const record of records.values()) {
      for (const turn of record.turns) {
        const key = `${conversationId}#${turn.index}`;
        if (!turnTexts.get(key)?.has(turn.text)) unannouncedTurns.add(key);
      }
    }
  }

  const excess = (counts: Map<string, number>) =>
    [...counts.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  const lost = [...expected.entries()]
    .filter(([conversationId]) => !finals.has(conversationId))
    .map(([, topicId]) => topicId);
  return {
    submitted: expected.size,
    finished: [...expected.keys()].filter((id) => finals.has(id)).length,
    lost,
    stuck: lost.filter((topicId) => started.has(conversationOf(topicId))),
    lostTurns: [...lostTurns].sort(),
    unannouncedTurns: [...unannouncedTurns].sort(),
    duplicateRaw: excess(turnCount),
    duplicateAfterDedup: excess(dedupedTurnCount),
    forked: [...turnTexts.entries()].filter(([, texts]) => texts.size > 1).map(([key]) => key),
    conflictingFinals: [...finals.entries()].filter(([, set]) => set.size > 1).map(([id]) => id),
    unexpected,
    staleWrites,
  };
}

/** One line of figures for a scenario's summary. */
export function summarize(name: string, report: CheckReport): string {
  return `${name}: submitted=${report.submitted} finished=${report.finished} lost=${report.lost.length} stuck=${report.stuck.length} lostTurns=${report.lostTurns.length} unannouncedTurns=${report.unannouncedTurns.length} duplicateRaw=${report.duplicateRaw} duplicateAfterDedup=${report.duplicateAfterDedup} forked=${report.forked.length} conflictingFinals=${report.conflictingFinals.length} staleWrites=${report.staleWrites.length} unexpected=${report.unexpected.length}`;
}
