import type { AnyActorRef } from 'xstate';
import { isStaleLeaseError } from '../errors.js';
import type { ConversationRecord } from '../events.js';
import type { Logger } from '../logger.js';
import { CONVERSATION_MACHINE_VERSION, type ConversationContext } from '../machines/conversation.js';
import type { ConversationReport } from '../machines/supervisor.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../persistence/snapshot-codec.js';
import { startedEvent, stepEvents, toRecord } from '../records.js';
import type {
  Clock,
  Lease,
  OutboxEvent,
  SnapshotRecord,
  SnapshotStore,
  TopicDelivery,
} from '../services/ports.js';

/** What the runtime holds for a conversation it owns; never part of machine context (not serialisable). */
export interface OwnedConversation {
  lease: Lease;
  /** The topic message it came from, acknowledged once the conversation is first persisted. */
  delivery?: TopicDelivery;
}

/** The newest step not yet written, with the events of every step it stands for. */
interface PendingWrite {
  /** The machine snapshot of the newest step; turned into its persisted form only when it is written. */
  snapshot: unknown;
  status: ConversationContext['status'];
  events: OutboxEvent[];
}

interface Tracker {
  actor: AnyActorRef;
  owned: OwnedConversation;
  turnsSaved: number;
  pending: PendingWrite | null;
  /** A write is in flight or scheduled; new steps only update `pending`. */
  saving: boolean;
  final: boolean;
  lost: boolean;
  settled: boolean;
  idle: Array<() => void>;
  context?: ConversationContext;
}

export interface PersisterOptions {
  store: SnapshotStore;
  clock: Clock;
  logger: Logger;
  leaseTtlMs: number;
  /** Delivers a conversation's settled or lost report to whoever supervises that conversation actor. */
  notify: (event: ConversationReport, conversation: AnyActorRef) => void;
  /** Called once per conversation when its final record is durably saved. */
  onFinished?: (record: ConversationRecord) => void;
  /** Called when a conversation stops being ours (finished or lost), e.g. to drop cached turns. */
  onReleased?: (conversationId: string) => void;
}

/** What `recordOf` needs of an actor: its logic turns a given snapshot into its persisted form. */
type Persistable = AnyActorRef & { logic: { getPersistedSnapshot(snapshot: unknown): unknown } };

function contextOf(actor: AnyActorRef): ConversationContext {
  return (actor.getSnapshot() as { context: ConversationContext }).context;
}

/**
 * Persists every step of every conversation this process owns: after each transition, the actor's
 * persisted snapshot and the step's events go to the store in one fenced, atomic write (snapshot plus
 * outbox). Writes of one conversation are ordered and coalesced: a step waits for the end of the current
 * turn of the event loop (`setImmediate`), so the steps one model reply sets off (the reply, its quality
 * verdict, the next call) leave as one write, and a backlog behind a slow write collapses into the newest
 * snapshot with all events. The persisted snapshot is computed only for what is written. It also keeps
 * leases alive, and tells the conversation's supervisor (its shard) when it is settled (final record saved)
 * or lost (a newer owner fenced us out).
 */
