/**
 * A supervisor shard: runs a share of the conversations for the supervisor, each one a child actor spawned
 * by the named source `conversation`. For each piece of work it spawns the conversation (registered under
 * `conversationSystemId(work)`) and runs the action `follow` with the work: bound at the composition root,
 * it has persistence follow the conversation's steps under the work's ownership (lease, fencing token,
 * topic delivery), and tell this shard `CONVERSATION_SETTLED` (final step saved) or `CONVERSATION_LOST`
 * (a newer owner fenced us out). The supervisor decides which shard gets a conversation and never sends a
 * shard more than its capacity; the shard stops the conversation when it is done with, and reports every
 * conversation it let go of to the supervisor, which keeps the counts.
 *
 * Why shards: XState copies a machine's whole `children` map on every spawn and every stop, so one machine
 * with thousands of children pays for all of them each time a conversation starts or ends. A shard holds at
 * most `DEFAULT_SHARD_CAPACITY` (100) and the supervisor one shard per hundred conversations, which bounds
 * both copies. (For the same reason persistence follows a conversation through an action rather than a
 * second child actor beside it: that tripled the cost of supervision at 10,000 in flight.)
 *
 *   running --SPAWN_CONVERSATION--> spawns the conversation, follow(work)
 *           --CONVERSATION_SETTLED | CONVERSATION_LOST (one of its own)--> stops it, reports SHARD_RELEASED
 *           --error of one of its conversations--> stops it, reports SHARD_RELEASED (crashed)
 *   Reports and errors about a conversation it no longer runs are ignored.
 */
import { enqueueActions, setup } from 'xstate';
import { conversationMachine } from './conversation.js';
import {
  type ConversationReport,
  conversationSystemId,
  type ShardReleased,
  type Work,
} from './supervision.js';

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
    /** Provide it with its effects bound: `conversationMachine.provide({ actors: { callModel, ... } })`. */
    conversation: conversationMachine,
  },
  actions: {
    /**
     * Has persistence follow the conversation just spawned for `work` (found with `system.get` under
     * `conversationSystemId(work)`), and report it settled or lost to this shard (`self`).
     */
    follow: (_args, _params: { work: Work }) => unbound('follow')(),
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
          systemId: conversationSystemId(work),
          input: work.kind === 'new' ? work.input : { restore: work.context },
        });
        enqueue({ type: 'follow', params: { work } });
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
