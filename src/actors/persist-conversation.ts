import { type EventObject, fromCallback } from 'xstate';
import type { ConversationReport, PersisterInput } from '../machines/supervision.js';
import type { ConversationPersister } from '../persistence/persister.js';

/**
 * The `persister` a shard spawns beside each conversation: it hands every step of the conversation to the
 * persistence write path under the conversation's ownership, and tells the shard (its parent) when the
 * conversation is settled (final step saved) or lost (fenced out by a newer owner, or its lease lapsed).
 * Stopping it stops following; writes already handed over still complete (a drain flushes them).
 */
export function persistConversationActor(persister: ConversationPersister) {
  return fromCallback<EventObject, PersisterInput>(({ input, sendBack }) => {
    const { conversationId } = input.ownership;
    const report = (type: ConversationReport['type']) => sendBack({ type, conversationId });
    const followed = persister.follow({
      ownership: input.ownership,
      resumed: input.resumed,
      snapshot: input.conversation.getSnapshot(),
      report: { settled: () => report('CONVERSATION_SETTLED'), lost: () => report('CONVERSATION_LOST') },
    });
    const subscription = input.conversation.subscribe({
      next: (snapshot) => followed.step(snapshot),
      // The shard hears of the error itself (and stops both actors); the last saved step stays adoptable.
      error: () => {},
    });
    return () => subscription.unsubscribe();
  });
}
