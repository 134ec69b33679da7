import { describe, expect, it } from 'vitest';
import type { ConversationRecord, Turn } from '../../src/events.js';
import { LiveAggregator } from '../../src/ui/live-aggregator.js';
import type { LiveEvent } from '../../src/ui/model.js';

function turn(index: number, latencyMs: number, provider = 'anthropic'): Turn {
  return {
    index,
    speaker: index % 2 ? 'answerer' : 'questioner',
    provider,
    model: 'm',
    text: `turn ${index}`,
    usage: { inputTokens: 10, outputTokens: 5 },
    latencyMs,
    attempts: 1,
    requestId: `r${index}`,
    at: 0,
  };
}

function snapshot(
  sessionId: string,
  id: string,
  turns: Turn[],
  value: unknown,
  status = 'active',
  extra = {},
) {
  return {
    type: '@xstate.snapshot',
    actorRef: { sessionId },
    snapshot: {
      status,
      value,
      context: {
        conversationId: id,
        topic: { id, title: `title ${id}` },
        providers: { questioner: 'anthropic', answerer: 'gemini' },
        turns,
        ...extra,
      },
    },
  };
}

function record(
  id: string,
  turns: Turn[],
  reason: ConversationRecord['terminationReason'],
  score: number,
): ConversationRecord {
  return {
    conversationId: id,
    topic: { id, title: `title ${id}` },
    status: 'ended',
    terminationReason: reason,
    personas: { questioner: 'q', answerer: 'a' },
    providers: { questioner: 'anthropic', answerer: 'gemini' },
    turns,
    quality: {
      turns: turns.length,
      distinct1: 1,
      distinct2: 1,
      repetitionRatio: 0,
      meanTurnLength: 2,
      totalTokens: 15,
      meanLatencyMs: 1,
      score,
    },
    simulated: false,
    startedAt: 0,
    endedAt: 1,
  };
}

describe('live aggregator', () => {
  it('tracks a conversation from its snapshots: state, turn count, newest turn, then finished by its record', () => {
    let now = 1_000_000;
    const agg = new LiveAggregator({ now: () => now });
    const events: LiveEvent[] = [];
    agg.subscribe((e) => events.push(e));
    agg.observe(snapshot('x:1', 'c1', [], { running: 'callingModel' }));
    expect(agg.list()).toMatchObject([
      { id: 'c1', status: 'active', state: 'running.callingModel', turns: 0 },
    ]);
    now += 1000;
    agg.observe(
      snapshot('x:1', 'c1', [turn(0, 100), turn(1, 300, 'gemini')], { running: 'assessingQuality' }),
    );
    expect(agg.list()[0]).toMatchObject({ turns: 2, lastTurn: { index: 1, preview: 'turn 1' } });
    expect(
      events.filter((e) => e.type === 'turn').map((e) => (e.type === 'turn' ? e.turn.index : -1)),
    ).toEqual([0, 1]);
    agg.observe({
      type: '@xstate.event',
      actorRef: { sessionId: 'x:1' },
      event: { type: 'xstate.done.actor.callModel' },
    });
    agg.finished(record('c1', [turn(0, 100), turn(1, 300, 'gemini')], 'natural_end', 0.8));
    const summary = agg.summary();
    expect(summary).toMatchObject({ inFlight: 0, finished: 1, turns: 2, reasons: { natural_end: 1 } });
    expect(summary.finishedPerMinute).toEqual([
      { at: Math.floor(now / 60_000) * 60_000, byReason: { natural_end: 1 } },
    ]);
    expect(summary.series.quality.filter((q) => q !== null)).toEqual([0.8]);
    const detail = agg.detail('c1')!;
    expect(detail).toMatchObject({ status: 'ended', terminationReason: 'natural_end', qualityScore: 0.8 });
    expect(detail.turnList.map((t) => t.text)).toEqual(['turn 0', 'turn 1']);
    expect(detail.history.map((h) => h.kind)).toEqual([
      'state',
      'state',
      'turn',
      'turn',
      'event',
      'finished',
    ]);
  });

  it('counts a conversation once when both its final snapshot and its record arrive', () => {
    const agg = new LiveAggregator({ now: () => 5_000_000 });
    agg.observe(
      snapshot('s', 'c', [turn(0, 10)], 'ended', 'done', {
        status: 'ended',
        terminationReason: 'max_turns',
        quality: { score: 0.5 },
      }),
    );
    agg.finished(record('c', [turn(0, 10)], 'max_turns', 0.5));
    expect(agg.summary()).toMatchObject({ finished: 1, reasons: { max_turns: 1 } });
  });

  it('gives nearest-rank latency percentiles per provider', () => {
    const agg = new LiveAggregator({ now: () => 0 });
    const turns = Array.from({ length: 100 }, (_, i) => turn(i, (i + 1) * 10));
    agg.observe(snapshot('s', 'c', turns, 'running'));
    // Latencies 10..1000 ms: the 50th is 500, the 90th 900, the 99th 990 (independent of the code's sort).
    expect(agg.summary().providers.anthropic!.latency).toEqual({ count: 100, p50: 500, p90: 900, p99: 990 });
  });

  it('keeps memory bounded: recent finished conversations and history per conversation are capped', () => {
    const agg = new LiveAggregator({ now: () => 0, recentFinished: 3, historyPerConversation: 4 });
    for (let i = 0; i < 10; i += 1) agg.finished(record(`c${i}`, [turn(0, 1)], 'max_turns', 1));
    expect(agg.list().map((c) => c.id)).toEqual(['c9', 'c8', 'c7']);
    for (let i = 0; i < 10; i += 1) agg.observe(snapshot('s', 'long', [], i % 2 ? 'a' : 'b'));
    expect(agg.detail('long')!.history).toHaveLength(4);
  });

  it('ignores actors that are not conversations and a conversation stopped here is not counted as finished', () => {
    const agg = new LiveAggregator({ now: () => 0 });
    agg.observe({
      type: '@xstate.snapshot',
      actorRef: { sessionId: 'b' },
      snapshot: { context: { state: 'closed' } },
    });
    agg.observe(snapshot('s', 'c', [], 'running'));
    agg.observe(snapshot('s', 'c', [], 'running', 'stopped'));
    expect(agg.summary()).toMatchObject({ inFlight: 0, finished: 0 });
    expect(agg.list()).toMatchObject([{ id: 'c', status: 'stopped' }]);
  });

  it("shows a conversation's discarded turns struck through in place, and its persona and style ids", () => {
    const agg = new LiveAggregator({ now: () => 0 });
    const ref = (id: string) => ({ id, promptHash: 'sha256:0' });
    const provenance = {
      personas: { questioner: ref('skeptic'), answerer: ref('teacher') },
      style: ref('terse'),
    };
    agg.observe(snapshot('s', 'c', [turn(0, 1)], 'running', 'active', { provenance }));
    const dropped = { ...turn(1, 1), text: 'said twice', reason: 'repetition', regenerated: true };
    agg.observe(
      snapshot('s', 'c', [turn(0, 1), turn(1, 1)], 'running', 'active', { provenance, discarded: [dropped] }),
    );
    const detail = agg.detail('c')!;
    expect(detail).toMatchObject({
      persona: 'skeptic / teacher',
      personaIds: ['skeptic', 'teacher'],
      style: 'terse',
    });
    expect(detail.turnList.map((t) => [t.index, t.discarded ?? false, t.discardReason])).toEqual([
      [0, false, undefined],
      [1, false, undefined],
      [1, true, 'repetition'],
    ]);
    expect(detail.turns).toBe(2);
  });
});
