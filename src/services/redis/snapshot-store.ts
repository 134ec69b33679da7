import type { Redis } from 'ioredis';
import type { Histogram } from 'prom-client';
import { z } from 'zod';
import { DEFAULTS } from '../../defaults.js';
import { ChimeraError, InvalidSnapshotError, StaleLeaseError } from '../../errors.js';
import { eventTopicSchemas } from '../../events.js';
import { checkWholeMs, DEFAULT_FINISHED_TTL_MS } from '../../persistence/retention.js';
import {
  CONVERSATION_STATUSES,
  decodeSnapshot,
  encodeSnapshot,
  FINISHED_STATUSES,
} from '../../persistence/snapshot-codec.js';
import type {
  ConversationStatus,
  Lease,
  OutboxEntry,
  OutboxEvent,
  SnapshotRecord,
  SnapshotStore,
  StoredSnapshot,
} from '../ports.js';
import { createRedis } from './client.js';
import { type SnapshotKeys, snapshotKeys } from './keys.js';
import { ACQUIRE, COUNTS, LOAD, RELEASE, RENEW, runScript, SAVE_MANY } from './snapshot-scripts.js';

export interface RedisSnapshotStoreOptions {
  /** An open client to use; the store leaves it open on `close()`. Give this or `url`. */
  redis?: Redis;
  /** Opens a client of the store's own (closed on `close()`) when no `redis` is given. */
  url?: string;
  /** Start of every key (`REDIS_KEY_PREFIX`). @default DEFAULTS.REDIS_KEY_PREFIX ('chimera') */
  keyPrefix?: string;
  /** How long a finished conversation stays readable (`FINISHED_TTL_SECONDS`). @default DEFAULT_FINISHED_TTL_MS (a week) */
  finishedTtlMs?: number;
  /** Where the duration of each `save` and `load` is observed (`chimera_store_operation_seconds`). @default none */
  operationSeconds?: Pick<Histogram<'operation'>, 'startTimer'>;
}

/**
 * Most steps one `SAVE_MANY` call carries: Redis runs a script alone, so a call stays short (a few
 * milliseconds of snapshots at most) and does not hold up every other client.
 */
const MAX_STEPS_PER_CALL = 64;

/** A step waiting for its group commit: its `SAVE_MANY` arguments and its caller. */
interface PendingStep {
  lease: Lease;
  args: Array<string | number>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const leaseReply = z.tuple([z.number().int().positive(), z.number()]);
const countsReply = z.tuple([z.number(), z.number(), z.number(), z.number()]);
const outboxTopics = Object.keys(eventTopicSchemas) as [
  keyof typeof eventTopicSchemas,
  ...(keyof typeof eventTopicSchemas)[],
];
const outboxFields = z.object({
  topic: z.enum(outboxTopics),
  key: z.string(),
  value: z.string(),
  headers: z.string(),
});

/**
 * Snapshots, leases and the outbox in Redis. Each write is one Lua script (see `snapshot-scripts.ts`):
 * the fencing check, the snapshot, the index updates and the outbox entries land together or not at all.
 *
 * `listOrphaned` compares index scores (server-time lease expiries) with the caller's `now`; that is
 * only a candidate list, so clock skew merely lists a conversation a little early or late. Ownership
 * itself is decided by `acquireLease` inside Redis against the lease key's own expiry.
 */
export class RedisSnapshotStore implements SnapshotStore {
  private readonly redis: Redis;
  private readonly ownsClient: boolean;
  private readonly keys: SnapshotKeys;
  private readonly finishedKeys: string[];
  private readonly finishedTtlMs: number;
  private closed = false;

  constructor(private readonly options: RedisSnapshotStoreOptions) {
    if (options.redis) {
      this.redis = options.redis;
      this.ownsClient = false;
    } else if (options.url) {
      this.redis = createRedis(options.url);
      this.ownsClient = true;
    } else {
      throw new ChimeraError('config_invalid', 'RedisSnapshotStore needs a redis client or a url');
    }
    this.keys = snapshotKeys(options.keyPrefix ?? DEFAULTS.REDIS_KEY_PREFIX);
    this.finishedKeys = FINISHED_STATUSES.map((status) => this.keys.finished(status));
    this.finishedTtlMs = options.finishedTtlMs ?? DEFAULT_FINISHED_TTL_MS;
    checkWholeMs('finishedTtlMs', this.finishedTtlMs);
  }

  async acquireLease(conversationId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const reply = await runScript(
      this.redis,
      ACQUIRE,
      [this.keys.conversation(conversationId), this.keys.lease(conversationId), this.keys.active],
      [conversationId, owner, ttlMs, this.finishedTtlMs],
    );
    if (reply === null) return null;
    const [token, expiresAt] = leaseReply.parse(reply);
    return { conversationId, owner, token, expiresAt };
  }

  async renewLease(lease: Lease, ttlMs: number): Promise<Lease | null> {
    this.assertOpen();
    checkWholeMs('lease ttl', ttlMs);
    const reply = await runScript(
      this.redis,
      RENEW,
      [this.keys.lease(lease.conversationId), this.keys.active],
      [lease.conversationId, lease.owner, lease.token, ttlMs],
    );
    if (reply === null) return null;
    return { ...lease, expiresAt: z.number().parse(reply) };
  }

