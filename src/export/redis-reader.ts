/**
 * Reads finished conversations from Redis through the finished indexes (one sorted set per status, scored
 * by finish time): never `KEYS` or `SCAN`. Each snapshot is loaded and decoded like any other read, and its
 * machine context becomes a record with the same `toRecord` the daemon publishes with.
 */
import type { Redis } from 'ioredis';
import { isChimeraError } from '../errors.js';
import type { ConversationRecord } from '../events.js';
import type { FinishedStatus } from '../persistence/snapshot-codec.js';
import { recordOf } from '../records.js';
import { snapshotKeys } from '../services/redis/keys.js';
import { RedisSnapshotStore } from '../services/redis/snapshot-store.js';

/** Ids per index read: small enough to keep each reply short, big enough to need few round trips. */
export const DEFAULT_PAGE_SIZE = 500;

/**
 * Every id in one finished index, oldest first, a page at a time. Pages continue after the last score
 * seen (exclusive); the members sharing the last score of a full page are read in full first, so ties at
 * a page boundary are neither skipped nor repeated, even while conversations keep finishing.
 */
export async function* finishedIds(
  redis: Redis,
  keyPrefix: string,
  status: FinishedStatus,
  pageSize = DEFAULT_PAGE_SIZE,
): AsyncGenerator<string> {
  const key = snapshotKeys(keyPrefix).finished(status);
  let min = '-inf';
  for (;;) {
    const flat = await redis.zrangebyscore(key, min, '+inf', 'WITHSCORES', 'LIMIT', 0, pageSize);
    if (flat.length === 0) return;
    const page: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) page.push([flat[i]!, flat[i + 1]!]);
    const lastScore = page.at(-1)![1];
    for (const [member] of page) yield member;
    if (page.length < pageSize) return;
    const emitted = new Set(page.filter(([, s]) => s === lastScore).map(([m]) => m));
    for (const member of await redis.zrangebyscore(key, lastScore, lastScore)) {
      if (!emitted.has(member)) yield member;
    }
    min = `(${lastScore}`;
  }
}

export interface RedisRecordsOptions {
  redis: Redis;
  keyPrefix: string;
  /** Which finished indexes to read, in this order. */
  statuses: readonly FinishedStatus[];
  onRecord: (record: ConversationRecord) => Promise<void>;
  /** @default DEFAULT_PAGE_SIZE */
  pageSize?: number;
}

export interface RedisRecordsResult {
  records: number;
  /** Indexed but gone (expired between the index read and the load). */
  missing: number;
  /** Snapshots that do not decode to a record (corrupt, or marked failed without a snapshot). */
  unreadable: number;
  /** The conversation ids of the unreadable snapshots, in the order read. */
  unreadableIds: string[];
}

export async function readRecordsFromRedis(options: RedisRecordsOptions): Promise<RedisRecordsResult> {
  const store = new RedisSnapshotStore({ redis: options.redis, keyPrefix: options.keyPrefix });
  const result: RedisRecordsResult = { records: 0, missing: 0, unreadable: 0, unreadableIds: [] };
  try {
    for (const status of options.statuses) {
      for await (const id of finishedIds(options.redis, options.keyPrefix, status, options.pageSize)) {
        let stored: Awaited<ReturnType<RedisSnapshotStore['load']>>;
        try {
          stored = await store.load(id);
        } catch (error) {
          // A corrupt or unknown-version snapshot is skipped and counted; one bad snapshot must not stop
          // the export of the others. Anything else (Redis gone) ends the export.
          if (!(isChimeraError(error) && error.code === 'invalid_snapshot')) throw error;
          result.unreadable += 1;
          result.unreadableIds.push(id);
          continue;
        }
        if (stored === null) {
          result.missing += 1;
          continue;
        }
        const record = recordOf(stored.snapshot, stored.updatedAt);
        if (record === undefined) {
          result.unreadable += 1;
          result.unreadableIds.push(id);
          continue;
        }
        result.records += 1;
        await options.onRecord(record);
      }
    }
  } finally {
    await store.close();
  }
  return result;
}
