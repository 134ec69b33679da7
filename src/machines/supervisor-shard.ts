/**
 * A supervisor shard: runs a share of the conversations for the supervisor. For each piece of work it
 * spawns two children side by side: the conversation (named source `conversation`, id = conversation id)
 * and its persister (source `persister`), which follows the conversation's steps, writes them under the
 * conversation's lease, and reports back here once the conversation is settled (final step saved) or lost
 * (a newer owner fenced us out). The supervisor decides which shard gets a conversation and never sends a
 * shard more than its capacity; the shard stops both children when the conversation is done with, and
 * reports every conversation it let go of to the supervisor, which keeps the counts.
 *
 * Why shards: XState copies a machine's whole `children` map on every spawn and every stop, so one machine
 * with thousands of children pays for all of them each time a conversation starts or ends. A shard holds at
 * most `DEFAULT_SHARD_CAPACITY` (100) conversations and the supervisor one shard per hundred, which bounds
 * both copies.
 *
 *   running --SPAWN_CONVERSATION--> spawns conversation + persister
 *           --CONVERSATION_SETTLED | CONVERSATION_LOST (one of its own)--> stops both, reports SHARD_RELEASED
 *           --error of a conversation or its persister--> stops both, reports SHARD_RELEASED (crashed)
 *   Reports and errors about a conversation it no longer runs are ignored.
 */
import { assign, type EventObject, enqueueActions, fromCallback, setup } from 'xstate';
import { conversationMachine } from './conversation.js';
import {
  type ConversationReport,
  type ConversationView,
  conversationIdOfChild,
  type PersisterInput,
  persisterIdOf,
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
    /** Follows one conversation and persists its steps; sends `ConversationReport`s back to the shard. */
    persister: fromCallback<EventObject, PersisterInput>(unbound('persister')),
  },
  actions: {
    /** Drops one of its conversations (and its persister) and tells the supervisor why it is gone. */
    release: enqueueActions(
      (
        { enqueue, context },
        { conversationId, outcome }: { conversationId: string; outcome: ShardReleased['outcome'] },
      ) => {
        enqueue.stopChild(persisterIdOf(conversationId));
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
      // Both children in one assign: the children map is copied once for the pair.
      actions: assign(({ context, event, spawn }) => {
        const { work } = event;
        const conversation = spawn('conversation', {
          id: work.conversationId,
          input: work.kind === 'new' ? work.input : { restore: work.context },
        });
        const view: ConversationView = {
          getSnapshot: () => conversation.getSnapshot(),
          subscribe: (observer) => conversation.subscribe(observer),
        };
        spawn('persister', {
          id: persisterIdOf(work.conversationId),
          input: { conversation: view, ownership: work.ownership, resumed: work.kind === 'resume' },
        });
        return { active: [...context.active, work.conversationId] };
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
    // A conversation actor (or its persister) that threw: a bug, not a provider failure; the last saved
    // snapshot stays adoptable. An error left unhandled would fail the shard, so one from a child it
    // already let go of is taken too.
    'xstate.error.actor.*': [
      {
        guard: {
          type: 'runs',
          params: ({ event }: { event: { type: string } }) => ({
            conversationId: conversationIdOfChild(failedChild(event)),
          }),
        },
        actions: {
          type: 'release',
          params: ({ event }: { event: { type: string } }) => ({
            conversationId: conversationIdOfChild(failedChild(event)),
            outcome: 'crashed',
          }),
        },
      },
      {},
    ],
  },
});

export type SupervisorShardMachine = typeof supervisorShardMachine;
