import type { ConversationStatus } from '../ports.js';

/**
 * Key naming for everything Chimera keeps in Redis, in one place so a prefix change or a `redis-cli`
 * session finds every key. All keys start with the configured prefix (`REDIS_KEY_PREFIX`).
 *
 * The snapshot scripts touch one conversation's keys and the shared indexes in one call, so they need a
 * single Redis node (standalone or Sentinel), not a sharded Cluster.
 */

export type FinishedIndexStatus = Exclude<ConversationStatus, 'active'>;

export interface SnapshotKeys {
  /** Hash per conversation: `fence` (last fencing token), `data` (snapshot JSON), `status`. */
  conversation(conversationId: string): string;
  /** String per conversation with a PX expiry: `{owner, token}` of the live lease. */
  lease(conversationId: string): string;
  /** Sorted set of saved, unfinished conversations scored by lease expiry (epoch ms). */
  readonly active: string;
  /** Sorted set per finished status, scored by the time it finished (epoch ms), for counts and retention. */
  finished(status: FinishedIndexStatus): string;
  /** Stream of events waiting for delivery to the event bus. */
  readonly outbox: string;
  /** Counter per conversation of its actor's crashes, expiring with the retention period. */
  crashes(conversationId: string): string;
}

export function snapshotKeys(prefix: string): SnapshotKeys {
  return {
    conversation: (id) => `${prefix}:conversation:${id}`,
    lease: (id) => `${prefix}:lease:${id}`,
    active: `${prefix}:conversations:active`,
    finished: (status) => `${prefix}:conversations:${status}`,
    outbox: `${prefix}:outbox`,
    crashes: (id) => `${prefix}:crashes:${id}`,
  };
}

/** Stream of parked messages (topic messages whose intake kept failing, events the bus refused). */
export function parkedKey(prefix: string): string {
  return `${prefix}:parked`;
}

/** The plain JSON state of one conversation kept by `ConversationStateStore` (separate from snapshots). */
export function conversationStateKey(prefix: string, conversationId: string): string {
  return `${prefix}:state:${conversationId}`;
}

/**
 * Stream of one event-bus topic when Redis carries the events (no Kafka): `<prefix>:stream:events`,
 * `<prefix>:stream:deadLetter`, `<prefix>:stream:topics`.
 */
export function eventStreamKey(prefix: string, topic: string): string {
  return `${prefix}:stream:${topic}`;
}
