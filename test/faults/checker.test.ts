import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConversationEvent, Turn } from '../../src/events.js';
import { conversationIdFor, EVENT_HEADERS } from '../../src/events.js';
import { check, conversationOf, type OutputMessage } from './checker.js';

const topic = (id: string) => ({ id, title: `Topic ${id}` });

function turn(index: number, text: string): Turn {
  return {
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
  };
}

function turnEvent(topicId: string, index: number, text: string, eventId?: string): OutputMessage {
  const conversationId = conversationIdFor(topicId);
  const event: ConversationEvent = {
    type: 'turn.completed',
    eventId: eventId ?? `${conversationId}:turn-${index}`,
    conversationId,
    occurredAt: 1,
    turnIndex: index,
    turn: turn(index, text),
  };
  return {
    key: conversationId,
    value: JSON.stringify(event),
    headers: { [EVENT_HEADERS.eventId]: event.eventId },
  };
}

/** A final record holding `texts` as its turns 0..n-1. */
function ended(
  topicId: string,
  texts: string[] = [],
  extra: Partial<{ terminationReason: 'max_turns' | 'refusal' }> = {},
): OutputMessage {
  const turns = texts.length;
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
      turns: texts.map((text, index) => turn(index, text)),
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
      [startedEvent('a'), turnEvent('a', 0, 'x'), ended('a', ['x']), startedEvent('b'), ended('b')],
    );
    expect(report).toMatchObject({
      submitted: 2,
      finished: 2,
      lost: [],
      stuck: [],
      lostTurns: [],
      unannouncedTurns: [],
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
    const report = check(['a'], [turnEvent('a', 0, 'x'), turnEvent('a', 0, 'x'), ended('a', ['x'])]);
    expect(report.duplicateRaw).toBe(1);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.forked).toEqual([]);
  });

  it('two texts for one turn index is a fork; a second event id for it survives dedup', () => {
    const report = check(
      ['a'],
      [
        turnEvent('a', 0, 'w'),
        turnEvent('a', 1, 'x'),
        turnEvent('a', 1, 'y', 'other-id'),
        ended('a', ['w', 'x']),
      ],
    );
    expect(report.forked).toEqual([`${conversationIdFor('a')}#1`]);
    expect(report.duplicateAfterDedup).toBe(1);
  });

  it('events of conversations nobody submitted and garbage are unexpected', () => {
    const report = check(['a'], [ended('a'), ended('zzz'), { key: null, value: 'not json', headers: {} }]);
    expect(report.unexpected).toHaveLength(2);
  });

  it('two different final records for one conversation conflict', () => {
    const report = check(['a'], [ended('a'), ended('a', [], { terminationReason: 'refusal' })]);
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
        withToken(ended('a', ['x', 'y']), 2),
      ],
    );
    expect(report.staleWrites).toEqual([`${conversationIdFor('a')}:turn-2@1<2`]);
  });

  it('a turn announced on the topic but missing from the final record, or kept with another text, is a lost turn', () => {
    const report = check(
      ['a', 'b'],
      [
        turnEvent('a', 0, 'x'),
        turnEvent('a', 1, 'y'),
        turnEvent('a', 2, 'z'),
        ended('a', ['x', 'y']),
        turnEvent('b', 0, 'p'),
        ended('b', ['q']),
      ],
    );
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([`${conversationIdFor('a')}#2`, `${conversationIdFor('b')}#0`].sort());
  });

  it('a turn of a final record that no event announced is unannounced', () => {
    const report = check(['a'], [turnEvent('a', 0, 'x'), ended('a', ['x', 'never announced'])]);
    expect(report.unannouncedTurns).toEqual([`${conversationIdFor('a')}#1`]);
    expect(report.lostTurns).toEqual([]);
  });

  it('maps topics to conversations as the service does, and shares no code with it', () => {
    for (const topicId of ['a', 'topic-17#3@run', 'ünïcödé'])
      expect(conversationOf(topicId)).toBe(conversationIdFor(topicId));
    const source = readFileSync(new URL('./checker.ts', import.meta.url), 'utf8');
    expect(source).not.toMatch(/from '(\.\.\/)+src\//);
  });
});
