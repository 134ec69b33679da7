import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { finishedIds } from '../../src/export/redis-reader.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { deleteKeys, uniqueNames } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

async function collect(iterable: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const id of iterable) out.push(id);
  return out;
}

describe('finished index reader', () => {
  it('pages through the index oldest first, and ties at a page boundary are neither skipped nor repeated', async () => {
    const { prefix } = uniqueNames();
    cleanups.add(() => deleteKeys(prefix));
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const key = snapshotKeys(prefix).finished('ended');
    // Five conversations finishing in the same millisecond straddle pages of two.
    await redis.zadd(
      key,
      100,
      'c-a',
      200,
      'c-b',
      300,
      'c-t1',
      300,
      'c-t2',
      300,
      'c-t3',
      300,
      'c-t4',
      300,
      'c-t5',
      400,
      'c-z',
    );
    const ids = await collect(finishedIds(redis, prefix, 'ended', 2));
    expect(ids).toEqual(['c-a', 'c-b', 'c-t1', 'c-t2', 'c-t3', 'c-t4', 'c-t5', 'c-z']);
  });

  it('an empty or missing index yields nothing', async () => {
    const { prefix } = uniqueNames();
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    expect(await collect(finishedIds(redis, prefix, 'failed', 2))).toEqual([]);
  });
});
