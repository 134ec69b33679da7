/**
 * The write path of every conversation this process owns: after each step of a conversation, its persisted
 * snapshot and the step's events go to the store in one fenced, atomic write (snapshot plus outbox), under
 * the conversation's lease. All writes of all conversations pass through here, so this is the one place
 * that decides how they are grouped:
 * - per conversation, writes are ordered and coalesced: a step waits for the end of the current turn of
 *   the event loop (`setImmediate`), so the steps one model reply sets off (the reply, its quality verdict,
 *   the next call) leave as one write, and a backlog behind a slow write collapses into the newest snapshot
 *   with all events;
 * - across conversations, every write that became due in one turn of the event loop is started from one
 *   callback, so the Redis client sends them in one pipeline.
 * The persisted snapshot is computed only for what is written. A conversation is followed from its
 * persister actor (`actors/persist-conversation.ts`), which hears back when the conversation is settled
 * (final step saved) or lost (a newer owner fenced us out, or the lease could not be renewed).
 */
import { DEFAULTS } from '../defaults.js';
import { isStaleLeaseError } from '../errors.js';
import type { ConversationRecord } from '../events.js';
import type { Logger } from '../logger.js';
import type { ConversationContext } from '../machines/conversation.js';
import type { ConversationSnapshot } from '../machines/supervision.js';
import { startedEvent, stepEvents, toRecord } from '../records.js';
import type { Clock, OutboxEvent, Ownership, SnapshotStore } from '../services/ports.js';
import { persistedRecord } from './conversation-snapshot.js';
import { giveBack, type LeaseKeeper } from './lease-keeper.js';

export interface PersisterOptions {
  store: SnapshotStore;
  clock: Clock;
  logger: Logger;
  /** The leases this process holds; a followed conversation's lease is dropped once settled or lost. */
  leases: LeaseKeeper;
  /** A snapshot's persisted form (the conversation machine's `getPersistedSnapshot`). */
  persistedForm: (snapshot: ConversationSnapshot) => unknown;
  /** A conversation stopped being ours (finished or lost), e.g. to drop its cached turns. */
  onReleased?: (conversationId: string) => void;
  /**
   * A step of a conversation is durable in the store (its context as written; `latest`: no newer step is
   * waiting to be written): the call path waits on this before sending a model call the step records as in
   * flight (`CallIntents`).
   */
  onSaved?: (conversationId: string, context: ConversationContext, latest: boolean) => void;
  /** A step of a conversation is waiting to be written: what was durable is no longer its latest state. */
  onStep?: (conversationId: string) => void;
  /** A conversation started or finished: its events are in the outbox, worth delivering at once. */
  onOutboxEvents?: () => void;
  /**
   * Crashes of a conversation's actor, counted in the store across owners, before it is saved as failed
   * (`crashed`); each earlier crash gives the lease back so it is adopted again from its last saved step.
   * @default DEFAULTS.MAX_CONVERSATION_CRASHES
   */
  maxCrashes?: number;
  /** A conversation's actor crashed: `failed` when that crash failed it, `released` when it is given back. */
  onCrashed?: (outcome: 'released' | 'failed') => void;
  /**
   * Resolves true once Redis replicas hold every write answered before the call (`REDIS_WAIT_REPLICAS`,
   * `src/services/redis/replica-barrier.ts`). With it, a new conversation's topic is acknowledged to its
   * source only once a saved step of it is on the replicas, so a failover cannot lose the conversation
   * after its topic was let go; when they fall short, a later step tries again, and the final step
   * acknowledges regardless.
   * @default acknowledged after the first save
   */
  replicated?: () => Promise<boolean>;
}

/** How a followed conversation's end is reported (to its shard). */
export interface FollowReport {
  settled(): void;
  lost(): void;
}

export interface FollowOptions {
  ownership: Ownership;
  /** Adopted from the store: its steps so far are saved, its start announced. */
  resumed: boolean;
  /** The conversation's snapshot now, before any step is seen. */
  snapshot: ConversationSnapshot;
  report: FollowReport;
}

/** One followed conversation: feed it every step, and its error if its actor crashes. */
export interface Followed {
  step(snapshot: ConversationSnapshot): void;
  crashed(error: unknown): void;
}

