import { fromPromise } from 'xstate';
import { isChimeraError } from '../errors.js';
import { conversationIdFor, type Topic } from '../events.js';
import type { Logger } from '../logger.js';
import type { ConversationContext, ConversationInput } from '../machines/conversation.js';
import type { Work } from '../machines/supervision.js';
import { persistedRecord, restorableContext } from '../persistence/conversation-snapshot.js';
import type { LeaseKeeper } from '../persistence/lease-keeper.js';
import type { Clock, Ownership, SnapshotStore, TopicDelivery, TopicSource } from '../services/ports.js';

export interface NextWorkOptions {
  store: SnapshotStore;
  source: TopicSource;
  /** Keeps every lease taken here (renewal, release on drain) until the conversation's persister takes over. */
  leases: LeaseKeeper;
  clock: Clock;
  logger: Logger;
  /** This process's owner id in leases. */
  owner: string;
  leaseTtlMs: number;
  /** Builds a new conversation's input from its topic. */
  buildInput: (topic: Topic, conversationId: string, startedAt: number) => ConversationInput;
  /**
   * Whether new work may be taken: false while the spending cap is reached (nothing is pulled or adopted;
   * the pull waits `pollMs` and comes back empty). @default always open
   */
  intakeOpen?: () => boolean;
  /**
   * How long one pull waits for a topic before the supervisor looks again.
   * @default 500
   */
  pollMs?: number;
  /**
   * How often to look for orphaned conversations to adopt.
   * @default 1000
   */
  adoptEveryMs?: number;
  /**
   * How long a topic whose conversation is leased elsewhere but not yet saved waits before the next try.
   * @default the lease TTL, at most DEFAULT_PARK_MS
   */
  parkMs?: number;
}

/** A held-back topic is tried again this often: one lease check a second is cheap, and it starts soon after the lease lapses. */
export const DEFAULT_PARK_MS = 1000;

/**
 * The supervisor's intake: adopts an orphaned conversation (lease lapsed, not finished) when there is one,
 * otherwise takes the next topic, claims its conversation by lease and hands it over. The work carries
 * what this process now holds for the conversation (its `Ownership`). Aborting (drain) gives back whatever
 * it holds.
 */
