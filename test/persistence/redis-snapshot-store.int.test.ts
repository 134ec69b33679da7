import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isChimeraError } from '../../src/errors.js';
import type { SnapshotRecord } from '../../src/services/ports.js';
import { createRedis } from '../../src/services/redis/client.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { runScript } from '../../src/services/redis/snapshot-scripts.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { snapshotStoreContract } from '../contracts/snapshot-store.js';
import { recordCommands } from '../support/redis-commands.js';
import { deleteKeys, sleep, uniquePrefix } from './redis-support.js';

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);

afterAll(async () => {
  await admin.quit();
});

snapshotStoreContract('redis', async () => {
  const keyPrefix = uniquePrefix('snapshots');
  const finishedTtlMs = 600;
  const store = new RedisSnapshotStore({ url: redisUrl, keyPrefix, finishedTtlMs });
  return {
    store,
    // Redis judges leases by its own clock; on this host that is the same clock as Date.
    now: () => Date.now(),
    advance: sleep,
    shortTtlMs: 300,
    finishedTtlMs,
    cleanup: async () => {
      await store.close();
      await deleteKeys(admin, keyPrefix);
    },
  };
});

const active: SnapshotRecord = {
  schemaVersion: 1,
  machineVersion: 'conversation@1',
  status: 'active',
  snapshot: { value: 'talking' },
  updatedAt: 1,
};

