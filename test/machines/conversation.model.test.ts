import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, assign, createActor, fromCallback, fromPromise } from 'xstate';
import type { JudgeVerdict, Turn } from '../../src/events.js';
import {
  type AssessTurn,
  assessTurnStep,
  type CallModelInput,
  type ConversationContext,
  type ConversationInput,
  type ConversationStart,
  conversationMachine,
  type JudgeInput,
  type TurnVerdict,
  turnWindowAt,
} from '../../src/machines/conversation.js';
import { turnFor } from '../support/conversation-fixtures.js';
import {
  deadlineRuns,
  type ExpectedConversation,
  expectedCall,
  type OracleOptions,
  type Phase,
  restore,
  start,
  step,
  type WorldEvent,
} from './conversation.oracle.js';

/**
 * Model-based test with an independent oracle: `@xstate/graph` walks the real machine and yields the
 * shortest path to every state it can reach (from a new conversation and from restored ones); each path is
 * replayed on a live actor whose actors the test controls, and after every step the live actor, and the
 * graph's own state, must be what the reference model in `conversation.oracle.ts` says. The oracle is
 * written from the README, so a wrong transition in the machine shows up as a difference.
 *
 * The verdict on an answer is a step of the machine, taken with the answer: the test's assessment reads
 * it from the answer's text (`verdict:<verdict>`, or `verdict:throw` for an assessment that fails), so
 * one model answer is the oracle's answer followed by its verdict.
 */

const MAX_TURNS = 3;
/** A turn's window in batch mode. */
const WINDOW_MS = 50_000;

const input: ConversationInput = {
  conversationId: 'conv-model',
  topic: { id: 'topic-1', title: 'Heat pumps in cold climates' },
  providers: { questioner: 'anthropic', answerer: 'gemini' },
  personas: { questioner: 'ask', answerer: 'answer' },
  settings: { maxTurns: MAX_TURNS, minTurns: 2, timeoutMs: 60_000, maxTokensPerTurn: 100, temperature: 0.5 },
  startedAt: 1_000,
};

const VERDICTS: TurnVerdict[] = ['continue', 'retry_with_nudge', 'natural_end', 'refusal', 'repetition'];

/** A model answer for turn `index` whose assessment gives `verdict` (`throw`: the assessment fails). */
const answer = (index: number, verdict: TurnVerdict | 'throw'): Turn =>
  turnFor(index, { text: `verdict:${verdict}` });

/** The test's assessment: the verdict the answer's text names. */
const assess: AssessTurn = ({ text }) => {
  const verdict = text.slice('verdict:'.length);
  if (verdict === 'throw') throw { code: 'bug', message: 'the assessment failed' };
  return { verdict: verdict as TurnVerdict };
};

/** The oracle's events for the verdict on an answer with this text. */
function verdictOf(text: string): WorldEvent {
  const verdict = text.slice('verdict:'.length);
  return verdict === 'throw' ? { kind: 'judgeFailed' } : { kind: 'verdict', verdict: verdict as TurnVerdict };
}

const restoredContext = (overrides: Partial<ConversationContext>): ConversationContext => ({
  ...input,
  turns: [],
  nudge: false,
  nudges: 0,
  status: 'active',
  ...overrides,
});

/** Conversations adopted from the store at the steps a daemon can die in. */
const RESTORES: Record<string, ConversationContext> = {
  // Saved by a daemon of an earlier version, which assessed through an actor: assessed again on restore.
  ...Object.fromEntries(
    [...VERDICTS, 'throw' as const].map((verdict) => [
      `restored while its answer awaited the verdict (${verdict})`,
      restoredContext({ turns: [turnFor(0)], pending: answer(1, verdict) }),
    ]),
  ),
  'restored while calling for its second turn': restoredContext({ turns: [turnFor(0)] }),
  'restored while paused for budget': restoredContext({
    turns: [turnFor(0)],
    paused: { reason: 'budget', at: 2_000 },
  }),
  'restored while regenerating a nudged turn': restoredContext({
    turns: [turnFor(0)],
    nudge: true,
    nudges: 1,
    discarded: [{ ...turnFor(1), reason: 'repetition', regenerated: true }],
  }),
};

/** Restored with its ending decided, before the judge answered (only reachable with a judge configured). */
const AWAITING_JUDGEMENT = restoredContext({
  turns: [turnFor(0), turnFor(1)],
  terminationReason: 'natural_end',
});

const VERDICT: JudgeVerdict = {
  status: 'judged',
  provider: 'openai',
  model: 'judge-model',
  overall: 4,
  rationale: 'fine',
  usage: { inputTokens: 10, outputTokens: 5 },
  attempts: 1,
  at: 2_000,
};