/** The newest step not yet written, with the events of every step it stands for. */
interface PendingWrite {
  /** The machine snapshot of the newest step; turned into its persisted form only when it is written. */
  snapshot: ConversationSnapshot;
  status: ConversationContext['status'];
  events: OutboxEvent[];
}

interface Tracker {
  ownership: Ownership;
  report: FollowReport;
  turnsSaved: number;
  pending: PendingWrite | null;
  /** A write is in flight or scheduled; new steps only update `pending`. */
  saving: boolean;
  final: boolean;
  lost: boolean;
  settled: boolean;
  /** Its actor threw: no more steps; the crash is dealt with once the writes in flight are done. */
  crashed: boolean;
  /** The newest snapshot seen, for the failed record of a conversation that crashes for the last time. */
  snapshot: ConversationSnapshot;
  idle: Array<() => void>;
  context: ConversationContext;
}

export class ConversationPersister {
  /** Conversations followed and not yet settled or lost. */
  private readonly trackers = new Set<Tracker>();
  /** The same trackers by conversation id. */
  private readonly byId = new Map<string, Tracker>();
  /** Conversations with a write waiting for the next `startDue`. */
  private readonly due: Tracker[] = [];
  private readonly finished = new Set<(record: ConversationRecord) => void>();
  /** Conversations whose topic waits for the replicas to hold a saved step (`replicated`). */
  private readonly awaitingReplicas = new WeakSet<Ownership>();

  constructor(private readonly options: PersisterOptions) {}

  /** Calls `listener` with each conversation's final record once it is durably saved; returns the unsubscribe. */
  onFinished(listener: (record: ConversationRecord) => void): () => void {
    this.finished.add(listener);
    return () => this.finished.delete(listener);
  }

  /** Conversations being followed now. */
  get following(): number {
    return this.trackers.size;
  }

  /** Whether this process follows the conversation now (it will hear when it is settled or lost). */
  follows(conversationId: string): boolean {
    return this.byId.has(conversationId);
  }

  /** Starts following a conversation whose lease `ownership` holds; a new one's start is written at once. */
  follow(options: FollowOptions): Followed {
    const { ownership, snapshot } = options;
    const context = snapshot.context;
    const tracker: Tracker = {
      ownership,
      report: options.report,
      turnsSaved: options.resumed ? context.turns.length : 0,
      pending: null,
      saving: false,
      final: false,
      lost: false,
      settled: false,
      crashed: false,
      snapshot,
      idle: [],
      context,
    };
    this.trackers.add(tracker);
    this.byId.set(ownership.conversationId, tracker);
    this.options.leases.onLost(ownership, (error) => this.lose(tracker, error));
    if (!options.resumed) {
      this.enqueue(tracker, snapshot, context.status, [
        startedEvent(context, ownership.lease.token, this.options.clock.now()),
      ]);
      this.options.onOutboxEvents?.();
    } else if (snapshot.status === 'done') {
      // Restored straight into a final state: that is a step of its own.
      this.step(tracker, snapshot);
    }
    return {
      step: (next) => this.step(tracker, next),
      crashed: (error) => this.crash(tracker, error),
    };
  }

  private step(tracker: Tracker, snapshot: ConversationSnapshot): void {
    if (tracker.lost || tracker.final || tracker.crashed) return;
    tracker.snapshot = snapshot;
    const { context } = snapshot;
    const final = snapshot.status === 'done';
    const events = stepEvents(
      context,
      tracker.turnsSaved,
      final,
      tracker.ownership.lease.token,
      this.options.clock.now(),
    );
    tracker.turnsSaved = context.turns.length;
    tracker.final = final;
    tracker.context = context;
    this.enqueue(tracker, snapshot, context.status, events);
  }

  private enqueue(
    tracker: Tracker,
    snapshot: ConversationSnapshot,
    status: ConversationContext['status'],
    events: OutboxEvent[],
  ): void {
    this.options.onStep?.(tracker.ownership.conversationId);
    if (tracker.pending) {
      tracker.pending.snapshot = snapshot;
      tracker.pending.status = status;
      tracker.pending.events.push(...events);
    } else {
      tracker.pending = { snapshot, status, events };
    }
    if (!tracker.saving) {
      tracker.saving = true;
      this.due.push(tracker);
      if (this.due.length === 1) setImmediate(this.startDue);
    }
  }

