import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { assign, createActor, fromPromise } from 'xstate';
import { assessTurnVerdict } from '../../src/actors/assess-turn.js';
import { deadlineActor } from '../../src/actors/deadline.js';
import type { Turn } from '../../src/events.js';
import {
  assessTurnStep,
  type CallModelInput,
  type ConversationStart,
  conversationMachine,
} from '../../src/machines/conversation.js';
import { activeContext, conversationInput, turnFor } from '../support/conversation-fixtures.js';

const T0 = 1_700_000_000_000;
const TIMEOUT_MS = 10_000;

/** The conversation machine with the real deadline actor on the (fake) clock, and a model that never answers. */
function conversation(input: ConversationStart) {
  const clock = { now: () => Date.now() };
  const calls: CallModelInput[] = [];
  const machine = conversationMachine.provide({
    actors: {
      callModel: fromPromise<Turn, CallModelInput>(({ input: call }) => {
        calls.push(call);
        return new Promise<never>(() => {});
      }),
      deadline: deadlineActor(clock),
    },
    actions: {
      assessTurn: assessTurnStep(assessTurnVerdict()),
      stampEnd: assign({ endedAt: () => clock.now() }),
    },
  });
  return { actor: createActor(machine, { input }).start(), calls };
}

describe('the conversation deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0, toFake: ['Date', 'setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends a conversation whose model never answers as timedOut, with reason timeout, at startedAt + timeout', async () => {
    const settings = { ...conversationInput().settings, timeoutMs: TIMEOUT_MS };
    const { actor } = conversation(conversationInput({ startedAt: T0, settings }));
    await vi.advanceTimersByTimeAsync(TIMEOUT_MS - 1);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    const { status, value, context } = actor.getSnapshot();
    expect(status).toBe('done');
    expect(value).toBe('timedOut');
    expect(context).toMatchObject({
      status: 'timedOut',
      terminationReason: 'timeout',
      endedAt: T0 + TIMEOUT_MS,
    });
  });

  it('restored from a step saved 8 s after its start, fires at the stored start + timeout, 2 s later', async () => {
    const settings = { ...conversationInput().settings, timeoutMs: TIMEOUT_MS };
    const startedAt = T0 - 8_000;
    const restored = activeContext({ startedAt, settings, turns: [turnFor(0), turnFor(1)] });
    const { actor, calls } = conversation({ restore: restored });
    // The call that was in flight is asked again, for the next turn, with the same deadline.
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ turnIndex: 2, deadlineAt: startedAt + TIMEOUT_MS });
    await vi.advanceTimersByTimeAsync(1_999);
    expect(actor.getSnapshot().value).toEqual({ running: 'callingModel' });
    await vi.advanceTimersByTimeAsync(1);
    expect(actor.getSnapshot().context).toMatchObject({
      status: 'timedOut',
      terminationReason: 'timeout',
      startedAt,
      endedAt: T0 + 2_000,
    });
    expect(actor.getSnapshot().context.turns).toHaveLength(2);
  });

  it('restored past its deadline (the daemon was down longer than the timeout), times out at once', async () => {
    const settings = { ...conversationInput().settings, timeoutMs: TIMEOUT_MS };
    const { actor } = conversation({ restore: activeContext({ startedAt: T0 - 60_000, settings }) });
    await vi.advanceTimersByTimeAsync(0);
    expect(actor.getSnapshot().context).toMatchObject({ status: 'timedOut', terminationReason: 'timeout' });
  });
});
