/**
 * The independent checker of the fault suite. It knows only what was submitted and what came out of the
 * events topic, read from the beginning: it shares no state with the daemons it judges.
 */
import {
  type ConversationEvent,
  conversationEventSchema,
  conversationIdFor,
  EVENT_HEADERS,
} from '../../src/events.js';

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

export function check(submittedTopicIds: readonly string[], output: readonly OutputMessage[]): CheckReport {
  const expected = new Map(submittedTopicIds.map((topicId) => [conversationIdFor(topicId), topicId]));
  const events: Array<{ event: ConversationEvent; eventId: string; token?: number }> = [];
  const unexpected: string[] = [];
  for (const message of output) {
    let parsed: ConversationEvent;
    try {
      parsed = conversationEventSchema.parse(JSON.parse(message.value));
    } catch {
      unexpected.push(`not an event: ${message.value.slice(0, 80)}`);
      continue;
    }
    if (!expected.has(parsed.conversationId))
      unexpected.push(`event for unknown conversation ${parsed.conversationId}`);
    const tokenHeader = message.headers[EVENT_HEADERS.fencingToken];
    events.push({
      event: parsed,
      eventId: message.headers[EVENT_HEADERS.eventId] ?? parsed.eventId,
      token: tokenHeader === undefined ? undefined : Number(tokenHeader),
    });
  }

  const turnTexts = new Map<string, Set<string>>();
  const turnCount = new Map<string, number>();
  const seenEventIds = new Set<string>();
  const dedupedTurnCount = new Map<string, number>();
  const finals = new Map<string, Set<string>>();
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
      const set = finals.get(event.conversationId) ?? new Set<string>();
      set.add(JSON.stringify({ ...event.record, endedAt: 0 }));
      finals.set(event.conversationId, set);
    }
    seenEventIds.add(eventId);
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
    stuck: lost.filter((topicId) => started.has(conversationIdFor(topicId))),
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
  return `${name}: submitted=${report.submitted} finished=${report.finished} lost=${report.lost.length} stuck=${report.stuck.length} duplicateRaw=${report.duplicateRaw} duplicateAfterDedup=${report.duplicateAfterDedup} forked=${report.forked.length} conflictingFinals=${report.conflictingFinals.length} staleWrites=${report.staleWrites.length} unexpected=${report.unexpected.length}`;
}