type Snapshot = ReturnType<typeof conversationMachine.transition>;
type ModelEvent = Parameters<typeof conversationMachine.transition>[1];

/** The events the world can send in each state: model answers and failures, verdicts, the deadline, cancel. */
const eventsFor =
  (turnWindows: boolean) =>
  (snapshot: Snapshot): ModelEvent[] => {
    // In batch mode a deadline fires only where one runs: while a call waits.
    const timeout = !turnWindows || deadlineRuns(phaseOf(snapshot), true);
    const events: ModelEvent[] = timeout ? [{ type: 'TIMEOUT' }, { type: 'CANCEL' }] : [{ type: 'CANCEL' }];
    if (snapshot.matches({ running: 'callingModel' })) {
      // The assessor grants one nudged regeneration per conversation (MAX_REPETITION_NUDGES).
      for (const verdict of [...VERDICTS, 'throw' as const].filter(
        (v) => v !== 'retry_with_nudge' || snapshot.context.nudges < 1,
      )) {
        events.push({
          type: 'xstate.done.actor.callModel',
          output: answer(snapshot.context.turns.length, verdict),
        } as ModelEvent);
      }
      events.push({
        type: 'xstate.error.actor.callModel',
        error: { code: 'overloaded', message: 'x' },
      } as never);
      events.push({
        type: 'xstate.error.actor.callModel',
        error: { code: 'budget_exhausted', message: 'spending cap reached' },
      } as never);
    }
    if (snapshot.matches('paused')) events.push({ type: 'RESUME', at: 5_000 });
    if (snapshot.matches('judging')) {
      events.push({ type: 'xstate.done.actor.judge', output: VERDICT } as ModelEvent);
      events.push({
        type: 'xstate.error.actor.judge',
        error: { code: 'judge_failed', message: 'x' },
      } as never);
    }
    return events;
  };

/** The world events a machine event stands for, in the oracle's terms (none for `xstate.init`). */
function worldEvents(event: ModelEvent): WorldEvent[] {
  const type = event.type as string;
  if (type === 'TIMEOUT') return [{ kind: 'deadline' }];
  if (type === 'CANCEL') return [{ kind: 'cancel' }];
  // An answer, and the verdict on it within the same step.
  if (type === 'xstate.done.actor.callModel')
    return [{ kind: 'answer' }, verdictOf((event as { output: Turn }).output.text)];
  if (type === 'xstate.error.actor.callModel')
    return (event as never as { error: { code: string } }).error.code === 'budget_exhausted'
      ? [{ kind: 'budgetRefused' }]
      : [{ kind: 'callFailed' }];
  if (type === 'RESUME') return [{ kind: 'resume' }];
  if (type === 'xstate.done.actor.judge') return [{ kind: 'judgement' }];
  if (type === 'xstate.error.actor.judge') return [{ kind: 'judgeCallFailed' }];
  return []; // xstate.init
}

function phaseOf(snapshot: Snapshot): Phase {
  if (snapshot.matches({ running: 'callingModel' })) return 'calling';
  if (snapshot.matches({ running: 'assessingQuality' })) return 'assessing';
  return snapshot.value as Phase;
}

/** The live (or graph) snapshot in the oracle's terms. */
function observed(snapshot: Snapshot): ExpectedConversation {
  const { context } = snapshot;
  return {
    phase: phaseOf(snapshot),
    ...countsOf(context),
    ...(context.judge ? { judged: context.judge.status } : {}),
  };
}

/** A context's counts in the oracle's terms. */
function countsOf(context: ConversationContext) {
  return {
    turns: context.turns.length,
    discarded: context.discarded?.length ?? 0,
    nudges: context.nudges,
    nudge: context.nudge,
    pending: context.pending !== undefined,
    ...(context.terminationReason ? { reason: context.terminationReason } : {}),
  };
}

const serialize = (s: Snapshot) => JSON.stringify(observed(s));

interface Controls {
  call?: { input: CallModelInput; resolve: (t: Turn) => void; reject: (e: unknown) => void };
  /** The deadlines running now (those with a time), in the order they started. */
  armed: Set<{ at: number; fire: () => void }>;
  judge?: { input: JudgeInput; resolve: (v: JudgeVerdict) => void; reject: (e: unknown) => void };
}

