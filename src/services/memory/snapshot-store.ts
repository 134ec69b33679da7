import { ChimeraError, StaleLeaseError } from '../../errors.js';
import { checkWholeMs, DEFAULT_FINISHED_TTL_MS } from '../../persistence/retention.js';
import { decodeSnapshot, encodeSnapshot, isFinished } from '../../persistence/snapshot-codec.js';
import type {
  Clock,
  ConversationStatus,
  Lease,
  OutboxEntry,
  OutboxEvent,
  SnapshotRecord,
  SnapshotStore,
  StoredSnapshot,
} from '../ports.js';
import { systemClock } from '../ports.js';

export interface MemorySnapshotStoreOptions {
  /** Judges lease expiry and retention; tests pass a fake one. @default systemClock */
  clock?: Clock;
  /** How long a finished conversation stays readable. @default DEFAULT_FINISHED_TTL_MS (a week) */
  finishedTtlMs?: number;
}

interface Entry {
  /** The last fencing token handed out; survives releases so tokens only grow. */
  fence: number;
  lease?: { owner: string; token: number; expiresAt: number };
  /** Stored text, exactly as the Redis store would hold it, so reads validate the same way. */
  stored?: string;
  status?: ConversationStatus;
  /** Position in the active index (lease expiry); set only for saved, unfinished conversations. */
  activeScore?: number;
  /** When the record stops being readable; set once the conversation finished. */
  expiresAt?: number;
  /** Crashes of the conversation's actor so far. */
  crashes?: number;
}

