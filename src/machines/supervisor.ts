/**
 * The supervisor: takes work (new topics and orphaned conversations to adopt), has one conversation actor
 * started per piece of work (by a shard, from the named source `conversation`), never runs more than
 * `maxConcurrent` at once, and drains on shutdown. Pure: getting work, persistence and leases are injected.
 *
 * Conversations are not its own children: it spawns shards (`./supervisor-shard.ts`, source `shard`) of at
 * most `shardCapacity` conversations each, hands each new conversation to the first shard with room (a new
 * one when all are full), and keeps per-shard counts from the shards' reports. XState copies a machine's
 * `children` map on every spawn and stop, so this keeps each copy to about a hundred entries at the loads
 * one process carries, instead of one entry per conversation in flight.
 *
 *   running
 *     intake: checking --(full)--> full --(a slot frees)--> checking
 *             checking --(room)--> pulling --work--> checking (routes it to a shard)
 *                                          --none--> checking
 *                                          --error--> backoff --> checking
 *   DRAIN --> draining --(no conversations left | drain timeout: shards stopped)--> stopped
 *                      --(every conversation left is paused for budget, looked at every drainCheck)--> stopped
 *
 * A conversation paused for budget cannot progress until the cap is raised, and it is saved as paused, so
 * a drain does not wait for it: another daemon (or this one restarted) adopts it paused and resumes it
 * when the budget reopens.
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { DEFAULTS } from '../defaults.js';
import type { ShardReleased, Work } from './supervision.js';
import { supervisorShardMachine } from './supervisor-shard.js';

/**
 * Conversations one shard runs at most. A spawn or stop copies the shard's children, and the supervisor's
 * per-shard counts grow with the number of shards; about the square root of the largest load balances the
 * two: supervision alone cost 0.53 ms of CPU per conversation at 10,000 in flight with 100, against 0.8 ms
 * with 50 or 250 (and 9 ms at 5,000 with a single supervisor).
 */
export const DEFAULT_SHARD_CAPACITY = 100;

export interface SupervisorInput {
  maxConcurrent: number;
  /**
   * Conversations one shard runs at most.
   * @default DEFAULT_SHARD_CAPACITY
   */
  shardCapacity?: number;
}

export interface SupervisorContext {
  maxConcurrent: number;
  shardCapacity: number;
  /** Conversations this supervisor runs now, across its shards. */
  active: number;
  /** Conversations each shard runs now, by the shard's actor id. */
  shards: Record<string, number>;
  /** Conversations that reached a final state and were persisted, since start. */
  settled: number;
  /** Conversations this supervisor let go of (lease lost to another owner). */
  lost: number;
  /** Conversations whose actor threw (a bug, not a provider failure); their last snapshot stays adoptable. */
  crashed: number;
}

export type SupervisorEvent = { type: 'DRAIN' } | ShardReleased;

/** The first shard with room for one more conversation, or the id of a new shard when all are full. */
export function shardFor(context: Pick<SupervisorContext, 'shards' | 'shardCapacity'>): {
  shard: string;
  isNew: boolean;
} {
  for (const [shard, count] of Object.entries(context.shards))
    if (count < context.shardCapacity) return { shard, isNew: false };
  // Shards are only ever removed when the supervisor stops, so the next number is free.
  return { shard: `shard-${Object.keys(context.shards).length}`, isNew: true };
}

const unbound = (name: string) => () => {
  throw new Error(`supervisor machine: "${name}" was not provided`);
};