function liveActor(start: ConversationStart, options: OracleOptions, clock: { now: number }) {
  const controls: Controls = { armed: new Set() };
  const machine = conversationMachine.provide({
    actors: {
      callModel: fromPromise<Turn, CallModelInput>(
        ({ input }) => new Promise((resolve, reject) => (controls.call = { input, resolve, reject })),
      ),
      deadline: fromCallback<{ type: 'TIMEOUT' }, { at: number | null }>(({ sendBack, input }) => {
        if (input.at === null) return;
        const deadline = { at: input.at, fire: () => sendBack({ type: 'TIMEOUT' }) };
        controls.armed.add(deadline);
        return () => controls.armed.delete(deadline);
      }),
      judge: fromPromise<JudgeVerdict, JudgeInput>(
        ({ input }) => new Promise((resolve, reject) => (controls.judge = { input, resolve, reject })),
      ),
    },
    actions: {
      assessTurn: assessTurnStep(assess),
      stampTurn: assign({ turnWindow: ({ context }) => turnWindowAt(context, clock.now) }),
    },
    guards: { judgeEnabled: () => options.judge },
  });
  const actor = createActor(machine, { input: start });
  actor.start();
  return { actor, controls };
}

async function apply(actor: AnyActorRef, controls: Controls, event: ModelEvent): Promise<void> {
  const type = event.type as string;
  if (type === 'xstate.done.actor.callModel') controls.call!.resolve((event as { output: Turn }).output);
  else if (type === 'xstate.error.actor.callModel')
    controls.call!.reject((event as never as { error: unknown }).error);
  else if (type === 'xstate.done.actor.judge')
    controls.judge!.resolve((event as { output: JudgeVerdict }).output);
  else if (type === 'xstate.error.actor.judge')
    controls.judge!.reject((event as never as { error: unknown }).error);
  else if (type === 'TIMEOUT') {
    // The deadline that runs fires; where none runs the event reaches the machine all the same (ignored).
    const running = [...controls.armed].at(-1);
    if (running) running.fire();
    else actor.send(event);
  } else actor.send(event);
  // Promise actors settle on the microtask queue.
  await new Promise((resolve) => setImmediate(resolve));
}

/** What the oracle expects of a restored conversation once started: a pending answer is judged at once. */
function restored(context: ConversationContext, options: OracleOptions): ExpectedConversation {
  const expected = restore(countsOf(context), MAX_TURNS, options, context.paused !== undefined);
  return expected.phase === 'assessing'
    ? step(expected, verdictOf(context.pending!.text), MAX_TURNS, options)
    : expected;
}

function startsFor(
  options: OracleOptions,
  turnWindows: boolean,
): Array<{
  name: string;
  input: ConversationStart;
  expected: ExpectedConversation;
}> {
  const restores = options.judge
    ? { ...RESTORES, 'restored while awaiting its judgement': AWAITING_JUDGEMENT }
    : RESTORES;
  const settings = turnWindows ? { ...input.settings, turnWindowMs: WINDOW_MS } : input.settings;
  return [
    { name: 'a new conversation', input: { ...input, settings }, expected: start(MAX_TURNS, options) },
    ...Object.entries(restores).map(([name, context]) => ({
      name,
      input: { restore: { ...context, settings } },
      expected: restored(context, options),
    })),
  ];
}

const MODES: Array<{ name: string; options: OracleOptions; turnWindows: boolean }> = [
  { name: 'without a judge', options: { judge: false }, turnWindows: false },
  { name: 'with a judge', options: { judge: true }, turnWindows: false },
  { name: 'in batch mode (a deadline per turn window)', options: { judge: false }, turnWindows: true },
];

