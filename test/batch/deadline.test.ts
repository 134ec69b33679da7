import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromPromise } from 'xstate';
import { deadlineActor } from '../../src/actors/deadline.js';
import { newConversationInput } from '../../src/app/supervisor.js';
import { loadConfig } from '../../src/config.js';
import type { Turn } from '../../src/events.js';
import {
  assessTurnStep,
  type CallModelInput,
  type ConversationStart,
  conversationMachine,
  deadlineOf,
  turnWindowAt,
} from '../../src/machines/conversation.js';
import { activeContext, conversationInput, turnFor } from '../support/conversation-fixtures.js';

const topic = { id: 't-1', title: 'Tidal power' };

describe('a conversation’s deadline in batch mode: configuration', () => {
  it('gives each turn a window of BATCH_MAX_WAIT_HOURS when a side runs in batch mode, and no deadline on the whole', () => {
    const config = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      ANTHROPIC_MODE: 'batch',
      MAX_CONVERSATION_TURNS: '6',
      BATCH_MAX_WAIT_HOURS: '2',
    });
    const input = newConversationInput(config, ['anthropic', 'simulated'])(topic, 'c-1', 0);
    expect(input.settings.turnWindowMs).toBe(2 * 3_600_000);
    expect(deadlineOf({ startedAt: 0, settings: input.settings })).toBeNull();
  });

  it('stays CONVERSATION_TIMEOUT_SECONDS on the whole conversation online, without turn windows', () => {
    const config = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      CONVERSATION_TIMEOUT_SECONDS: '90',
    });
    const input = newConversationInput(config, ['anthropic', 'anthropic'])(topic, 'c-1', 0);
    expect(input.settings.timeoutMs).toBe(90_000);
    expect(input.settings.turnWindowMs).toBeUndefined();
    expect(deadlineOf({ startedAt: 5, settings: input.settings })).toBe(90_005);
  });
});

const T0 = 1_700_000_000_000;
const WINDOW_MS = 10_000;
const windowed = { ...conversationInput().settings, maxTurns: 4, timeoutMs: 1_000, turnWindowMs: WINDOW_MS };

/**
 * The conversation machine with the real deadline actor on fake timers, each turn answered after
 * `answerAfterMs[turnIndex]` (never when undefined), every answer kept.
 */
function conversation(input: ConversationStart, answerAfterMs: readonly number[], refuseFirstCall = false) {
  const clock = { now: () => Date.now() };
  const calls: CallModelInput[] = [];
  const machine = conversationMachine.provide({
    actors: {
      callModel: fromPromise<Turn, CallModelInput>(({ input: call }) => {
        calls.push(call);
        if (refuseFirstCall && calls.length === 1)
          return Promise.reject({ code: 'budget_exhausted', message: 'spending cap reached' });
        const after = answerAfterMs[call.turnIndex];
        if (after === undefined) return new Promise<never>(() => {});
        return new Promise((resolve) => setTimeout(() => resolve(turnFor(call.turnIndex)), after));
      }),
      deadline: deadlineActor(clock),
    },
    actions: {
      assessTurn: assessTurnStep(() => ({ verdict: 'continue' })),
      stampEnd: assign({ endedAt: () => clock.now() }),
      pause: assign({ paused: () => ({ reason: 'budget' as const, at: clock.now() }) }),
      stampTurn: assign({ turnWindow: ({ context }) => turnWindowAt(context, clock.now()) }),
    },
  });
  return { actor: createActor(machine, { input }).start(), calls };
}

describe('a conversation’s deadline in batch mode: one window per turn', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('four turns of 8 s each (32 s in all, three windows’ worth) end normally: no deadline on the total', async () => {
    const { actor, calls } = conversation(
      conversationInput({ startedAt: T0, settings: windowed }),
      [8_000, 8_000, 8_000, 8_000],
    );
    await vi.advanceTimersByTimeAsync(32_000);
    const { context } = actor.getSnapshot();
    expect(context).toMatchObject({ status: 'ended', terminationReason: 'max_turns' });
    expect(context.turns).toHaveLength(4);
    // Each call is told its own window's end: from when it asked, not from the start.
    expect(calls.map((call) => call.deadlineAt - T0)).toEqual([10_000, 18_000, 26_000, 34_000]);
  });

  it('times out when one turn waits longer than its window, at that turn’s start + the window', async () => {
    const { actor } = conversation(conversationInput({ startedAt: T0, settings: windowed }), [8_000, 8_000]);
    // Turns 0 and 1 answered at 8 s and 16 s; turn 2 asks at 16 s and never hears back.
    await vi.advanceTimersByTimeAsync(16_000 + WINDOW_MS - 1);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    const { context } = actor.getSnapshot();
    expect(context).toMatchObject({
      status: 'timedOut',
      terminationReason: 'timeout',
      endedAt: T0 + 16_000 + WINDOW_MS,
    });
    expect(context.turns).toHaveLength(2);
  });

  it('restored while its turn waits, keeps the window that turn already used (times out 2 s later, not 10 s)', async () => {
    const restored = activeContext({
      startedAt: T0 - 60_000,
      settings: windowed,
      turns: [turnFor(0), turnFor(1)],
      turnWindow: { turnIndex: 2, generation: 0, since: T0 - 8_000 },
    });
    const { actor, calls } = conversation({ restore: restored }, []);
    // Asked again for the same turn, with the same window.
    expect(calls[0]).toMatchObject({ turnIndex: 2, deadlineAt: T0 + 2_000 });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().context).toMatchObject({ status: 'timedOut', endedAt: T0 + 2_000 });
  });

  it('restored after its turn was answered, gives the next turn a window of its own from when it asks', async () => {
    const restored = activeContext({
      startedAt: T0 - 600_000,
      settings: windowed,
      turns: [turnFor(0), turnFor(1)],
      // The window of turn 1, long over: it does not carry to turn 2.
      turnWindow: { turnIndex: 1, generation: 0, since: T0 - 500_000 },
    });
    const { actor, calls } = conversation({ restore: restored }, [0, 0, 9_000, 9_000]);
    expect(calls[0]).toMatchObject({ turnIndex: 2, deadlineAt: T0 + WINDOW_MS });
    await vi.advanceTimersByTimeAsync(18_000);
    expect(actor.getSnapshot().context).toMatchObject({ status: 'ended', terminationReason: 'max_turns' });
  });

  it('a call the spending cap refused, resumed an hour later, gets a window of its own from the resume', async () => {
    const { actor, calls } = conversation(conversationInput({ startedAt: T0, settings: windowed }), [], true);
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().value).toBe('paused');
    await vi.advanceTimersByTimeAsync(3_600_000);
    actor.send({ type: 'RESUME', at: Date.now() });
    expect(calls[1]).toMatchObject({ turnIndex: 0, deadlineAt: Date.now() + WINDOW_MS });
    await vi.advanceTimersByTimeAsync(WINDOW_MS - 1);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().context).toMatchObject({ status: 'timedOut', terminationReason: 'timeout' });
  });

  it('a window longer than one timer can wait (BATCH_MAX_WAIT_HOURS=168) neither fires early nor never', async () => {
    const week = 168 * 3_600_000;
    const { actor } = conversation(
      conversationInput({ startedAt: T0, settings: { ...windowed, turnWindowMs: week } }),
      [],
    );
    await vi.advanceTimersByTimeAsync(week - 1);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().context).toMatchObject({ status: 'timedOut', endedAt: T0 + week });
  });
});
