import { getShortestPaths } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromPromise, SimulatedClock } from 'xstate';
import type {
  ConversationInput,
  ConversationMachine,
  ConversationStart,
} from '../../src/machines/conversation.js';
import { conversationSystemId, type ShardReleased, type Work } from '../../src/machines/supervision.js';
import { supervisorMachine } from '../../src/machines/supervisor.js';
import { supervisorShardMachine } from '../../src/machines/supervisor-shard.js';
import { activeContext } from '../support/conversation-fixtures.js';

const MAX = 3;
/** Small shards, so that paths fill one, open a second and route back into the first when it has room. */
const SHARD_CAPACITY = 2;
/** Bounds the graph: work is offered until this many conversations were spawned in total. */
const MAX_SPAWNED = 4;
const BACKOFF_MS = 1000;
const DRAIN_MS = 30_000;
const DRAIN_CHECK_MS = 200;
const OUTCOMES = ['settled', 'lost', 'crashed'] as const;

type Snapshot = ReturnType<typeof supervisorMachine.transition>;
type ModelEvent = Parameters<typeof supervisorMachine.transition>[1];

const spawned = (s: Snapshot) => s.context.active + s.context.settled + s.context.lost + s.context.crashed;

const ownership = (id: string) => ({
  conversationId: id,
  lease: { conversationId: id, owner: 'test', token: 1, expiresAt: 0 },
});

function work(id: string): Work {
  return {
    kind: 'new',
    conversationId: id,
    input: { conversationId: id } as ConversationInput,
    ownership: ownership(id),
  };
}

const never = () => new Promise<never>(() => {});

/** A stand-in conversation: a promise the test settles or fails, instead of the real machine. */
const fakeConversation = (run: Parameters<typeof fromPromise<unknown, ConversationStart>>[0]) =>
  fromPromise<unknown, ConversationStart>(run) as unknown as ConversationMachine;
/** A stand-in for persistence: follows nothing, reports nothing. */
const ignore = () => {};

/**
 * The supervisor's graph: the shards' side is what they report (a conversation released from a given shard,
 * with its outcome), and the live test below makes real shards report it by really settling, losing or
 * crashing one of their conversations.
 */
const graphMachine = supervisorMachine.provide({
  actors: {
    nextWork: fromPromise<Work | null, { active: number }>(never),
    shard: supervisorShardMachine.provide({
      actors: { conversation: fakeConversation(never) },
      actions: { follow: ignore },
    }),
  },
  delays: { intakeBackoff: BACKOFF_MS, drainTimeout: DRAIN_MS },
});

function eventsFor(s: Snapshot): ModelEvent[] {
  const events = [{ type: 'DRAIN' }] as ModelEvent[];
  for (const [shard, count] of Object.entries(s.context.shards)) {
    if (count === 0) continue;
    for (const outcome of OUTCOMES) events.push({ type: 'SHARD_RELEASED', shard, outcome });
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
    shards: s.context.shards,
    settled: s.context.settled,
    lost: s.context.lost,
    crashed: s.context.crashed,
  });

interface ShardView {
  active: string[];
  children: string[];
}