describe.each(MODES)(
  'conversation machine $name, model-based against a reference model',
  ({ options, turnWindows }) => {
    const machine = conversationMachine.provide({
      actions: { assessTurn: assessTurnStep(assess) },
      guards: { judgeEnabled: () => options.judge },
    });
    for (const origin of startsFor(options, turnWindows)) {
      describe(origin.name, () => {
        const paths = getShortestPaths(machine, {
          input: origin.input,
          events: eventsFor(turnWindows),
          serializeState: serialize,
        });

        it('the generated paths reach every ending, the timeout and the cancel', () => {
          if (origin.name === 'restored while awaiting its judgement') {
            // Only the judgement was outstanding: it ends, judged or not, whatever happens.
            expect(new Set(paths.map((p) => phaseOf(p.state)))).toEqual(new Set(['judging', 'ended']));
            return;
          }
          // The verdict is taken with the answer: no path rests while an answer waits for it.
          expect(paths.some((p) => phaseOf(p.state) === 'assessing')).toBe(false);
          if (['judging', 'ended', 'failed'].includes(origin.expected.phase)) {
            // The restored answer's verdict ended it at the start: nothing but its ending (and judgement) is left.
            const ending =
              origin.expected.phase === 'judging' ? ['judging', 'ended'] : [origin.expected.phase];
            expect(new Set(paths.map((p) => phaseOf(p.state)))).toEqual(new Set(ending));
            return;
          }
          const reasons = new Set(paths.map((p) => p.state.context.terminationReason).filter(Boolean));
          for (const reason of [
            'cancelled',
            'natural_end',
            'provider_failed',
            'refusal',
            'repetition',
            'timeout',
          ])
            expect(reasons).toContain(reason);
          const phases = new Set(paths.map((p) => phaseOf(p.state)));
          for (const phase of ['calling', 'paused', 'ended', 'failed', 'timedOut'])
            expect(phases).toContain(phase);
          if (options.judge) {
            expect(phases).toContain('judging');
            const outcomes = new Set(paths.map((p) => p.state.context.judge?.status));
            expect(outcomes).toContain('judged');
            expect(outcomes).toContain('unjudged');
          } else {
            expect(paths.every((p) => p.state.context.judge === undefined)).toBe(true);
          }
        });

        for (const path of paths) {
          const steps = path.steps.filter((s) => worldEvents(s.event).length > 0);
          const name = steps.map((s) => s.event.type.replace('xstate.', '')).join(' > ') || '(start)';
          it(`follows the reference model: ${name}`, async () => {
            const clock = { now: 100_000 };
            const { actor, controls } = liveActor(origin.input, options, clock);
            let expected = origin.expected;
            // The window of the call that waits, by the rule of the reference model: from when it first asked.
            let window: { key: string; since: number } | undefined;
            let previous: Phase | undefined;
            const checkDeadlines = () => {
              expect(controls.armed.size).toBe(deadlineRuns(expected.phase, turnWindows) ? 1 : 0);
              if (!turnWindows || expected.phase !== 'calling') return;
              const call = expectedCall(expected);
              const key = `${call.turnIndex}/${call.generation}`;
              if (window?.key !== key || previous === 'paused') window = { key, since: clock.now };
              const [running] = [...controls.armed];
              expect(running!.at).toBe(window.since + WINDOW_MS);
              expect(controls.call!.input.deadlineAt).toBe(window.since + WINDOW_MS);
            };
            expect(observed(actor.getSnapshot())).toEqual(expected);
            checkDeadlines();
            for (const { event, state } of steps) {
              previous = expected.phase;
              for (const world of worldEvents(event)) expected = step(expected, world, MAX_TURNS, options);
              clock.now += 1_000;
              await apply(actor, controls, event);
              expect(observed(actor.getSnapshot())).toEqual(expected);
              checkDeadlines();
              // The graph's own state is the machine's transition function: it must agree with the model too.
              expect(observed(state)).toEqual(expected);
              // Each model call is for the turn the reference model expects, by the side whose turn it is.
              if (expected.phase === 'calling')
                expect(controls.call!.input).toMatchObject(expectedCall(expected));
              // The judge is given the kept turns of the finished conversation.
              if (expected.phase === 'judging')
                expect(controls.judge!.input.turns).toHaveLength(expected.turns);
            }
            const end = actor.getSnapshot();
            if (end.status === 'done') {
              expect(end.context.status).toBe(expected.phase);
              expect(end.context.quality).toBeDefined();
              expect(end.context.quality?.judge?.status).toBe(expected.judged);
              expect(end.output).toMatchObject({ conversationId: 'conv-model', status: expected.phase });
            }
            actor.stop();
          });
        }
      });
    }
  },
);

