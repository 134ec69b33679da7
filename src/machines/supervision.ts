/**
 * What the supervisor and its shards say to each other, and what a shard hands a conversation's persister:
 * the types both machines share, in a module of their own so neither machine imports the other's.
 */
import type { Observer, Subscription } from 'xstate';
import type { Ownership } from '../services/ports.js';
import type { ConversationContext, ConversationInput, ConversationMachine } from './conversation.js';

/**
 * A piece of work the intake found: a new conversation to start, or one adopted from the store to resume
 * from its persisted context. Either way it carries its ownership (lease, fencing token, topic delivery).
 */
export type Work =
  | { kind: 'new'; conversationId: string; input: ConversationInput; ownership: Ownership }
  | { kind: 'resume'; conversationId: string; context: ConversationContext; ownership: Ownership };

/** What a conversation's persister tells the shard that runs it. */
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
 * The persister's view of the conversation it follows: its snapshots and nothing else. Functions rather
 * than the actor reference itself, so the persister's input (which inspection events carry) holds no
 * cyclic actor graph.
 */
export interface ConversationView {
  getSnapshot(): ConversationSnapshot;
  subscribe(observer: Observer<ConversationSnapshot>): Subscription;
}

/** What a conversation's persister starts with. */
export interface PersisterInput {
  conversation: ConversationView;
  ownership: Ownership;
  /** Adopted from the store: its steps so far are saved already, and its start was announced. */
  resumed: boolean;
}

/** The persister that runs beside a conversation has the conversation's id with this prefix. */
const PERSISTER_PREFIX = 'persist:';

export function persisterIdOf(conversationId: string): string {
  return `${PERSISTER_PREFIX}${conversationId}`;
}

/** The conversation a shard's child belongs to: itself, or the one it persists. */
export function conversationIdOfChild(childId: string): string {
  return childId.startsWith(PERSISTER_PREFIX) ? childId.slice(PERSISTER_PREFIX.length) : childId;
}