export class ConversationPersister {
  private readonly owned = new Map<string, OwnedConversation>();
  private readonly trackers = new Map<string, Tracker>();
  /** Conversations with a first write waiting for the next `startDue`. */
  private readonly due: Tracker[] = [];
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PersisterOptions) {}

  /** Registers a conversation whose lease this process holds, before its actor is spawned. */
  own(conversationId: string, owned: OwnedConversation): void {
    this.owned.set(conversationId, owned);
  }

  get ownedCount(): number {
    return this.owned.size;
  }

  /** Hooked into the conversation logic's start: follows the actor until it settles or is lost. */
  attach(actor: AnyActorRef, resumed: boolean): void {
    const owned = this.owned.get(actor.id);
    if (!owned) {
      this.options.logger.error(
        { conversationId: actor.id },
        'conversation started without a lease; stopping it',
      );
      queueMicrotask(() =>
        this.options.notify({ type: 'CONVERSATION_LOST', conversationId: actor.id }, actor),
      );
      return;
    }
    const context = contextOf(actor);
    const tracker: Tracker = {
      actor,
      owned,
      turnsSaved: resumed ? context.turns.length : 0,
      pending: null,
      saving: false,
      final: false,
      lost: false,
      settled: false,
      idle: [],
    };
    this.trackers.set(actor.id, tracker);
    if (!resumed) {
      const now = this.options.clock.now();
      this.enqueue(tracker, actor.getSnapshot(), context.status, [
        startedEvent(context, owned.lease.token, now),
      ]);
    }
    actor.subscribe({
      next: (snapshot) => {
        const { status, context: next } = snapshot as { status: string; context: ConversationContext };
        if (tracker.lost || tracker.final) return;
        const final = status === 'done';
        const events = stepEvents(
          next,
          tracker.turnsSaved,
          final,
          owned.lease.token,
          this.options.clock.now(),
        );
        tracker.turnsSaved = next.turns.length;
        tracker.final = final;
        tracker.context = next;
        this.enqueue(tracker, snapshot, next.status, events);
      },
      error: (error) => {
        this.options.logger.error({ conversationId: actor.id, err: error }, 'conversation actor failed');
      },
    });
  }

  private recordOf(tracker: Tracker, pending: PendingWrite): SnapshotRecord {
    return {
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      machineVersion: CONVERSATION_MACHINE_VERSION,
      status: pending.status,
      snapshot: (tracker.actor as Persistable).logic.getPersistedSnapshot(pending.snapshot),
      updatedAt: this.options.clock.now(),
    };
  }

  private enqueue(
    tracker: Tracker,
    snapshot: unknown,
    status: ConversationContext['status'],
    events: OutboxEvent[],
  ): void {
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
    const id = tracker.actor.id;
    while (tracker.pending && !tracker.lost) {
      const pending = tracker.pending;
      tracker.pending = null;
      try {
        const record = this.recordOf(tracker, pending);
        await this.options.store.save(tracker.owned.lease, record, pending.events);
        if (tracker.owned.delivery) {
          const delivery = tracker.owned.delivery;
          tracker.owned.delivery = undefined;
          await delivery.ack().catch((err: unknown) => {
            this.options.logger.warn({ conversationId: id, err }, 'topic acknowledgement failed');
          });
        }
      } catch (error) {
        this.lose(tracker, error);
      }
    }
    tracker.saving = false;
    if (tracker.final && !tracker.lost && !tracker.settled) this.settle(tracker);
    for (const resolve of tracker.idle.splice(0)) resolve();
  }

  private settle(tracker: Tracker): void {
    tracker.settled = true;
    const id = tracker.actor.id;
    this.trackers.delete(id);
    this.owned.delete(id);
    if (tracker.context) this.options.onFinished?.(toRecord(tracker.context, this.options.clock.now()));
    this.options.onReleased?.(id);
    this.options.notify({ type: 'CONVERSATION_SETTLED', conversationId: id }, tracker.actor);
  }

  private lose(tracker: Tracker, error: unknown): void {
    if (tracker.lost) return;
    tracker.lost = true;
    const id = tracker.actor.id;
    if (isStaleLeaseError(error)) {
      this.options.logger.warn(
        { conversationId: id },
        'a newer owner holds this conversation; stopping our copy',
      );
    } else {
      this.options.logger.error(
        { conversationId: id, err: error },
        'could not persist conversation; letting its lease lapse so another owner resumes it',
      );
    }
    this.trackers.delete(id);
    this.owned.delete(id);
    this.giveBack(id, tracker.owned);
    this.options.onReleased?.(id);
    this.options.notify({ type: 'CONVERSATION_LOST', conversationId: id }, tracker.actor);
  }

  /**
   * A conversation lost before its first save has nothing in the store for anyone to adopt: the topic it
   * came from (not acknowledged yet) goes back to its source, to be started again.
   */
  private giveBack(id: string, owned: OwnedConversation): void {
    const delivery = owned.delivery;
    owned.delivery = undefined;
    delivery?.release().catch((err: unknown) => {
      this.options.logger.warn({ conversationId: id, err }, 'could not give an unstarted topic back');
    });
  }

  /** Renews every held lease each third of the TTL; a lease that cannot be renewed is lost. */
  startLeaseRenewal(): void {
    if (this.renewTimer) return;
    const every = Math.max(100, Math.floor(this.options.leaseTtlMs / 3));
    this.renewTimer = setInterval(() => void this.renewAll(), every);
    this.renewTimer.unref();
  }

  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.owned.entries()].map(async ([id, owned]) => {
        try {
          const renewed = await this.options.store.renewLease(owned.lease, this.options.leaseTtlMs);
          if (renewed) {
            owned.lease.expiresAt = renewed.expiresAt;
            return;
          }
          const tracker = this.trackers.get(id);
          if (tracker) this.lose(tracker, new Error('lease lost'));
          else {
            this.owned.delete(id);
            this.giveBack(id, owned);
          }
        } catch (err) {
          // Redis unreachable: keep the lease as it is; the fence rejects our writes if someone took it.
          this.options.logger.warn({ conversationId: id, err }, 'lease renewal failed; will retry');
        }
      }),
    );
  }

  /** Stops renewing leases (a process frozen past its TTL looks like this); writes go on and get fenced. */
  stopLeaseRenewal(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Stops renewing leases and writing, as a killed process would: for crash-recovery tests. */
  halt(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    for (const tracker of this.trackers.values()) tracker.lost = true;
    this.trackers.clear();
    this.owned.clear();
  }

  /** Resolves when every pending write of every conversation has been attempted. */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.trackers.values()].map(
        (tracker) =>
          new Promise<void>((resolve) => {
            if (!tracker.saving && !tracker.pending) resolve();
            else tracker.idle.push(resolve);
          }),
      ),
    );
  }

  /**
   * Shutdown: waits for pending writes, then gives up every lease still held (so another daemon adopts
   * those conversations at once instead of after the TTL) and returns unstarted topics to their source.
   */
  async releaseAll(): Promise<void> {
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.renewTimer = undefined;
    await this.flush();
    await Promise.all(
      [...this.owned.entries()].map(async ([id, owned]) => {
        try {
          if (owned.delivery) await owned.delivery.release();
          await this.options.store.releaseLease(owned.lease);
        } catch (err) {
          this.options.logger.warn({ conversationId: id, err }, 'could not release lease; it will lapse');
        }
      }),
    );
    this.owned.clear();
    this.trackers.clear();
  }
}