  async releaseLease(lease: Lease): Promise<void> {
    this.assertOpen();
    await runScript(
      this.redis,
      RELEASE,
      [this.keys.lease(lease.conversationId), this.keys.active],
      [lease.conversationId, lease.owner, lease.token],
    );
  }

  async save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    this.assertOpen();
    const end = this.options.operationSeconds?.startTimer({ operation: 'save' });
    try {
      await this.write(lease, record, events);
    } finally {
      end?.();
    }
  }

  /**
   * Group commit: the steps saved in one turn of the event loop (up to `MAX_STEPS_PER_CALL`) go to Redis
   * as one `SAVE_MANY` call, which checks each step's fencing on its own; each caller gets its own
   * outcome (`StaleLeaseError` for a stale step, which wrote nothing). With auto-pipelining they would
   * share one write to the socket anyway; one call instead of one per step spares the client a command,
   * seven keys and a reply per step.
   */
  private write(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    const id = lease.conversationId;
    const args: Array<string | number> = [
      id,
      lease.owner,
      lease.token,
      record.status,
      encodeSnapshot(id, record, lease.token),
      events.length,
    ];
    for (const event of events) {
      args.push(event.topic, event.key, JSON.stringify(event.value ?? null), JSON.stringify(event.headers));
    }
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ lease, args, resolve, reject });
      if (this.pending.length >= MAX_STEPS_PER_CALL) this.flush();
    });
  }

  private pending: PendingStep[] = [];

  private flush(): void {
    const steps = this.pending;
    if (steps.length === 0) return;
    this.pending = [];
    const keys = [this.keys.active, ...this.finishedKeys, this.keys.outbox];
    const args: Array<string | number> = [this.finishedTtlMs, steps.length];
    for (const step of steps) {
      keys.push(
        this.keys.conversation(step.lease.conversationId),
        this.keys.lease(step.lease.conversationId),
      );
      for (const arg of step.args) args.push(arg);
    }
    runScript(this.redis, SAVE_MANY, keys, args).then(
      (reply) => {
        const written = Array.isArray(reply) ? reply : [];
        steps.forEach((step, i) => {
          const outcome: unknown = written[i];
          if (outcome === 1) step.resolve();
          else if (outcome instanceof Error) step.reject(outcome);
          else step.reject(new StaleLeaseError(step.lease.conversationId, step.lease.token));
        });
      },
      (error: unknown) => {
        for (const step of steps) step.reject(error);
      },
    );
  }

  async countCrash(conversationId: string): Promise<number> {
    this.assertOpen();
    const key = this.keys.crashes(conversationId);
    const replies = await this.redis.multi().incr(key).pexpire(key, this.finishedTtlMs).exec();
    const [error, count] = replies?.[0] ?? [new Error('crash count: transaction discarded'), null];
    if (error) throw error;
    return z.number().int().parse(count);
  }

  async load(conversationId: string): Promise<StoredSnapshot | null> {
    this.assertOpen();
    const end = this.options.operationSeconds?.startTimer({ operation: 'load' });
    try {
      return await this.read(conversationId);
    } finally {
      end?.();
    }
  }

  private async read(conversationId: string): Promise<StoredSnapshot | null> {
    // A missing record (expired or deleted) is pruned from every index by the same script.
    const text = await runScript(
      this.redis,
      LOAD,
      [this.keys.conversation(conversationId), this.keys.active, ...this.finishedKeys],
      [conversationId],
    );
    if (text === null) return null;
    if (typeof text !== 'string') throw new InvalidSnapshotError(conversationId, 'stored data is not text');
    return decodeSnapshot(conversationId, text);
  }

  async listOrphaned(now: number, limit: number): Promise<string[]> {
    this.assertOpen();
    if (limit <= 0) return [];
    return this.redis.zrangebyscore(this.keys.active, '-inf', `(${Math.floor(now)}`, 'LIMIT', 0, limit);
  }

  async counts(): Promise<Record<ConversationStatus, number>> {
    this.assertOpen();
    const reply = await runScript(
      this.redis,
      COUNTS,
      [this.keys.active, ...this.finishedKeys],
      [this.finishedTtlMs],
    );
    const values = countsReply.parse(reply);
    return Object.fromEntries(CONVERSATION_STATUSES.map((status, i) => [status, values[i]])) as Record<
      ConversationStatus,
      number
    >;
  }

  async readOutbox(limit: number): Promise<OutboxEntry[]> {
    this.assertOpen();
    if (limit <= 0) return [];
    const entries = await this.redis.xrange(this.keys.outbox, '-', '+', 'COUNT', limit);
    return entries.map(([id, flat]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
      const parsed = outboxFields.parse(fields);
      return {
        id,
        topic: parsed.topic,
        key: parsed.key,
        value: JSON.parse(parsed.value) as unknown,
        headers: z.record(z.string(), z.string()).parse(JSON.parse(parsed.headers)),
      };
    });
  }

  async ackOutbox(ids: string[]): Promise<void> {
    this.assertOpen();
    if (ids.length === 0) return;
    await this.redis.xdel(this.keys.outbox, ...ids);
  }

  async outboxSize(): Promise<number> {
    this.assertOpen();
    return this.redis.xlen(this.keys.outbox);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Steps already accepted go out ahead of the QUIT.
    this.flush();
    if (this.ownsClient) await this.redis.quit();
  }

  private assertOpen(): void {
    if (this.closed) throw new ChimeraError('closed', 'snapshot store is closed');
  }
}
