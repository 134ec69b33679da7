/**
 * What the supervisor and its shards say to each other, and what a shard hands the persistence that
 * follows a conversation: the types both machines share, in a module of their own so neither machine
 * imports the other's.
 */
import type { Ownership } from '../services/ports.js';
import type { ConversationContext, ConversationInput, ConversationMachine } from './conversation.js';

/**
 * A piece of work the intake found: a new conversation to start, or one adopted from the store to resume
 * from its persisted context. Either way it carries its ownership (lease, fencing token, topic delivery).
 */
export type Work =
  | { kind: 'new'; conversationId: string; input: ConversationInput; ownership: Ownership }
  | { kind: 'resume'; conversationId: string; context: ConversationContext; ownership: Ownership };

/** What the persistence following a conversation tells the shard that runs it. */
export type ConversationReport =
  /** The conversation's final snapshot is persisted and its lease released: free its slot. */
  | { type: 'CONVERSATION_SETTLED'; conversationId: string }
  /** Another owner holds the conversation now (stale fencing token or lost lease): stop our copy. */
  | { type: 'CONVERSATION_LOST'; conversationId: string };

/** A shard stopped running one of its conversations. */
export interface ShardReleased {
  type: 'SHARD_RELEASED';
  shard: string;
  /** Settled (finished and saved), lost (another owner took it) or crashed (its actor threw). */
  outcome: 'settled' | 'lost' | 'crashed';
}

/** A conversation actor's snapshot, as its persister sees each step. */
export type ConversationSnapshot = ReturnType<ConversationMachine['getInitialSnapshot']>;

/**
 * The system id a shard registers a conversation actor under, so the persistence that follows it can find
 * it (`system.get`). The fencing token makes it unique even when this process holds the same conversation
 * twice (a stale copy not yet fenced out, and a newer adoption of it).
 */
export function conversationSystemId(work: Pick<Work, 'conversationId' | 'ownership'>): string {
  return `conversation:${work.conversationId}:${work.ownership.lease.token}`;
}
