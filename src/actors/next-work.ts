import { fromPromise } from 'xstate';
import { isChimeraError } from '../errors.js';
import { conversationIdFor, type Topic } from '../events.js';
import type { Logger } from '../logger.js';
import type { ConversationContext, ConversationInput } from '../machines/conversation.js';
import type { Work } from '../machines/supervision.js';
import { persistedRecord, restorableContext } from '../persistence/conversation-snapshot.js';
import type { LeaseKeeper } from '../persistence/lease-keeper.js';
import type {
  Clock,
  Lease,
  Ownership,
  SnapshotStore,
  TopicDelivery,
  TopicSource,
} from '../services/ports.js';

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
   * The supervisor's `maxConcurrent`: a batch takes no more topics than it has room for.
   * @default not known: batches of up to MAX_BATCH
   */
  maxConcurrent?: number;
  /**
   * How long a topic whose conversation is leased elsewhere but not yet saved waits before the next try.
   * @default the lease TTL, at most DEFAULT_PARK_MS
   */
  parkMs?: number;
}

/**
 * Topics one intake step takes at most. Their claims, leases and existence checks go to Redis together,
 * so a batch costs a few round trips whatever its size; the lease keeper's allowance and the supervisor's
 * room bound it further.
 */
export const MAX_BATCH = 100;

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

  /** Parked topics whose retry is due, up to `max`. */
  function dueParked(max: number): TopicDelivery[] {
    const now = options.clock.now();
    const due: TopicDelivery[] = [];
    parked = parked.filter((entry) => {
      if (due.length >= max || entry.retryAt > now) return true;
      due.push(entry.delivery);
      return false;
    });
    return due;
  }

  /**
   * Up to `max` deliveries: parked topics that are due, then the next topic of the source (waiting up to
   * `pollMs` for one), then as many more as the source has at hand, asked for all at once: each source's
   * claim is a Redis command, and asked together they share a round trip of the auto-pipeline. (Asking for
   * the whole batch only once the first came keeps an idle intake to one look per poll.)
   */
  async function nextDeliveries(max: number): Promise<TopicDelivery[]> {
    const deliveries = dueParked(max);
    if (deliveries.length >= max) return deliveries;
    if (deliveries.length === 0) {
      const first = await options.source.next(pollMs);
      if (!first) return deliveries;
      deliveries.push(first);
    }
    const results = await Promise.allSettled(
      Array.from({ length: max - deliveries.length }, () => options.source.next(0)),
    );
    // A source's failure (its head message could not be admitted) leaves that message at the head of the
    // source, which backs off; what the others took goes on.
    for (const result of results)
      if (result.status === 'fulfilled' && result.value) deliveries.push(result.value);
    return deliveries;
  }

  /** Gives a topic back to its source, never throwing (the source redelivers what it cannot take back). */
  function giveBackDelivery(delivery: TopicDelivery): Promise<void> {
    return delivery.release().catch((err: unknown) => {
      options.logger.warn({ topicId: delivery.topic.id, err }, 'could not give a topic back');
    });
  }

  /**
   * One delivery to work: its conversation's lease (taken before, with the others of the batch, in one
   * round trip) and the check that it has no stored record yet. Null when the topic is not to be started
   * here (held elsewhere, already run, or the intake was aborted); its delivery is then settled or parked.
   */
  async function startable(
    delivery: TopicDelivery,
    lease: Lease | null,
    existing: boolean,
    signal: AbortSignal,
  ): Promise<Work | null> {
    const conversationId = conversationIdFor(delivery.topic.id);
    if (!lease) {
      // Someone else holds it. Once it is saved, it is theirs (or, if they die, an orphan to adopt).
      if (await saved(conversationId)) await delivery.ack();
      else park(delivery, conversationId);
      return null;
    }
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
    const input = options.buildInput(delivery.topic, conversationId, options.clock.now());
    const ownership: Ownership = { conversationId, lease, delivery };
    options.leases.hold(ownership);
    return { kind: 'new', conversationId, input, ownership };
  }

  /**
   * New conversations for up to `max` topics at once: the topics' claims, then their leases, then the
   * checks that none has a stored record, each step for every topic of the batch together, so a batch
   * costs about four round trips to Redis however many topics it holds (one at a time, each new
   * conversation waited for three round trips of its own in sequence). A topic whose step fails is
   * given back to its source (with its lease, if it got one) and the others go on; when none came
   * through, the first failure is thrown (the supervisor backs off).
   */
  async function fresh(max: number, signal: AbortSignal): Promise<Work[]> {
    const deliveries = await nextDeliveries(max);
    if (deliveries.length === 0) return [];
    if (signal.aborted) {
      await Promise.all(deliveries.map(giveBackDelivery));
      return [];
    }
    const leases = await Promise.allSettled(
      deliveries.map((delivery) =>
        options.store.acquireLease(conversationIdFor(delivery.topic.id), options.owner, options.leaseTtlMs),
      ),
    );
    // An unreadable record counts as none, as before batching: the lease's fencing still guards the writes.
    const existing = await Promise.all(
      leases.map(async (lease, i) =>
        lease.status === 'fulfilled' && lease.value
          ? (await options.store.load(conversationIdFor(deliveries[i]!.topic.id)).catch(() => null)) !== null
          : false,
      ),
    );
    const outcomes = await Promise.allSettled(
      deliveries.map(async (delivery, i) => {
        const lease = leases[i]!;
        if (lease.status === 'rejected') throw lease.reason;
        return startable(delivery, lease.value, existing[i]!, signal);
      }),
    );
    const works: Work[] = [];
    let failure: { error: unknown } | undefined;
    await Promise.all(
      outcomes.map(async (outcome, i) => {
        if (outcome.status === 'fulfilled') {
          if (outcome.value) works.push(outcome.value);
          return;
        }
        failure ??= { error: outcome.reason };
        const lease = leases[i]!;
        if (lease.status === 'fulfilled' && lease.value)
          await options.store.releaseLease(lease.value).catch(() => undefined);
        await giveBackDelivery(deliveries[i]!);
      }),
    );
    if (works.length === 0 && failure) throw failure.error;
    return works;
  }

  /**
   * Work taken in a batch and not handed to the supervisor yet (it takes one piece per pull). Its leases
   * are held by the lease keeper, so they are renewed while they wait, and given back with the others on
   * shutdown; an aborted pull gives them back at once.
   */
  let ready: Work[] = [];

  async function releaseReady(): Promise<void> {
    const all = ready;
    ready = [];
    await Promise.all(
      all.map(async (work) => {
        options.leases.drop(work.ownership);
        await options.store.releaseLease(work.ownership.lease).catch(() => undefined);
        if (work.ownership.delivery) await giveBackDelivery(work.ownership.delivery);
      }),
    );
  }

  /** How many new conversations one pull may take: what the lease keeper allows, what the supervisor has room for. */
  function batchSize(active: number): number {
    const room = options.maxConcurrent === undefined ? MAX_BATCH : options.maxConcurrent - active;
    return Math.max(1, Math.min(MAX_BATCH, room, options.leases.room));
  }

  return fromPromise<Work | null, { active: number }>(async ({ input, signal }) => {
    signal.addEventListener(
      'abort',
      () => {
        void releaseParked();
        void releaseReady();
      },
      { once: true },
    );
    if (options.intakeOpen && !options.intakeOpen()) {
      // Nothing new starts while the spending cap is reached: topics taken in already go back.
      await releaseReady();
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
    const waiting = ready.shift();
    if (waiting) return waiting;
    // Back-pressure: while timers run late, one more conversation would make the lease renewals later
    // still, and past the TTL every conversation of this process would be fenced out and lost. Wait until
    // the work in flight has caught up; conversations ending make room.
    await options.leases.untilCapacity(signal);
    if (signal.aborted) return null;
    const adopted = await adopt(signal);
    if (adopted) return adopted;
    ready = await fresh(batchSize(input.active), signal);
    if (signal.aborted) {
      await releaseReady();
      return null;
    }
    return ready.shift() ?? null;
  });
}
