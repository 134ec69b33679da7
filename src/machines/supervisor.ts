/**
 * The supervisor: takes work (new topics and orphaned conversations to adopt), spawns one conversation
 * actor per piece of work by the named source `conversation`, never runs more than `maxConcurrent` at once,
 * and drains on shutdown. Pure: getting work, persistence and leases are injected.
 *
 *   running
 *     intake: checking --(full)--> full --(a slot frees)--> checking
 *             checking --(room)--> pulling --work--> checking (spawns)
 *                                          --none--> checking
 *                                          --error--> backoff --> checking
 *   DRAIN --> draining --(no conversations left | drain timeout)--> stopped
 */
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { ConversationInput } from './conversation.js';

/** What the intake actor found: a new conversation to start, or a persisted one to resume. */
export type Work =
  | { kind: 'new'; conversationId: string; input: ConversationInput }
  | { kind: 'resume'; conversationId: string; snapshot: unknown };

/** Input of the `conversation` source: start fresh, or continue from a persisted snapshot. */
export type ConversationSpawnInput = { start: ConversationInput } | { resume: unknown };

export interface SupervisorInput {
  maxConcurrent: number;
}

export interface SupervisorContext {
  maxConcurrent: number;
  /** Ids of the conversations this supervisor runs now. */
  active: string[];
  /** Conversations that reached a final state and were persisted, since start. */
  settled: number;
  /** Conversations this supervisor let go of (lease lost to another owner). */
  lost: number;
  /** Conversations whose actor threw (a bug, not a provider failure); their last snapshot stays adoptable. */
  crashed: number;
}

export type SupervisorEvent =
  | { type: 'DRAIN' }
  /** The conversation's final snapshot is persisted and its lease released: free its slot. */
  | { type: 'CONVERSATION_SETTLED'; conversationId: string }
  /** Another owner holds the conversation now (stale fencing token or lost lease): stop our copy. */
  | { type: 'CONVERSATION_LOST'; conversationId: string };

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
    conversation: fromPromise<unknown, ConversationSpawnInput>(unbound('conversation')),
  },
  delays: {
    /** Pause after a failed intake attempt (Redis or Kafka unavailable) before trying again. */
    intakeBackoff: 1000,
    /** How long draining waits for in-flight conversations before stopping them where they are. */
    drainTimeout: 30_000,
  },
  guards: {
    full: ({ context }) => context.active.length >= context.maxConcurrent,
    idle: ({ context }) => context.active.length === 0,
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    maxConcurrent: input.maxConcurrent,
    active: [],
    settled: 0,
    lost: 0,
    crashed: 0,
  }),
  initial: 'running',
  on: {
    CONVERSATION_SETTLED: {
      guard: ({ context, event }) => context.active.includes(event.conversationId),
      actions: enqueueActions(({ enqueue, event }) => {
        enqueue.stopChild(event.conversationId);
        enqueue.assign({
          active: ({ context }) => context.active.filter((id) => id !== event.conversationId),
          settled: ({ context }) => context.settled + 1,
        });
      }),
    },
    'xstate.error.actor.*': {
      actions: assign(({ context, event }) => {
        const conversationId = (event as { type: string }).type.slice('xstate.error.actor.'.length);
        if (!context.active.includes(conversationId)) return {};
        return {
          active: context.active.filter((id: string) => id !== conversationId),
          crashed: context.crashed + 1,
        };
      }),
    },
    CONVERSATION_LOST: {
      guard: ({ context, event }) => context.active.includes(event.conversationId),
      actions: enqueueActions(({ enqueue, event }) => {
        enqueue.stopChild(event.conversationId);
        enqueue.assign({
          active: ({ context }) => context.active.filter((id) => id !== event.conversationId),
          lost: ({ context }) => context.lost + 1,
        });
      }),
    },
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
            guard: ({ context }) => context.active.length < context.maxConcurrent,
            target: 'checking',
          },
        },
        pulling: {
          invoke: {
            src: 'nextWork',
            input: ({ context }) => ({ active: context.active.length }),
            onDone: [
              {
                guard: ({ event }) => event.output !== null,
                target: 'checking',
                reenter: true,
                actions: enqueueActions(({ enqueue, event }) => {
                  const work = event.output!;
                  enqueue.spawnChild('conversation', {
                    id: work.conversationId,
                    input: work.kind === 'new' ? { start: work.input } : { resume: work.snapshot },
                  });
                  enqueue.assign({ active: ({ context }) => [...context.active, work.conversationId] });
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
      always: { guard: 'idle', target: 'stopped' },
      after: {
        drainTimeout: {
          target: 'stopped',
          actions: enqueueActions(({ enqueue, context }) => {
            for (const id of context.active) enqueue.stopChild(id);
            enqueue.assign({ active: [] });
          }),
        },
      },
    },
    stopped: { type: 'final' },
  },
});

export type SupervisorMachine = typeof supervisorMachine;