  /**
   * Starts every write that became due during the last turn of the event loop, from one callback: the
   * Redis client gathers commands issued together into one pipeline, so a thousand conversations' steps
   * leave in a few socket writes rather than a thousand (one `setImmediate` each would flush each alone).
   */
  private readonly startDue = (): void => {
    for (const tracker of this.due.splice(0)) void this.drain(tracker);
  };

  private async drain(tracker: Tracker): Promise<void> {
    const { ownership } = tracker;
    while (tracker.pending && !tracker.lost) {
      const pending = tracker.pending;
      tracker.pending = null;
      try {
        const record = persistedRecord(
          pending.status,
          this.options.persistedForm(pending.snapshot),
          this.options.clock.now(),
        );
        // The final write deletes the lease with the record (`SAVE`), so from now on a renewal can only
        // find it gone: stop renewing it before the write leaves. A renewal sent after the write and
        // answered before its reply is handled (both replies in one read, the renewal's shorter await
        // chain first) would otherwise report the lease lost, and the conversation, saved as finished,
        // would never be settled: no finished record, no `waitFor`, and nobody to adopt it. If the write
        // is refused or fails, `lose` below lets the lease lapse as before.
        if (record.status !== 'active') this.options.leases.drop(ownership);
        await this.options.store.save(ownership.lease, record, pending.events);
        this.options.onSaved?.(ownership.conversationId, pending.snapshot.context, tracker.pending === null);
        if (ownership.delivery) await this.acknowledge(ownership, record.status !== 'active');
      } catch (error) {
        this.lose(tracker, error);
      }
    }
    tracker.saving = false;
    if (tracker.final && !tracker.lost && !tracker.settled && !tracker.crashed) this.settle(tracker);
    for (const resolve of tracker.idle.splice(0)) resolve();
  }

  private settle(tracker: Tracker): void {
    tracker.settled = true;
    const { conversationId } = tracker.ownership;
    this.untrack(tracker);
    this.options.leases.drop(tracker.ownership);
    const record = toRecord(tracker.context, this.options.clock.now());
    for (const listener of this.finished) listener(record);
    this.options.onOutboxEvents?.();
    this.options.onReleased?.(conversationId);
    tracker.report.settled();
  }

  private lose(tracker: Tracker, error: unknown): void {
    if (tracker.lost) return;
    tracker.lost = true;
    const { conversationId } = tracker.ownership;
    if (isStaleLeaseError(error)) {
      this.options.logger.warn(
        { conversationId },
        'a newer owner holds this conversation; stopping our copy',
      );
    } else {
      this.options.logger.error(
        { conversationId, err: error },
        'could not persist conversation; letting its lease lapse so another owner resumes it',
      );
    }
    this.untrack(tracker);
    this.options.leases.drop(tracker.ownership);
    giveBack(tracker.ownership, this.options.logger);
    this.options.onReleased?.(conversationId);
    tracker.report.lost();
  }

  /**
   * The conversation's actor threw (a bug: provider failures end a conversation as `provider_failed`).
   * Once the steps before the crash are written, the crash is counted in the store; below the limit the
   * lease is released, so the conversation is adopted again (here or elsewhere) from its last saved step;
   * at the limit it is saved as `failed` with reason `crashed` and its final event goes out. Either way it
   * is logged, and the lease is no longer renewed.
   */
  private crash(tracker: Tracker, error: unknown): void {
    if (tracker.lost || tracker.settled || tracker.crashed) return;
    tracker.crashed = true;
    const written = new Promise<void>((resolve) => {
      if (!tracker.saving && !tracker.pending) resolve();
      else tracker.idle.push(resolve);
    });
    void written
      .then(() => this.afterCrash(tracker, error))
      .catch((err: unknown) => {
        this.options.logger.error(
          { conversationId: tracker.ownership.conversationId, err },
          'could not settle a crashed conversation; its lease will lapse and it will be adopted again',
        );
      })
      .finally(() => {
        for (const resolve of tracker.idle.splice(0)) resolve();
      });
  }