export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    input: {} as SupervisorInput,
    events: {} as SupervisorEvent,
  },
  actors: {
    /**
     * Waits (bounded) for the next piece of work: an orphaned conversation whose lease it acquired, or a
     * new topic it claimed and persisted. Resolves null when none came in time.
     */
    nextWork: fromPromise<Work | null, { active: number }>(unbound('nextWork')),
    /** Provide it with its `conversation` source: `supervisorShardMachine.provide({ actors: { conversation } })`. */
    shard: supervisorShardMachine,
  },
  delays: {
    /** Pause after a failed intake attempt (Redis or Kafka unavailable) before trying again. */
    intakeBackoff: 1000,
    /** How long draining waits for in-flight conversations before stopping them where they are. */
    drainTimeout: DEFAULTS.DRAIN_TIMEOUT_SECONDS * 1000,
    /** How often draining looks whether only conversations paused for budget are left. */
    drainCheck: 200,
  },
  guards: {
    full: ({ context }) => context.active >= context.maxConcurrent,
    idle: ({ context }) => context.active === 0,
    /**
     * Every conversation still running is paused for budget (nothing can progress until the cap is
     * raised). Bound at the composition root, which can see the conversations. @default false
     */
    onlyPausedLeft: (_args: { context: SupervisorContext }) => false,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    maxConcurrent: input.maxConcurrent,
    shardCapacity: input.shardCapacity ?? DEFAULT_SHARD_CAPACITY,
    active: 0,
    shards: {},
    settled: 0,
    lost: 0,
    crashed: 0,
  }),
  initial: 'running',
  on: {
    SHARD_RELEASED: {
      guard: ({ context, event }) => (context.shards[event.shard] ?? 0) > 0,
      actions: assign(({ context, event }) => ({
        active: context.active - 1,
        shards: { ...context.shards, [event.shard]: context.shards[event.shard]! - 1 },
        [event.outcome]: context[event.outcome] + 1,
      })),
    },
    // No handler for a shard's error: a shard that throws is a bug in supervision itself, and an unhandled
    // child error fails the supervisor, as a bug in it would (the daemon then stops; leases lapse and the
    // conversations are adopted).
  },
  states: {
    running: {
      on: { DRAIN: 'draining' },
      initial: 'checking',
      states: {
        checking: {
          always: [{ guard: 'full', target: 'full' }, { target: 'pulling' }],
        },
        full: {
          always: {
            guard: ({ context }) => context.active < context.maxConcurrent,
            target: 'checking',
          },
        },
        pulling: {
          invoke: {
            src: 'nextWork',
            input: ({ context }) => ({ active: context.active }),
            onDone: [
              {
                guard: ({ event }) => event.output !== null,
                target: 'checking',
                reenter: true,
                actions: enqueueActions(({ enqueue, context, event }) => {
                  const { shard, isNew } = shardFor(context);
                  if (isNew) enqueue.spawnChild('shard', { id: shard, input: { id: shard } });
                  enqueue.sendTo(shard, { type: 'SPAWN_CONVERSATION', work: event.output! });
                  enqueue.assign({
                    active: context.active + 1,
                    shards: { ...context.shards, [shard]: (context.shards[shard] ?? 0) + 1 },
                  });
                }),
              },
              { target: 'checking', reenter: true },
            ],
            onError: 'backoff',
          },
        },
        backoff: {
          after: { intakeBackoff: 'checking' },
        },
      },
    },
    draining: {
      always: [
        { guard: 'idle', target: 'stopped' },
        { guard: 'onlyPausedLeft', target: 'stopped' },
      ],
      // Stopping a shard (on entering `stopped`) stops its conversations where they are, their last
      // step persisted.
      after: { drainTimeout: 'stopped' },
      // Pausing is not an event the supervisor hears: it looks again while it drains. A child state, so
      // looking again does not restart the drain timeout.
      initial: 'waiting',
      states: {
        waiting: {
          after: { drainCheck: { target: 'waiting', reenter: true } },
          always: { guard: 'onlyPausedLeft', target: '#supervisor.stopped' },
        },
      },
    },
    stopped: {
      type: 'final',
      // A machine that reaches its final state does not stop its children: the shards are stopped here.
      entry: enqueueActions(({ enqueue, context }) => {
        for (const shard of Object.keys(context.shards)) enqueue.stopChild(shard);
        enqueue.assign({ active: 0, shards: {} });
      }),
    },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