describe('conversation machine, paused for budget', () => {
  it('keeps its last completed turn, and resumes with the time paused added to its deadline', async () => {
    const deadlines: number[] = [];
    const calls: CallModelInput[] = [];
    let reject: ((e: unknown) => void) | undefined;
    const machine = conversationMachine.provide({
      actors: {
        callModel: fromPromise<Turn, CallModelInput>(
          ({ input }) =>
            new Promise((_resolve, rej) => {
              calls.push(input);
              reject = rej;
            }),
        ),
        // Online there is no per-turn deadline: the calls' deadline actors get null and never fire.
        deadline: fromCallback<{ type: 'TIMEOUT' }, { at: number | null }>(({ input }) => {
          if (input.at !== null) deadlines.push(input.at);
        }),
      },
      actions: {
        assessTurn: assessTurnStep(assess),
        pause: assign({ paused: { reason: 'budget' as const, at: 10_000 } }),
      },
    });
    const actor = createActor(machine, { input: { restore: restoredContext({ turns: [turnFor(0)] }) } });
    actor.start();
    reject!({ code: 'budget_exhausted', message: 'spending cap reached' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(actor.getSnapshot().value).toBe('paused');
    expect(actor.getSnapshot().context).toMatchObject({ status: 'active', paused: { reason: 'budget' } });
    expect(actor.getSnapshot().context.turns).toHaveLength(1);
    actor.send({ type: 'RESUME', at: 25_000 });
    expect(actor.getSnapshot().matches({ running: 'callingModel' })).toBe(true);
    expect(actor.getSnapshot().context.paused).toBeUndefined();
    // Started at 1,000 with a 60 s timeout; paused from 10,000 to 25,000.
    expect(deadlines).toEqual([61_000, 76_000]);
    expect(calls.map((c) => [c.turnIndex, c.generation])).toEqual([
      [1, 0],
      [1, 0],
    ]);
    actor.stop();
  });
});

describe('conversation machine, a call in flight at a crash', () => {
  /** A machine whose model calls the test answers or fails, one at a time. */
  function controlled() {
    const calls: CallModelInput[] = [];
    const settle: Array<{ resolve: (turn: Turn) => void; reject: (e: unknown) => void }> = [];
    const machine = conversationMachine.provide({
      actors: {
        callModel: fromPromise<Turn, CallModelInput>(
          ({ input }) =>
            new Promise((resolve, reject) => {
              calls.push(input);
              settle.push({ resolve, reject });
            }),
        ),
        deadline: fromCallback<{ type: 'TIMEOUT' }, { at: number | null }>(() => {}),
      },
      actions: { assessTurn: assessTurnStep(assess) },
    });
    return { machine, calls, settle };
  }

  it('records the call it is making (inFlight) on entering callingModel, and clears it with the answer', async () => {
    const { machine, calls, settle } = controlled();
    const actor = createActor(machine, { input });
    actor.start();
    expect(actor.getSnapshot().context.inFlight).toEqual({ turnIndex: 0, generation: 0 });
    expect(calls[0]?.mayHaveBeenSent).toBeUndefined();
    settle[0]!.resolve(answer(0, 'retry_with_nudge'));
    await new Promise((resolve) => setImmediate(resolve));
    // The answer was judged (a nudged regeneration) and the regeneration is the call in flight now.
    expect(actor.getSnapshot().context.discarded).toHaveLength(1);
    expect(actor.getSnapshot().context.inFlight).toEqual({ turnIndex: 0, generation: 1 });
    settle[1]!.resolve(answer(0, 'natural_end'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(actor.getSnapshot().context.turns).toHaveLength(1);
    expect(actor.getSnapshot().context.inFlight).toBeUndefined();
    actor.stop();
  });

  it('restored with a call in flight, asks for it as one that may have been sent; lost, the turn is asked for under the next generation and the loss is recorded', async () => {
    const { machine, calls, settle } = controlled();
    const actor = createActor(machine, {
      input: { restore: restoredContext({ turns: [turnFor(0)], inFlight: { turnIndex: 1, generation: 0 } }) },
    });
    actor.start();
    expect(calls.map((c) => [c.turnIndex, c.generation, c.mayHaveBeenSent])).toEqual([[1, 0, true]]);
    settle[0]!.reject({ code: 'call_lost', message: 'lost', at: 5_000, worstCaseMicros: 1_234 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(actor.getSnapshot().matches({ running: 'callingModel' })).toBe(true);
    expect(actor.getSnapshot().context.lostCalls).toEqual([
      { turnIndex: 1, generation: 0, at: 5_000, worstCaseMicros: 1_234 },
    ]);
    // The new call is a new attempt: the next generation, recorded in flight, not suspected of being sent.
    expect(calls.map((c) => [c.turnIndex, c.generation, c.mayHaveBeenSent])).toEqual([
      [1, 0, true],
      [1, 1, undefined],
    ]);
    expect(actor.getSnapshot().context.inFlight).toEqual({ turnIndex: 1, generation: 1 });
    actor.stop();
  });

  it('restored with a call in flight whose answer was recorded, keeps that answer (the call actor returns it)', async () => {
    const { machine, calls, settle } = controlled();
    const actor = createActor(machine, {
      input: { restore: restoredContext({ turns: [turnFor(0)], inFlight: { turnIndex: 1, generation: 0 } }) },
    });
    actor.start();
    settle[0]!.resolve(answer(1, 'natural_end'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    expect(actor.getSnapshot().context.turns.at(-1)?.index).toBe(1);
    expect(actor.getSnapshot().context.lostCalls).toBeUndefined();
    actor.stop();
  });
});