  private async afterCrash(tracker: Tracker, error: unknown): Promise<void> {
    const { ownership } = tracker;
    const { conversationId } = ownership;
    const { store, logger, clock } = this.options;
    const max = this.options.maxCrashes ?? DEFAULTS.MAX_CONVERSATION_CRASHES;
    this.untrack(tracker);
    this.options.leases.drop(ownership);
    this.options.onReleased?.(conversationId);
    if (tracker.lost) return;
    tracker.lost = true;
    const crashes = await store.countCrash(conversationId);
    const message = error instanceof Error ? error.message : String(error);
    if (crashes < max) {
      logger.error(
        { conversationId, err: error, crashes, maxCrashes: max },
        'conversation crashed; giving its lease back so it is adopted again from its last saved step',
      );
      giveBack(ownership, logger);
      await store.releaseLease(ownership.lease);
      this.options.onCrashed?.('released');
      return;
    }
    const now = clock.now();
    const context: ConversationContext = {
      ...tracker.context,
      status: 'failed',
      terminationReason: 'crashed',
      pending: undefined,
      error: { code: 'crashed', message: `crashed ${crashes} times; last: ${message}`.slice(0, 500) },
      endedAt: now,
    };
    const persisted = this.options.persistedForm(tracker.snapshot) as Record<string, unknown> | null;
    const snapshot = { ...(persisted ?? {}), status: 'done', context };
    const events = stepEvents(context, tracker.turnsSaved, true, ownership.lease.token, now);
    await store.save(ownership.lease, persistedRecord('failed', snapshot, now), events);
    // Its final record is saved: it is finished like any other (`waitFor` resolves with it).
    const record = toRecord(context, now);
    for (const listener of this.finished) listener(record);
    logger.error(
      { conversationId, err: error, crashes, maxCrashes: max },
      'conversation crashed too often; saved as failed (crashed)',
    );
    if (ownership.delivery) {
      const delivery = ownership.delivery;
      ownership.delivery = undefined;
      await delivery.ack();
    }
    this.options.onOutboxEvents?.();
    this.options.onCrashed?.('failed');
  }

  /**
   * Acknowledges the topic a conversation came from, its step being saved: at once, or once the replicas
   * hold it (`replicated`). That wait runs beside the conversation, which goes on; a step saved while one
   * is under way is covered by the next save's. A final step waits for it (bounded by its timeout) and
   * acknowledges whatever it says. A topic given back meanwhile (the lease lost) is not acknowledged.
   */
  private async acknowledge(ownership: Ownership, final: boolean): Promise<void> {
    const delivery = ownership.delivery;
    if (!delivery) return;
    const ack = async () => {
      if (ownership.delivery !== delivery) return;
      ownership.delivery = undefined;
      await delivery.ack().catch((err: unknown) => {
        this.options.logger.warn(
          { conversationId: ownership.conversationId, err },
          'topic acknowledgement failed',
        );
      });
    };
    const { replicated } = this.options;
    if (!replicated) return ack();
    if (final) {
      await replicated();
      return ack();
    }
    if (this.awaitingReplicas.has(ownership)) return;
    this.awaitingReplicas.add(ownership);
    void replicated().then(async (held) => {
      this.awaitingReplicas.delete(ownership);
      if (held) await ack();
    });
  }

  /** Resolves when every pending write of every conversation has been attempted. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.trackers].map(
        (tracker) =>
          new Promise<void>((resolve) => {
            if (!tracker.saving && !tracker.pending) resolve();
            else tracker.idle.push(resolve);
          }),
      ),
    );
  }

  /** Stops writing, as a killed process would: for crash-recovery tests. */
  halt(): void {
    for (const tracker of this.trackers) tracker.lost = true;
    this.trackers.clear();
    this.byId.clear();
  }

  private untrack(tracker: Tracker): void {
    this.trackers.delete(tracker);
    const { conversationId } = tracker.ownership;
    if (this.byId.get(conversationId) === tracker) this.byId.delete(conversationId);
  }
}
