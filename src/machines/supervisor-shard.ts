/**
 * A supervisor shard: runs a share of the conversations for the supervisor, each one a child actor spawned
 * by the named source `conversation`. The supervisor decides which shard gets a conversation and never sends
 * a shard more than its capacity; the shard spawns it, stops it once persistence says it is settled or lost,
 * and reports every conversation it let go of to the supervisor, which keeps the counts.
 *
 * Why shards: XState copies a machine's whole `children` map on every spawn and every stop, so one machine
 * with thousands of children pays for all of them each time a conversation starts or ends. A shard holds at
 * most `DEFAULT_SHARD_CAPACITY` (100) and the supervisor one shard per hundred conversations, which bounds
 * both copies.
 *
 *   running --SPAWN_CONVERSATION--> spawns
 *           --CONVERSATION_SETTLED | CONVERSATION_LOST (one of its own)--> stops it, reports SHARD_RELEASED
 *           --error of one of its conversations--> stops it, reports SHARD_RELEASED (crashed)
 *   Reports and errors about a conversation it no longer runs are ignored.
 */
import { enqueueActions, fromPromise, setup } from 'xstate';
import type { ConversationReport, ConversationSpawnInput, ShardReleased, Work } from './supervisor.js';

export interface ShardInput {
  /** The shard's actor id, named in its reports. */
  id: string;
}

export interface ShardContext {
  id: string;
  /** Ids of the conversations this shard runs now. */
  active: string[];
}

/** `SPAWN_CONVERSATION` starts a conversation the supervisor has counted against this shard's capacity. */
export type ShardEvent = { type: 'SPAWN_CONVERSATION'; work: Work } | ConversationReport;

/** The id of the child an `xstate.error.actor.<id>` event is about. */
const failedChild = (event: { type: string }) => event.type.slice('xstate.error.actor.'.length);

const unbound = (name: string) => () => {
  throw new Error(`supervisor shard machine: "${name}" was not provided`);
};

export const supervisorShardMachine = setup({
  types: {
    context: {} as ShardContext,
    input: {} as ShardInput,
    events: {} as ShardEvent,
  },
  actors: {
    conversation: fromPromise<unknown, ConversationSpawnInput>(unbound('conversation')),
  },
  actions: {
    /** Drops one of its conversations and tells the supervisor why it is gone. */
    release: enqueueActions(
      (
        { enqueue, context },
        { conversationId, outcome }: { conversationId: string; outcome: ShardReleased['outcome'] },
      ) => {
        enqueue.stopChild(conversationId);
        enqueue.assign({ active: context.active.filter((id) => id !== conversationId) });
        enqueue.sendParent({ type: 'SHARD_RELEASED', shard: context.id, outcome } satisfies ShardReleased);
      },
    ),
  },
  guards: {
    runs: ({ context }, { conversationId }: { conversationId: string }) =>
      context.active.includes(conversationId),
  },
}).createMachine({
  id: 'supervisor-shard',
  context: ({ input }) => ({ id: input.id, active: [] }),
  on: {
    SPAWN_CONVERSATION: {
      actions: enqueueActions(({ enqueue, context, event }) => {
        const { work } = event;
        enqueue.spawnChild('conversation', {
          id: work.conversationId,
          input: work.kind === 'new' ? { start: work.input } : { resume: work.snapshot },
        });
        enqueue.assign({ active: [...context.active, work.conversationId] });
      }),
    },
    CONVERSATION_SETTLED: {
      guard: { type: 'runs', params: ({ event }) => ({ conversationId: event.conversationId }) },
      actions: {
        type: 'release',
        params: ({ event }) => ({ conversationId: event.conversationId, outcome: 'settled' }),
      },
    },
    CONVERSATION_LOST: {
      guard: { type: 'runs', params: ({ event }) => ({ conversationId: event.conversationId }) },
      actions: {
        type: 'release',
        params: ({ event }) => ({ conversationId: event.conversationId, outcome: 'lost' }),
      },
    },
    // A conversation actor that threw (a bug, not a provider failure); its last snapshot stays adoptable.
    // An error left unhandled would fail the shard, so one from a child it already let go of is taken too.
    'xstate.error.actor.*': [
      {
        guard: {
          type: 'runs',
          params: ({ event }: { event: { type: string } }) => ({ conversationId: failedChild(event) }),
        },
        actions: {
          type: 'release',
          params: ({ event }: { event: { type: string } }) => ({
            conversationId: failedChild(event),
            outcome: 'crashed',
          }),
        },
      },
      {},
    ],
  },
});

export type SupervisorShardMachine = typeof supervisorShardMachine;