/**
 * The embedded store: the same fencing, index and outbox rules as the Redis store, held in this process.
 * State does not outlive the process, so adoption here only covers actors within one daemon.
 */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly clock: Clock;
  private readonly finishedTtlMs: number;
  private readonly entries = new Map<string, Entry>();
  /** Kept with each event's value as JSON text, as Redis keeps it: encoded once here, decoded once when read. */
  private readonly outbox: StoredOutboxEntry[] = [];
  private outboxSeq = 0;
  private closed = false;

  constructor(options: MemorySnapshotStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.finishedTtlMs = options.finishedTtlMs ?? DEFAULT_FINISHED_TTL_MS;
    checkWholeMs('finishedTtlMs', this.finishedTtlMs);
  }

  async acquireLease(conversationId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const now = this.clock.now();
    const entry = this.entry(conversationId, now, true);
    if (entry.lease && entry.lease.expiresAt > now) return null;
    entry.fence += 1;
    const expiresAt = now + ttlMs;
    entry.lease = { owner, token: entry.fence, expiresAt };
    if (entry.activeScore !== undefined) entry.activeScore = expiresAt;
    // A conversation taken but never saved must not keep its counter forever (the Redis key expires too).
    if (entry.stored === undefined) entry.expiresAt = now + Math.max(ttlMs, this.finishedTtlMs);
    return { conversationId, owner, token: entry.fence, expiresAt };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const now = this.clock.now();
    const entry = this.entry(lease.conversationId, now, false);
    if (!entry || !holds(entry, lease, now)) return null;
    const expiresAt = now + ttlMs;
    entry.lease = { owner: lease.owner, token: lease.token, expiresAt };
    if (entry.activeScore !== undefined) entry.activeScore = expiresAt;
    return { ...lease, expiresAt };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    const now = this.clock.now();
    const entry = this.entry(lease.conversationId, now, false);
    if (!entry || !holds(entry, lease, now)) return;
    entry.lease = undefined;
    // A handed-back conversation is adoptable at once instead of after its lease would have lapsed.
    if (entry.activeScore !== undefined) entry.activeScore = now;
  }

  async save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    this.assertOpen();
    const text = encodeSnapshot(lease.conversationId, record, lease.token);
    // Copy the events before touching state so a value JSON cannot hold fails the whole save.
    const copies = events.map((event) => encodeEvent(event));
    const now = this.clock.now();
    const entry = this.entry(lease.conversationId, now, false);
    if (!entry || !holds(entry, lease, now)) throw new StaleLeaseError(lease.conversationId, lease.token);

    entry.stored = text;
    entry.status = record.status;
    if (isFinished(record.status)) {
      entry.activeScore = undefined;
      entry.lease = undefined;
      entry.expiresAt = now + this.finishedTtlMs;
    } else {
      entry.activeScore = entry.lease!.expiresAt;
      entry.expiresAt = undefined;
    }
    for (const event of copies) {
      this.outboxSeq += 1;
      this.outbox.push({ id: String(this.outboxSeq).padStart(16, '0'), ...event });
    }
  }

  async load(conversationId: string): Promise<StoredSnapshot | null> {
    this.assertOpen();
    const entry = this.entry(conversationId, this.clock.now(), false);
    if (!entry?.stored) return null;
    return decodeSnapshot(conversationId, entry.stored);
  }

  async listOrphaned(now: number, limit: number): Promise<string[]> {
    this.assertOpen();
    this.prune(this.clock.now());
    const orphans: Array<[string, number]> = [];
    for (const [id, entry] of this.entries) {
      if (entry.activeScore !== undefined && entry.activeScore < now) orphans.push([id, entry.activeScore]);
    }
    // Ties in lexical order of the id, as a Redis sorted set returns them.
    orphans.sort(([a, sa], [b, sb]) => sa - sb || (a < b ? -1 : a > b ? 1 : 0));
    return orphans.slice(0, Math.max(0, limit)).map(([id]) => id);
  }

  async counts(): Promise<Record<ConversationStatus, number>> {
    this.assertOpen();
    this.prune(this.clock.now());
    const counts: Record<ConversationStatus, number> = { active: 0, ended: 0, failed: 0, timedOut: 0 };
    for (const entry of this.entries.values()) {
      if (entry.status) counts[entry.status] += 1;
    }
    return counts;
  }

  async countCrash(conversationId: string): Promise<number> {
    this.assertOpen();
    const entry = this.entry(conversationId, this.clock.now(), true);
    entry.crashes = (entry.crashes ?? 0) + 1;
    return entry.crashes;
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    this.assertOpen();
    return this.outbox.slice(0, Math.max(0, limit)).map((entry) => ({
      id: entry.id,
      topic: entry.topic,
      key: entry.key,
      value: JSON.parse(entry.valueJson) as unknown,
      headers: { ...entry.headers },
    }));
  }

  async ackOutbox(ids: string[]): Promise<void> {
    this.assertOpen();
    const acked = new Set(ids);
    for (let i = this.outbox.length - 1; i >= 0; i -= 1) {
      if (acked.has(this.outbox[i]!.id)) this.outbox.splice(i, 1);
    }
  }

  async outboxSize(): Promise<number> {
    this.assertOpen();
    return this.outbox.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private entry(conversationId: string, now: number, create: true): Entry;
  private entry(conversationId: string, now: number, create: false): Entry | undefined;
  private entry(conversationId: string, now: number, create: boolean): Entry | undefined {
    let entry = this.entries.get(conversationId);
    if (entry?.expiresAt !== undefined && entry.expiresAt <= now) {
      this.entries.delete(conversationId);
      entry = undefined;
    }
    if (!entry && create) {
      entry = { fence: 0 };
      this.entries.set(conversationId, entry);
    }
    return entry;
  }

  /** Drops finished records past retention, so counts match what can still be read. */
  private prune(now: number): void {
    for (const [id, entry] of this.entries) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) this.entries.delete(id);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'snapshot store is closed');
  }
}

function holds(entry: Entry, lease: Lease, now: number): boolean {
  return (
    entry.lease !== undefined &&
    entry.lease.expiresAt > now &&
    entry.lease.owner === lease.owner &&
    entry.lease.token === lease.token &&
    entry.fence === lease.token
  );
}

interface StoredOutboxEntry {
  id: string;
  topic: OutboxEvent['topic'];
  key: OutboxEvent['key'];
  /** The value as JSON: read back as a fresh copy, what the Redis store would hand back, with no aliasing. */
  valueJson: string;
  headers: OutboxEvent['headers'];
}

/** The event with its value encoded, so a value JSON cannot hold fails the save and the caller's object is not kept. */
function encodeEvent(event: OutboxEvent): Omit<StoredOutboxEntry, 'id'> {
  const valueJson = JSON.stringify(event.value ?? null) as string | undefined;
  if (valueJson === undefined) throw new TypeError(`an outbox event's value cannot be stored as JSON`);
  return {
    topic: event.topic,
    key: event.key,
    valueJson,
    headers: { ...event.headers },
  };
}
