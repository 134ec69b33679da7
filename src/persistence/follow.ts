/**
 * The shard's `follow` action, bound at the composition root: persistence follows a conversation the
 * shard just spawned, under the ownership its work carries, and reports back to that shard. The
 * conversation is found with `system.get` under the system id the shard registered it with; it has not
 * started yet, so no step is missed. Every step goes to the persister's one write path; once the final
 * step is saved (or a newer owner fenced us out) the shard hears `CONVERSATION_SETTLED` (or
 * `CONVERSATION_LOST`) through its own `send`.
 */
import type { ActorRefFrom, AnyActorRef } from 'xstate';
import type { ConversationMachine } from '../machines/conversation.js';
import { type ConversationReport, conversationSystemId, type Work } from '../machines/supervision.js';
import type { ConversationPersister } from './persister.js';

export function followConversation(persister: ConversationPersister) {
  return (
    { self, system }: { self: AnyActorRef; system: AnyActorRef['system'] },
    { work }: { work: Work },
  ) => {
    const { conversationId } = work;
    const report = (type: ConversationReport['type']) => self.send({ type, conversationId });
    const conversation = system.get(conversationSystemId(work)) as
      | ActorRefFrom<ConversationMachine>
      | undefined;
    if (!conversation) {
      // Spawned in the same step, so always there: not finding it is a bug in supervision, and a shard that
      // throws fails the supervisor (the daemon stops; its leases lapse and the conversations are adopted).
      throw new Error(`follow: conversation ${conversationId} was not spawned before being followed`);
    }
    const followed = persister.follow({
      ownership: work.ownership,
      resumed: work.kind === 'resume',
      snapshot: conversation.getSnapshot(),
      report: { settled: () => report('CONVERSATION_SETTLED'), lost: () => report('CONVERSATION_LOST') },
    });
    conversation.subscribe({
      next: (snapshot) => followed.step(snapshot),
      // The shard hears of the error itself and stops the conversation; persistence counts the crash and
      // gives the lease back (or, at the limit, saves the conversation as failed).
      error: (error) => followed.crashed(error),
    });
  };
}
