import { ChimeraError, StaleLeaseError } from '../../errors.js';
import { checkWholeMs, DEFAULT_FINISHED_TTL_MS } from '../../persistence/retention.js';
import { decodeSnapshot, encodeSnapshot, isFinished } from '../../persistence/snapshot-codec.js';
import type {
  ConversationStatus,
  Lease,
  OutboxEntry,
  OutboxEvent,
  SnapshotRecord,
  SnapshotStore,
  StoredSnapshot,
} from '../ports.js';
import type { Journal } from './journal.js';
import type { ConversationEntry } from './state.js';

export interface JournalSnapshotStoreOptions {
  /** How long a finished conversation stays readable. @default DEFAULT_FINISHED_TTL_MS (a week) */
  finishedTtlMs?: number;
}

/**
 * Snapshots, leases and the outbox in the journal: the memory store's rules, with every change written
 * and flushed before the call returns, so a `generate` run killed at any moment resumes from its last
 * saved step. Leases end when the process does (the next process to open the journal adopts at once).
 */
export class JournalSnapshotStore implements SnapshotStore {
  private readonly finishedTtlMs: number;
  private closed = false;

  constructor(
    private readonly journal: Journal,
    options: JournalSnapshotStoreOptions = {},
  ) {
    this.finishedTtlMs = options.finishedTtlMs ?? DEFAULT_FINISHED_TTL_MS;
    checkWholeMs('finishedTtlMs', this.finishedTtlMs);
  }

  private get entries(): Map<string, ConversationEntry> {
    return this.journal.state.conversations;
  }

  private now(): number {
    return this.journal.clock.now();
  }

  private write(
    id: string,
    entry: ConversationEntry,
    changes: { stored?: string; events?: OutboxEntry[] } = {},
  ) {
    const { stored: _stored, ...e } = entry;
    return this.journal.commit({ t: 'conv', id, e, ...changes });
  }

  async acquireLease(conversationId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const now = this.now();
    const entry = { ...(this.live(conversationId, now) ?? { fence: 0 }) };
    if (entry.lease && entry.lease.expiresAt > now) {
      await this.journal.barrier();
      return null;
    }
    entry.fence += 1;
    const expiresAt = now + ttlMs;
    entry.lease = { owner, token: entry.fence, expiresAt };
    if (entry.activeScore !== undefined) entry.activeScore = expiresAt;
    if (entry.stored === undefined) entry.expiresAt = now + Math.max(ttlMs, this.finishedTtlMs);
    await this.write(conversationId, entry);
    return { conversationId, owner, token: entry.fence, expiresAt };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const now = this.now();
    const current = this.live(lease.conversationId, now);
    if (!current || !holds(current, lease, now)) {
      await this.journal.barrier();
      return null;
    }
    const expiresAt = now + ttlMs;
    const entry = { ...current, lease: { owner: lease.owner, token: lease.token, expiresAt } };
    if (entry.activeScore !== undefined) entry.activeScore = expiresAt;
    await this.write(lease.conversationId, entry);
    return { ...lease, expiresAt };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    const now = this.now();
    const current = this.live(lease.conversationId, now);
    if (!current || !holds(current, lease, now)) return;
    const entry = { ...current, lease: undefined };
    if (entry.activeScore !== undefined) entry.activeScore = now;
    await this.write(lease.conversationId, entry);
  }

  async save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    this.assertOpen();
    const text = encodeSnapshot(lease.conversationId, record, lease.token);
    const copies = events.map((event) => copyEvent(event));
    const now = this.now();
    const current = this.live(lease.conversationId, now);
    if (!current || !holds(current, lease, now)) throw new StaleLeaseError(lease.conversationId, lease.token);
    const entry: ConversationEntry = { ...current, stored: text, status: record.status };
    if (isFinished(record.status)) {
      entry.activeScore = undefined;
      entry.lease = undefined;
      entry.expiresAt = now + this.finishedTtlMs;
    } else {
      entry.activeScore = current.lease!.expiresAt;
      entry.expiresAt = undefined;
    }
    let seq = this.journal.state.outboxSeq;
    const outbox = copies.map((event) => {
      seq += 1;
      return { id: String(seq).padStart(16, '0'), ...event };
    });
    await this.write(lease.conversationId, entry, { stored: text, events: outbox });
  }

  async load(conversationId: string): Promise<StoredSnapshot | null> {
    this.assertOpen();
    await this.journal.barrier();
    const entry = this.live(conversationId, this.now());
    if (!entry?.stored) return null;
    return decodeSnapshot(conversationId, entry.stored);
  }

  async listOrphaned(now: number, limit: number): Promise<string[]> {
    this.assertOpen();
    await this.journal.barrier();
    const clock = this.now();
    const orphans: Array<[string, number]> = [];
    for (const [id, entry] of this.entries) {
      if (expired(entry, clock)) continue;
      if (entry.activeScore !== undefined && entry.activeScore < now) orphans.push([id, entry.activeScore]);
    }
    orphans.sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0));
    return orphans.slice(0, Math.max(0, limit)).map(([id]) => id);
  }

  async counts(): Promise<Record<ConversationStatus, number>> {
    this.assertOpen();
    await this.journal.barrier();
    const now = this.now();
    const counts: Record<ConversationStatus, number> = { active: 0, ended: 0, failed: 0, timedOut: 0 };
    for (const entry of this.entries.values())
      if (entry.status && !expired(entry, now)) counts[entry.status] += 1;
    return counts;
  }

  async countCrash(conversationId: string): Promise<number> {
    this.assertOpen();
    const now = this.now();
    const entry = { ...(this.live(conversationId, now) ?? { fence: 0 }) };
    entry.crashes = (entry.crashes ?? 0) + 1;
    if (entry.stored === undefined && entry.expiresAt === undefined)
      entry.expiresAt = now + this.finishedTtlMs;
    await this.write(conversationId, entry);
    return entry.crashes;
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    this.assertOpen();
    await this.journal.barrier();
    return this.journal.state.outbox
      .slice(0, Math.max(0, limit))
      .map((entry) => ({ id: entry.id, ...copyEvent(entry) }));
  }

  async ackOutbox(ids: string[]): Promise<void> {
    this.assertOpen();
    if (ids.length === 0) return;
    await this.journal.commit({ t: 'ack', ids });
  }

  async outboxSize(): Promise<number> {
    this.assertOpen();
    await this.journal.barrier();
    return this.journal.state.outbox.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** The entry unless it is past retention (then it is as if it never was: a new one starts at fence 0). */
  private live(conversationId: string, now: number): ConversationEntry | undefined {
    const entry = this.entries.get(conversationId);
    return entry && !expired(entry, now) ? entry : undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'snapshot store is closed');
  }
}

function expired(entry: ConversationEntry, now: number): boolean {
  return entry.expiresAt !== undefined && entry.expiresAt <= now;
}

function holds(entry: ConversationEntry, lease: Lease, now: number): boolean {
  return (
    entry.lease !== undefined &&
    entry.lease.expiresAt > now &&
    entry.lease.owner === lease.owner &&
    entry.lease.token === lease.token &&
    entry.fence === lease.token
  );
}

function copyEvent(event: OutboxEvent): OutboxEvent {
  return {
    topic: event.topic,
    key: event.key,
    value: JSON.parse(JSON.stringify(event.value ?? null)) as unknown,
    headers: { ...event.headers },
  };
}