/** A running supervisor with real shards, whose conversations are promises the test settles or fails. */
function liveSupervisor(options: { pausedCount?: () => number } = {}) {
  const clock = new SimulatedClock();
  let pull: { resolve: (w: Work | null) => void; reject: (e: unknown) => void } | undefined;
  const started: Array<{
    id: string;
    shard: string | undefined;
    ref: AnyActorRef;
    input: ConversationStart;
  }> = [];
  const crash = new Map<string, (error: Error) => void>();
  /** The work persistence was asked to follow for each conversation, the conversation it found, and the shard. */
  const followed = new Map<string, { work: Work; found: AnyActorRef | undefined; shard: AnyActorRef }>();
  const machine = supervisorMachine.provide({
    actors: {
      nextWork: fromPromise<Work | null, { active: number }>(
        () => new Promise((resolve, reject) => (pull = { resolve, reject })),
      ),
      shard: supervisorShardMachine.provide({
        actors: {
          conversation: fakeConversation(({ self, input }) => {
            started.push({ id: self.id, shard: self._parent?.id, ref: self, input });
            return new Promise((_, reject) => crash.set(self.id, reject));
          }),
        },
        actions: {
          follow: ({ self, system }, { work }: { work: Work }) => {
            const found = system.get(conversationSystemId(work)) as AnyActorRef | undefined;
            followed.set(work.conversationId, { work, found, shard: self });
          },
        },
      }),
    },
    delays: { intakeBackoff: BACKOFF_MS, drainTimeout: DRAIN_MS, drainCheck: DRAIN_CHECK_MS },
    guards: {
      onlyPausedLeft: ({ context }) =>
        options.pausedCount !== undefined && context.active > 0 && options.pausedCount() >= context.active,
    },
  });
  const actor = createActor(machine, {
    input: { maxConcurrent: MAX, shardCapacity: SHARD_CAPACITY },
    clock,
  });
  actor.start();
  /** What each live shard runs: its context and its actual child actors. */
  const shards = (): Record<string, ShardView> => {
    const view: Record<string, ShardView> = {};
    for (const [id, child] of Object.entries(actor.getSnapshot().children)) {
      if (!id.startsWith('shard-')) continue;
      const snapshot = child!.getSnapshot() as { context: { active: string[] }; children: object };
      view[id] = { active: snapshot.context.active, children: Object.keys(snapshot.children) };
    }
    return view;
  };
  /** Makes a real shard release one of its conversations: persistence reports it to the shard it followed it for. */
  const release = ({ shard, outcome }: ShardReleased) => {
    const conversationId = shards()[shard]!.active[0]!;
    if (outcome === 'crashed') crash.get(conversationId)!(new Error('bug in a conversation'));
    else
      followed.get(conversationId)!.shard.send({
        type: outcome === 'settled' ? 'CONVERSATION_SETTLED' : 'CONVERSATION_LOST',
        conversationId,
      });
  };
  return { actor, clock, started, followed, shards, release, pull: () => pull! };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('supervisor machine, model-based', () => {
  const paths = getShortestPaths(graphMachine, {
    input: { maxConcurrent: MAX, shardCapacity: SHARD_CAPACITY },
    events: eventsFor,
    serializeState: serialize,
  });

  it('the generated paths cover being full, backing off, a second shard, draining and stopping', () => {
    const values = new Set(paths.map((p) => JSON.stringify(p.state.value)));
    for (const v of [
      { running: 'pulling' },
      { running: 'full' },
      { running: 'backoff' },
      { draining: 'waiting' },
      'stopped',
    ]) {
      expect(values).toContain(JSON.stringify(v));
    }
    const states = paths.map((p) => p.state.context);
    for (const outcome of OUTCOMES) expect(states.some((c) => c[outcome] > 0)).toBe(true);
    // A second shard opens once the first is full.
    expect(states.some((c) => (c.shards['shard-1'] ?? 0) > 0)).toBe(true);
    for (const path of paths)
      for (const { state } of path.steps) {
        // Never more than MAX at once, nor more than a shard's capacity in one shard.
        expect(state.context.active).toBeLessThanOrEqual(MAX);
        const counts = Object.values(state.context.shards);
        for (const count of counts) expect(count).toBeLessThanOrEqual(SHARD_CAPACITY);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(state.context.active);
        // A new shard only when every other is full: never more than MAX / capacity, rounded up.
        expect(counts.length).toBeLessThanOrEqual(Math.ceil(MAX / SHARD_CAPACITY));
      }
  });

  for (const path of paths) {
    const name =
      path.steps
        .map((s) => {
          const event = s.event as { type: string; shard?: string; outcome?: string };
          if (event.type === 'SHARD_RELEASED') return `${event.outcome} in ${event.shard}`;
          return event.type.replace(/^xstate\.|\.supervisor.*$/g, '');
        })
        .join(' > ') || '(initial)';
    it(`a live supervisor with real shards follows the path: ${name}`, async () => {
      const { actor, clock, started, followed, shards, release, pull } = liveSupervisor();
      await settle();
      for (const step of path.steps) {
        const event = step.event as { type: string; output?: Work | null; error?: unknown };
        if (event.type.startsWith('xstate.done.actor')) pull().resolve(event.output ?? null);
        else if (event.type.startsWith('xstate.error.actor')) pull().reject(event.error);
        else if (event.type.includes('intakeBackoff')) clock.increment(BACKOFF_MS);
        else if (event.type.includes('drainTimeout')) clock.increment(DRAIN_MS);
        else if (event.type === 'SHARD_RELEASED') release(step.event as ShardReleased);
        else actor.send(step.event);
        await settle();
        const snapshot = actor.getSnapshot();
        expect(serialize(snapshot)).toBe(serialize(step.state));
        // The counts are what the shards really run: each shard's conversations are its child actors.
        const live = shards();
        if (snapshot.status === 'active')
          expect(Object.keys(live)).toEqual(Object.keys(snapshot.context.shards));
        for (const [shard, count] of Object.entries(snapshot.context.shards)) {
          expect(live[shard]!.active).toHaveLength(count);
          expect(live[shard]!.children).toEqual(live[shard]!.active);
        }
      }
      // Every conversation the model spawned was really started, with its id, as a child of a shard, and
      // persistence was asked to follow that very actor, under the work's ownership, for that shard.
      const offered = path.steps.filter((s) => (s.event as { output?: Work | null }).output).length;
      expect(started).toHaveLength(offered);
      expect(started.map((s) => s.id)).toEqual(started.map((_, i) => `c${i}`));
      for (const { shard } of started) expect(shard).toMatch(/^shard-\d$/);
      for (const { id, ref, shard } of started) {
        const follow = followed.get(id)!;
        expect(follow.found).toBe(ref);
        expect(follow.work.ownership).toEqual(ownership(id));
        expect(follow.shard.id).toBe(shard);
      }
      // A stopped supervisor leaves no shard and no conversation running.
      if (actor.getSnapshot().status === 'done') {
        expect(Object.keys(actor.getSnapshot().children)).toHaveLength(0);
        for (const { ref } of started) expect(ref.getSnapshot().status).not.toBe('active');
      }
      actor.stop();
    });
  }
});

describe('supervisor shards', () => {
  it('new work goes to the first shard with room, not to a new shard; adopted work is resumed there', async () => {
    const { actor, shards, release, pull, started, followed } = liveSupervisor();
    await settle();
    for (const id of ['a', 'b', 'c']) {
      pull().resolve(work(id));
      await settle();
    }
    expect(shards()).toEqual({
      'shard-0': { active: ['a', 'b'], children: ['a', 'b'] },
      'shard-1': { active: ['c'], children: ['c'] },
    });
    release({ type: 'SHARD_RELEASED', shard: 'shard-0', outcome: 'settled' });
    await settle();
    const restored = activeContext({ conversationId: 'd' });
    pull().resolve({ kind: 'resume', conversationId: 'd', context: restored, ownership: ownership('d') });
    await settle();
    expect(shards()['shard-0']).toEqual({ active: ['b', 'd'], children: ['b', 'd'] });
    expect(started.find((s) => s.id === 'a')!.input).toEqual({ conversationId: 'a' });
    expect(started.find((s) => s.id === 'd')!.input).toEqual({ restore: restored });
    expect(followed.get('d')!.work).toMatchObject({ kind: 'resume', ownership: ownership('d') });
    expect(followed.get('d')!.found).toBe(started.find((s) => s.id === 'd')!.ref);
    expect(actor.getSnapshot().context.shards).toEqual({ 'shard-0': 2, 'shard-1': 1 });
    actor.stop();
  });

  it('ignores settled and lost reports for conversations it does not run', async () => {
    const { actor, shards, pull } = liveSupervisor();
    await settle();
    pull().resolve(work('a'));
    await settle();
    const shard = (actor.getSnapshot().children as Record<string, AnyActorRef>)['shard-0']!;
    shard.send({ type: 'CONVERSATION_SETTLED', conversationId: 'b' });
    shard.send({ type: 'CONVERSATION_LOST', conversationId: 'b' });
    await settle();
    expect(shards()['shard-0']).toEqual({ active: ['a'], children: ['a'] });
    const { context } = actor.getSnapshot();
    expect(context).toMatchObject({ active: 1, shards: { 'shard-0': 1 }, settled: 0, lost: 0 });
    actor.stop();
  });

  it('a shard that throws fails the supervisor, as a bug in the supervisor itself would', async () => {
    let pull: ((w: Work | null) => void) | undefined;
    const actor = createActor(
      supervisorMachine.provide({
        actors: {
          nextWork: fromPromise<Work | null, { active: number }>(() => new Promise((r) => (pull = r))),
          shard: supervisorShardMachine.provide({
            actors: { conversation: fakeConversation(never) },
            // A bug in the shard: releasing a conversation throws.
            actions: {
              follow: ignore,
              release: () => {
                throw new Error('bug in a shard');
              },
            },
          }),
        },
      }),
      { input: { maxConcurrent: MAX, shardCapacity: SHARD_CAPACITY } },
    );
    const failed = new Promise<unknown>((resolve) => actor.subscribe({ error: resolve }));
    actor.start();
    await settle();
    pull!(work('a'));
    await settle();
    const shard = (actor.getSnapshot().children as Record<string, AnyActorRef>)['shard-0']!;
    shard.send({ type: 'CONVERSATION_SETTLED', conversationId: 'a' });
    expect(await failed).toMatchObject({ message: 'bug in a shard' });
    expect(actor.getSnapshot().status).toBe('error');
  });

  it('an error from a conversation it already let go of does not fail the shard', async () => {
    const { actor, release, pull } = liveSupervisor();
    await settle();
    pull().resolve(work('a'));
    await settle();
    const shard = (actor.getSnapshot().children as Record<string, AnyActorRef>)['shard-0']!;
    release({ type: 'SHARD_RELEASED', shard: 'shard-0', outcome: 'settled' });
    await settle();
    shard.send({ type: 'xstate.error.actor.a', error: new Error('late') } as never);
    await settle();
    expect(shard.getSnapshot().status).toBe('active');
    expect(actor.getSnapshot().context).toMatchObject({ active: 0, settled: 1, crashed: 0 });
    actor.stop();
  });
});

describe('supervisor draining with conversations paused for budget', () => {
  it('stops once every conversation left is paused for budget, without waiting for the drain timeout', async () => {
    let paused = 0;
    const { actor, clock, pull, started } = liveSupervisor({ pausedCount: () => paused });
    await settle();
    pull().resolve(work('c0'));
    await settle();
    pull().resolve(work('c1'));
    await settle();
    expect(actor.getSnapshot().context.active).toBe(2);
    actor.send({ type: 'DRAIN' });
    await settle();
    // One of two paused: the other can still progress, so the drain waits for it.
    paused = 1;
    clock.increment(DRAIN_CHECK_MS);
    await settle();
    expect(actor.getSnapshot().matches('draining')).toBe(true);
    paused = 2;
    clock.increment(DRAIN_CHECK_MS);
    await settle();
    expect(actor.getSnapshot().status).toBe('done');
    // Stopped where they are (their last step, paused, is persisted), long before the drain timeout.
    for (const { ref } of started) expect(ref.getSnapshot().status).toBe('stopped');
    actor.stop();
  });

  it('without conversations paused, a drain waits for them until the drain timeout', async () => {
    const { actor, clock, pull } = liveSupervisor({ pausedCount: () => 0 });
    await settle();
    pull().resolve(work('c0'));
    await settle();
    actor.send({ type: 'DRAIN' });
    clock.increment(DRAIN_MS - 1);
    await settle();
    expect(actor.getSnapshot().matches('draining')).toBe(true);
    clock.increment(1);
    await settle();
    expect(actor.getSnapshot().status).toBe('done');
    actor.stop();
  });
});
