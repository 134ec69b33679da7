import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A key prefix no other test (or parallel run) uses. */
export function uniquePrefix(label: string): string {
  return `chimera-test:${label}:${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under `prefix`. SCAN is fine here: a test prefix holds a handful of keys. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