export function nextWorkActor(options: NextWorkOptions) {
  const pollMs = options.pollMs ?? 500;
  const adoptEveryMs = options.adoptEveryMs ?? 1000;
  const parkMs = options.parkMs ?? Math.min(options.leaseTtlMs, DEFAULT_PARK_MS);
  let lastScan = Number.NEGATIVE_INFINITY;
  let orphans: string[] = [];

  async function adopt(signal: AbortSignal): Promise<Work | null> {
    const now = options.clock.now();
    if (orphans.length === 0 && now - lastScan >= adoptEveryMs) {
      lastScan = now;
      orphans = await options.store.listOrphaned(now, 50);
    }
    while (orphans.length > 0 && !signal.aborted) {
      const conversationId = orphans.shift()!;
      const lease = await options.store.acquireLease(conversationId, options.owner, options.leaseTtlMs);
      if (!lease) continue;
      let context: ConversationContext | null;
      try {
        const stored = await options.store.load(conversationId);
        context = stored?.status === 'active' ? restorableContext(stored) : null;
      } catch (err) {
        // Unreadable (corrupt, or written by an incompatible version): mark it failed so it is not
        // adopted again and again, and keep going.
        options.logger.error(
          { conversationId, err },
          'cannot adopt conversation: its snapshot is unreadable',
        );
        await options.store.save(lease, persistedRecord('failed', null, options.clock.now()), []);
        continue;
      }
      if (!context || signal.aborted) {
        await options.store.releaseLease(lease);
        continue;
      }
      const ownership: Ownership = { conversationId, lease };
      options.leases.hold(ownership);
      // Not `token`: log scrubbing hides fields of that name, and the fencing token is no secret.
      options.logger.info({ conversationId, fencingToken: lease.token }, 'adopting orphaned conversation');
      return { kind: 'resume', conversationId, context, ownership };
    }
    return null;
  }

  /**
   * Topics whose conversation someone else holds a lease on but has never saved: that owner is starting
   * it right now, or died between taking the lease and its first save. Acknowledging such a topic would
   * lose it in the second case (nothing in the store to adopt), so it is kept, neither acknowledged nor
   * released, and tried again once the lease may have lapsed.
   */
  let parked: Array<{ delivery: TopicDelivery; retryAt: number }> = [];
  const wasParked = new WeakSet<TopicDelivery>();

  function park(delivery: TopicDelivery, conversationId: string): void {
    parked.push({ delivery, retryAt: options.clock.now() + parkMs });
    if (wasParked.has(delivery)) return;
    wasParked.add(delivery);
    options.logger.info(
      { conversationId, topicId: delivery.topic.id },
      'topic leased elsewhere but not saved yet; holding it until that lease lapses',
    );
  }

  /** Whether the conversation has a stored record; an unreadable one counts (adoption deals with it). */
  async function saved(conversationId: string): Promise<boolean> {
    try {
      return (await options.store.load(conversationId)) !== null;
    } catch (error) {
      return isChimeraError(error) && error.code === 'invalid_snapshot';
    }
  }

  /** Gives parked topics back to their sources (a drain); a process that dies leaves them to redelivery. */
  async function releaseParked(): Promise<void> {
    const all = parked;
    parked = [];
    await Promise.all(all.map(({ delivery }) => delivery.release().catch(() => undefined)));
  }

  async function nextDelivery(): Promise<TopicDelivery | null> {
    const now = options.clock.now();
    const due = parked.findIndex((entry) => entry.retryAt <= now);
    if (due >= 0) return parked.splice(due, 1)[0]!.delivery;
    return options.source.next(pollMs);
  }

  async function fresh(signal: AbortSignal): Promise<Work | null> {
    const delivery = await nextDelivery();
    if (!delivery) return null;
    if (signal.aborted) {
      await delivery.release();
      return null;
    }
    const conversationId = conversationIdFor(delivery.topic.id);
    const lease = await options.store.acquireLease(conversationId, options.owner, options.leaseTtlMs);
    if (!lease) {
      // Someone else holds it. Once it is saved, it is theirs (or, if they die, an orphan to adopt).
      if (await saved(conversationId)) await delivery.ack();
      else park(delivery, conversationId);
      return null;
    }
    const existing = await options.store.load(conversationId).catch(() => null);
    if (existing || signal.aborted) {
      await options.store.releaseLease(lease);
      if (existing) {
        options.logger.info(
          { conversationId, topicId: delivery.topic.id },
          'topic already has a conversation; skipped',
        );
        await delivery.ack();
      } else {
        await delivery.release();
      }
      return null;
    }
    const ownership: Ownership = { conversationId, lease, delivery };
    options.leases.hold(ownership);
    const input = options.buildInput(delivery.topic, conversationId, options.clock.now());
    return { kind: 'new', conversationId, input, ownership };
  }

  return fromPromise<Work | null, { active: number }>(async ({ signal }) => {
    signal.addEventListener('abort', () => void releaseParked(), { once: true });
    if (options.intakeOpen && !options.intakeOpen()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        const stop = () => {
          clearTimeout(timer);
          resolve();
        };
        signal.addEventListener('abort', stop, { once: true });
      });
      return null;
    }
    // Back-pressure: while timers run late, one more conversation would make the lease renewals later
    // still, and past the TTL every conversation of this process would be fenced out and lost. Wait until
    // the work in flight has caught up; conversations ending make room.
    await options.leases.untilCapacity(signal);
    if (signal.aborted) return null;
    return (await adopt(signal)) ?? (await fresh(signal));
  });
}
