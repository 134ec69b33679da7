import { describe, expect, it } from 'vitest';
import type { ConversationEvent } from '../../src/events.js';
import { conversationIdFor, EVENT_HEADERS } from '../../src/events.js';
import { check, type OutputMessage } from './checker.js';

const topic = (id: string) => ({ id, title: `Topic ${id}` });

function turnEvent(topicId: string, index: number, text: string, eventId?: string): OutputMessage {
  const conversationId = conversationIdFor(topicId);
  const event: ConversationEvent = {
    type: 'turn.completed',
    eventId: eventId ?? `${conversationId}:turn-${index}`,
    conversationId,
    occurredAt: 1,
    turnIndex: index,
    turn: {
      index,
      speaker: index % 2 === 0 ? 'questioner' : 'answerer',
      provider: 'simulated',
      model: 'm',
      text,
      usage: { inputTokens: 1, outputTokens: 1 },
      latencyMs: 1,
      attempts: 1,
      requestId: 'r',
      at: 1,
    },
  };
  return {
    key: conversationId,
    value: JSON.stringify(event),
    headers: { [EVENT_HEADERS.eventId]: event.eventId },
  };
}

function ended(
  topicId: string,
  turns = 1,
  extra: Partial<{ terminationReason: 'max_turns' | 'refusal' }> = {},
): OutputMessage {
  const conversationId = conversationIdFor(topicId);
  const event: ConversationEvent = {
    type: 'conversation.ended',
    eventId: `${conversationId}:ended`,
    conversationId,
    occurredAt: 2,
    record: {
      conversationId,
      topic: topic(topicId),
      status: 'ended',
      terminationReason: extra.terminationReason ?? 'max_turns',
      personas: { questioner: 'q', answerer: 'a' },
      providers: { questioner: 'simulated', answerer: 'simulated' },
      turns: [],
      quality: {
        turns,
        distinct1: 1,
        distinct2: 1,
        repetitionRatio: 0,
        meanTurnLength: 1,
        totalTokens: 1,
        meanLatencyMs: 1,
        score: 1,
      },
      simulated: true,
      startedAt: 0,
      endedAt: 2,
    },
  };
  return {
    key: conversationId,
    value: JSON.stringify(event),
    headers: { [EVENT_HEADERS.eventId]: event.eventId },
  };
}

function startedEvent(topicId: string): OutputMessage {
  const conversationId = conversationIdFor(topicId);
  const event: ConversationEvent = {
    type: 'conversation.started',
    eventId: `${conversationId}:started`,
    conversationId,
    occurredAt: 0,
    topic: topic(topicId),
    providers: { questioner: 'simulated', answerer: 'simulated' },
  };
  return {
    key: conversationId,
    value: JSON.stringify(event),
    headers: { [EVENT_HEADERS.eventId]: event.eventId },
  };
}

describe('fault checker', () => {
  it('a clean run has nothing to report', () => {
    const report = check(
      ['a', 'b'],
      [startedEvent('a'), turnEvent('a', 0, 'x'), ended('a'), startedEvent('b'), ended('b')],
    );
    expect(report).toMatchObject({
      submitted: 2,
      finished: 2,
      lost: [],
      stuck: [],
      duplicateRaw: 0,
      forked: [],
      unexpected: [],
    });
  });

  it('a submitted topic with no final record is lost, and stuck when it had started', () => {
    const report = check(['a', 'b', 'c'], [startedEvent('a'), ended('a'), startedEvent('b')]);
    expect(report.lost.sort()).toEqual(['b', 'c']);
    expect(report.stuck).toEqual(['b']);
  });

  it('a redelivered turn counts as a raw duplicate but not after dedup by event id', () => {
    const report = check(['a'], [turnEvent('a', 0, 'x'), turnEvent('a', 0, 'x'), ended('a')]);
    expect(report.duplicateRaw).toBe(1);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.forked).toEqual([]);
  });

  it('two texts for one turn index is a fork; a second event id for it survives dedup', () => {
    const report = check(['a'], [turnEvent('a', 1, 'x'), turnEvent('a', 1, 'y', 'other-id'), ended('a')]);
    expect(report.forked).toEqual([`${conversationIdFor('a')}#1`]);
    expect(report.duplicateAfterDedup).toBe(1);
  });

  it('events of conversations nobody submitted and garbage are unexpected', () => {
    const report = check(['a'], [ended('a'), ended('zzz'), { key: null, value: 'not json', headers: {} }]);
    expect(report.unexpected).toHaveLength(2);
  });

  it('two different final records for one conversation conflict', () => {
    const report = check(['a'], [ended('a', 1), ended('a', 1, { terminationReason: 'refusal' })]);
    expect(report.conflictingFinals).toEqual([conversationIdFor('a')]);
  });

  it('an event first seen with an older fencing token than its conversation already had got past the fence', () => {
    const withToken = (message: OutputMessage, token: number): OutputMessage => ({
      ...message,
      headers: { ...message.headers, [EVENT_HEADERS.fencingToken]: String(token) },
    });
    const report = check(
      ['a'],
      [
        withToken(turnEvent('a', 0, 'x'), 1),
        withToken(turnEvent('a', 1, 'y'), 2),
        // A re-published copy of an old event is a duplicate, not a stale write.
        withToken(turnEvent('a', 0, 'x'), 1),
        withToken(turnEvent('a', 2, 'z'), 1),
        withToken(ended('a'), 2),
      ],
    );
    expect(report.staleWrites).toEqual([`${conversationIdFor('a')}:turn-2@1<2`]);
  });
});