describe('redis snapshot store', () => {
  let keyPrefix: string;
  let store: RedisSnapshotStore;

  beforeAll(() => {
    keyPrefix = uniquePrefix('snapshots-redis');
    store = new RedisSnapshotStore({ redis: admin, keyPrefix, finishedTtlMs: 60_000 });
  });

  afterAll(async () => {
    await store.close();
    await deleteKeys(admin, keyPrefix);
  });

  const keys = () => snapshotKeys(keyPrefix);

  it('stores the snapshot as the documented JSON document', async () => {
    const lease = await store.acquireLease('doc', 'daemon-a', 60_000);
    await store.save(lease!, active, []);
    const text = await admin.hget(keys().conversation('doc'), 'data');
    expect(JSON.parse(text!)).toEqual({
      schemaVersion: 1,
      machineVersion: 'conversation@1',
      status: 'active',
      snapshot: { value: 'talking' },
      updatedAt: 1,
      token: lease!.token,
    });
  });

  it('writes outbox entries as stream fields topic, key, value JSON and headers JSON', async () => {
    const lease = await store.acquireLease('fields', 'daemon-a', 60_000);
    await store.save(lease!, active, [
      { topic: 'events', key: 'fields', value: { a: [1] }, headers: { h: 'v' } },
    ]);
    const entries = await admin.xrange(keys().outbox, '-', '+');
    const last = entries.at(-1)!;
    expect(last[1]).toEqual([
      'topic',
      'events',
      'key',
      'fields',
      'value',
      '{"a":[1]}',
      'headers',
      '{"h":"v"}',
    ]);
    await store.ackOutbox(entries.map(([id]) => id));
  });

  it('a finished conversation loses its lease key and gets the retention TTL', async () => {
    const lease = await store.acquireLease('finished', 'daemon-a', 60_000);
    await store.save(lease!, active, []);
    expect(await admin.pttl(keys().conversation('finished'))).toBe(-1);
    await store.save(lease!, { ...active, status: 'ended' }, []);
    expect(await admin.exists(keys().lease('finished'))).toBe(0);
    const ttl = await admin.pttl(keys().conversation('finished'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await admin.zscore(keys().active, 'finished')).toBeNull();
    expect(await admin.zscore(keys().finished('ended'), 'finished')).not.toBeNull();
  });

  it('a conversation taken but never saved has a counter that expires', async () => {
    await store.acquireLease('unsaved', 'daemon-a', 1_000);
    const ttl = await admin.pttl(keys().conversation('unsaved'));
    expect(ttl).toBeGreaterThan(1_000);
    expect(await admin.zscore(keys().active, 'unsaved')).toBeNull();
  });

  it('corrupt stored JSON is reported as an invalid snapshot', async () => {
    await admin.hset(keys().conversation('corrupt'), 'data', '{"schemaVersion":1,');
    const error = await store.load('corrupt').catch((e: unknown) => e);
    expect(isChimeraError(error) && error.code).toBe('invalid_snapshot');
    expect((error as Error).message).toContain('not JSON');
  });

  it('a stored record of an unknown schema version or the wrong shape is an invalid snapshot', async () => {
    const future = { ...active, schemaVersion: 2, token: 1 };
    await admin.hset(keys().conversation('future'), 'data', JSON.stringify(future));
    await admin.hset(keys().conversation('shapeless'), 'data', JSON.stringify({ ...active, token: 'one' }));
    for (const id of ['future', 'shapeless']) {
      const error = await store.load(id).catch((e: unknown) => e);
      expect(isChimeraError(error) && error.code).toBe('invalid_snapshot');
    }
  });

  it('a snapshot deleted behind its back is pruned from the indexes on load', async () => {
    const lease = await store.acquireLease('vanished', 'daemon-a', 60_000);
    await store.save(lease!, active, []);
    const before = await store.counts();
    await admin.del(keys().conversation('vanished'));

    expect(await store.load('vanished')).toBeNull();

    expect(await admin.zscore(keys().active, 'vanished')).toBeNull();
    expect((await store.counts()).active).toBe(before.active - 1);
  });

  it('of many daemons racing for one conversation exactly one wins', async () => {
    const racers = Array.from({ length: 8 }, () => createRedis(redisUrl));
    try {
      const stores = racers.map((redis) => new RedisSnapshotStore({ redis, keyPrefix }));
      const leases = await Promise.all(stores.map((s, i) => s.acquireLease('race', `daemon-${i}`, 60_000)));
      expect(leases.filter((lease) => lease !== null)).toHaveLength(1);
    } finally {
      await Promise.all(racers.map((redis) => redis.quit()));
    }
  });

  it('steps of several conversations saved together go as one call; a stale one fails alone and writes nothing', async () => {
    const client = createRedis(redisUrl);
    const sent = recordCommands(client);
    const grouped = new RedisSnapshotStore({ redis: client, keyPrefix, finishedTtlMs: 60_000 });
    try {
      const live = (await grouped.acquireLease('gc-live', 'daemon-a', 60_000))!;
      const stale = (await grouped.acquireLease('gc-stale', 'daemon-a', 60_000))!;
      await grouped.save(live, active, []);
      // daemon-a's lease on gc-stale lapses and daemon-b takes the conversation over.
      await admin.del(keys().lease('gc-stale'));
      const taker = (await store.acquireLease('gc-stale', 'daemon-b', 60_000))!;
      await store.save(taker, { ...active, snapshot: { value: 'taken over' } }, []);
      const outboxBefore = await admin.xlen(keys().outbox);

      sent.length = 0;
      const ended: SnapshotRecord = { ...active, status: 'ended', snapshot: { value: 'done' }, updatedAt: 2 };
      const [liveSaved, staleSaved] = await Promise.allSettled([
        grouped.save(live, ended, [{ topic: 'events', key: 'gc-live', value: { n: 1 }, headers: {} }]),
        grouped.save(stale, { ...active, snapshot: { value: 'stale write' } }, [
          { topic: 'events', key: 'gc-stale', value: { n: 2 }, headers: {} },
        ]),
      ]);
      expect(sent).toEqual(['evalsha']);
      expect(liveSaved.status).toBe('fulfilled');
      expect(staleSaved.status).toBe('rejected');
      const error = (staleSaved as PromiseRejectedResult).reason;
      expect(isChimeraError(error) && error.code).toBe('stale_lease');

      expect(await grouped.load('gc-live')).toMatchObject({ status: 'ended', snapshot: { value: 'done' } });
      expect(await admin.zscore(keys().finished('ended'), 'gc-live')).not.toBeNull();
      expect(await admin.zscore(keys().active, 'gc-live')).toBeNull();
      expect((await grouped.load('gc-stale'))?.snapshot).toEqual({ value: 'taken over' });
      const added = (await admin.xrange(keys().outbox, '-', '+')).slice(outboxBefore);
      expect(added.map(([, fields]) => fields[fields.indexOf('key') + 1])).toEqual(['gc-live']);
    } finally {
      await grouped.close();
      await client.quit();
    }
  });

  it('a step of a group that raises an error in Redis fails alone; the others land', async () => {
    const ok = (await store.acquireLease('gc-fine', 'daemon-a', 60_000))!;
    const broken = (await store.acquireLease('gc-broken', 'daemon-a', 60_000))!;
    // A record of the wrong type: the step's first read of it raises WRONGTYPE inside the script.
    await admin.del(keys().conversation('gc-broken'));
    await admin.set(keys().conversation('gc-broken'), 'not a hash');
    const [fine, failed] = await Promise.allSettled([
      store.save(ok, active, []),
      store.save(broken, active, []),
    ]);
    expect(fine.status).toBe('fulfilled');
    expect(failed.status).toBe('rejected');
    expect(String((failed as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect((await store.load('gc-fine'))?.snapshot).toEqual(active.snapshot);
  });

  it('scripts run even when the server has not cached them', async () => {
    // A source no server has seen makes EVALSHA fail with NOSCRIPT, exercising the fallback.
    const source = `-- ${keyPrefix}\nreturn ARGV[1]`;
    const { createHash } = await import('node:crypto');
    const script = { source, sha: createHash('sha1').update(source).digest('hex') };
    expect(await runScript(admin, script, [], ['echo'])).toBe('echo');
  });
});
