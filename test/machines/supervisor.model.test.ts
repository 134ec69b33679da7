import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock } from 'xstate';
import type { ConversationInput } from '../../src/machines/conversation.js';
import { type ConversationSpawnInput, supervisorMachine, type Work } from '../../src/machines/supervisor.js';

const MAX = 2;
/** Bounds the graph: work is offered until this many conversations were spawned in total. */
const MAX_SPAWNED = 3;
const BACKOFF_MS = 1000;
const DRAIN_MS = 30_000;

type Snapshot = ReturnType<typeof supervisorMachine.transition>;
type ModelEvent = Parameters<typeof supervisorMachine.transition>[1];

const spawned = (s: Snapshot) =>
  s.context.active.length + s.context.settled + s.context.lost + s.context.crashed;

function work(id: string): Work {
  return { kind: 'new', conversationId: id, input: { conversationId: id } as ConversationInput };
}

const graphMachine = supervisorMachine.provide({
  actors: {
    nextWork: fromPromise<Work | null, { active: number }>(() => new Promise(() => {})),
    conversation: fromPromise<unknown, ConversationSpawnInput>(() => new Promise(() => {})),
  },
  delays: { intakeBackoff: BACKOFF_MS, drainTimeout: DRAIN_MS },
});

function eventsFor(s: Snapshot): ModelEvent[] {
  const events = [{ type: 'DRAIN' }] as ModelEvent[];
  for (const id of s.context.active) {
    events.push(
      { type: 'CONVERSATION_SETTLED', conversationId: id },
      { type: 'CONVERSATION_LOST', conversationId: id },
    );
  }
  if (s.matches({ running: 'pulling' })) {
    if (spawned(s) < MAX_SPAWNED) {
      events.push({
        type: 'xstate.done.actor.0.supervisor.running.pulling',
        output: work(`c${spawned(s)}`),
      } as never);
    }
    events.push({ type: 'xstate.done.actor.0.supervisor.running.pulling', output: null } as never);
    events.push({
      type: 'xstate.error.actor.0.supervisor.running.pulling',
      error: new Error('redis down'),
    } as never);
  }
  if (s.matches({ running: 'backoff' }))
    events.push({ type: 'xstate.after.intakeBackoff.supervisor.running.backoff' } as never);
  if (s.matches('draining')) events.push({ type: 'xstate.after.drainTimeout.supervisor.draining' } as never);
  return events;
}

const serialize = (s: Snapshot) =>
  JSON.stringify({
    value: s.value,
    active: s.context.active,
    settled: s.context.settled,
    lost: s.context.lost,
  });

function liveSupervisor() {
  const clock = new SimulatedClock();
  let pull: { resolve: (w: Work | null) => void; reject: (e: unknown) => void } | undefined;
  const started: string[] = [];
  const machine = supervisorMachine.provide({
    actors: {
      nextWork: fromPromise<Work | null, { active: number }>(
        () => new Promise((resolve, reject) => (pull = { resolve, reject })),
      ),
      conversation: fromPromise<unknown, ConversationSpawnInput>(({ self }) => {
        started.push(self.id);
        return new Promise(() => {});
      }),
    },
    delays: { intakeBackoff: BACKOFF_MS, drainTimeout: DRAIN_MS },
  });
  const actor = createActor(machine, { input: { maxConcurrent: MAX }, clock });
  actor.start();
  return { actor, clock, started, pull: () => pull! };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('supervisor machine, model-based', () => {
  const paths = getShortestPaths(graphMachine, {
    input: { maxConcurrent: MAX },
    events: eventsFor,
    serializeState: serialize,
  });

  it('the generated paths cover being full, backing off, draining and stopping', () => {
    const values = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const v of [
      { running: 'pulling' },
      { running: 'full' },
      { running: 'backoff' },
      'draining',
      'stopped',
    ]) {
      expect(values).toContain(JSON.stringify(v));
    }
    // Never more than MAX at once on any path.
    for (const path of paths)
      for (const step of path.steps) expect(step.state.context.active.length).toBeLessThanOrEqual(MAX);
  });

  for (const path of paths) {
    const name =
      path.steps.map((s) => s.event.type.replace(/^xstate\.|\.supervisor.*$/g, '')).join(' > ') ||
      '(initial)';
    it(`a live supervisor follows the path: ${name}`, async () => {
      const { actor, clock, started, pull } = liveSupervisor();
      await settle();
      for (const step of path.steps) {
        const event = step.event as { type: string; output?: Work | null; error?: unknown };
        if (event.type.startsWith('xstate.done.actor')) pull().resolve(event.output ?? null);
        else if (event.type.startsWith('xstate.error.actor')) pull().reject(event.error);
        else if (event.type.includes('intakeBackoff')) clock.increment(BACKOFF_MS);
        else if (event.type.includes('drainTimeout')) clock.increment(DRAIN_MS);
        else actor.send(step.event);
        await settle();
        expect(serialize(actor.getSnapshot())).toBe(serialize(step.state));
      }
      // Every conversation the model spawned was really started as a child actor with its id.
      const everActive = new Set(path.steps.flatMap((s) => s.state.context.active));
      for (const id of everActive) expect(started).toContain(id);
      // Children of a stopped supervisor are gone.
      if (actor.getSnapshot().status === 'done')
        expect(Object.keys(actor.getSnapshot().children)).toHaveLength(0);
      actor.stop();
    });
  }
});
