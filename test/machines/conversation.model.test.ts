import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, fromPromise } from 'xstate';
import type { Turn } from '../../src/events.js';
import {
  type AssessTurnInput,
  type AssessTurnOutput,
  type CallModelInput,
  type ConversationInput,
  conversationMachine,
  type TurnVerdict,
} from '../../src/machines/conversation.js';

const input: ConversationInput = {
  conversationId: 'conv-model',
  topic: { id: 'topic-1', title: 'Heat pumps in cold climates' },
  providers: { questioner: 'anthropic', answerer: 'gemini' },
  personas: { questioner: 'ask', answerer: 'answer' },
  settings: { maxTurns: 3, minTurns: 2, timeoutMs: 60_000, maxTokensPerTurn: 100, temperature: 0.5 },
  startedAt: 1_000,
};

function turnFor(index: number): Turn {
  return {
    index,
    speaker: index % 2 === 0 ? 'questioner' : 'answerer',
    provider: index % 2 === 0 ? 'anthropic' : 'gemini',
    model: 'm',
    text: `turn ${index}`,
    usage: { inputTokens: 10, outputTokens: 5 },
    latencyMs: 3,
    attempts: 1,
    requestId: `r-${index}`,
    at: 2_000 + index,
  };
}

type Snapshot = ReturnType<typeof conversationMachine.transition>;
type ModelEvent = Parameters<typeof conversationMachine.transition>[1];

const VERDICTS: TurnVerdict[] = ['continue', 'retry_with_nudge', 'natural_end', 'refusal', 'repetition'];

/** The events the world can send in each state: model answers and failures, verdicts, the deadline, cancel. */
function eventsFor(snapshot: Snapshot): ModelEvent[] {
  const events: ModelEvent[] = [{ type: 'TIMEOUT' }, { type: 'CANCEL' }];
  if (snapshot.matches({ running: 'callingModel' })) {
    events.push({
      type: 'xstate.done.actor.callModel',
      output: turnFor(snapshot.context.turns.length),
    } as ModelEvent);
    events.push({
      type: 'xstate.error.actor.callModel',
      error: { code: 'overloaded', message: 'x' },
    } as never);
  }
  if (snapshot.matches({ running: 'assessingQuality' })) {
    // The assessor grants one nudged regeneration per conversation (MAX_REPETITION_NUDGES).
    for (const verdict of VERDICTS.filter((v) => v !== 'retry_with_nudge' || snapshot.context.nudges < 1)) {
      events.push({ type: 'xstate.done.actor.assessTurn', output: { verdict } } as ModelEvent);
    }
  }
  return events;
}

const serialize = (s: Snapshot) =>
  JSON.stringify({
    value: s.value,
    turns: s.context.turns.length,
    nudges: s.context.nudges,
    status: s.context.status,
    reason: s.context.terminationReason,
    pending: Boolean(s.context.pending),
  });

interface Controls {
  call?: { input: CallModelInput; resolve: (t: Turn) => void; reject: (e: unknown) => void };
  assess?: { resolve: (o: AssessTurnOutput) => void };
  timeout?: () => void;
}

function liveActor() {
  const controls: Controls = {};
  const machine = conversationMachine.provide({
    actors: {
      callModel: fromPromise<Turn, CallModelInput>(
        ({ input }) => new Promise((resolve, reject) => (controls.call = { input, resolve, reject })),
      ),
      assessTurn: fromPromise<AssessTurnOutput, AssessTurnInput>(
        () => new Promise((resolve) => (controls.assess = { resolve })),
      ),
      deadline: fromCallback(({ sendBack }) => {
        controls.timeout = () => sendBack({ type: 'TIMEOUT' });
      }),
    },
  });
  const actor = createActor(machine, { input });
  actor.start();
  return { actor, controls };
}

async function apply(actor: AnyActorRef, controls: Controls, event: ModelEvent): Promise<void> {
  switch (event.type) {
    case 'xstate.done.actor.callModel':
      controls.call!.resolve((event as { output: Turn }).output);
      break;
    case 'xstate.done.actor.assessTurn':
      controls.assess!.resolve((event as { output: AssessTurnOutput }).output);
      break;
    case 'TIMEOUT':
      controls.timeout!();
      break;
    default:
      if ((event.type as string) === 'xstate.error.actor.callModel')
        controls.call!.reject((event as never as { error: unknown }).error);
      else actor.send(event);
  }
  // Promise actors settle on the microtask queue.
  await new Promise((resolve) => setImmediate(resolve));
}

describe('conversation machine, model-based', () => {
  const paths = getShortestPaths(conversationMachine, {
    input,
    events: eventsFor,
    serializeState: serialize,
  });

  it('the generated paths reach every state, including each ending and the timeout', () => {
    const reached = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const value of [
      { running: 'callingModel' },
      { running: 'assessingQuality' },
      'ended',
      'failed',
      'timedOut',
    ]) {
      expect(reached).toContain(JSON.stringify(value));
    }
    const reasons = new Set(paths.map((p) => p.state.context.terminationReason).filter(Boolean));
    expect([...reasons].sort()).toEqual(
      ['cancelled', 'max_turns', 'natural_end', 'provider_failed', 'refusal', 'repetition', 'timeout'].sort(),
    );
  });

  for (const path of paths) {
    const name = path.steps.map((s) => s.event.type.replace('xstate.', '')).join(' > ') || '(initial)';
    it(`a live actor follows the path: ${name}`, async () => {
      const { actor, controls } = liveActor();
      for (const step of path.steps) {
        await apply(actor, controls, step.event);
        const live = actor.getSnapshot();
        expect(serialize(live)).toBe(serialize(step.state));
      }
      const end = actor.getSnapshot();
      if (end.status === 'done') {
        expect(end.context.quality).toBeDefined();
        expect(end.output).toMatchObject({ conversationId: 'conv-model', status: end.context.status });
      }
      // The model is always called for the next index, by the side whose turn it is.
      if (controls.call)
        expect(controls.call.input.speaker).toBe(
          controls.call.input.turnIndex % 2 === 0 ? 'questioner' : 'answerer',
        );
      actor.stop();
    });
  }
});
