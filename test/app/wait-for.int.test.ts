/**
 * `Chimera.waitFor` on real Redis resolves for every conversation that finishes, wherever and however it
 * finishes: when a lease renewal overlaps the final save in this process, or when another daemon runs the
 * conversation; and it rejects rather than waits forever for one that finished without a readable record.
 */
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { Chimera, type ChimeraOptions } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import type { Lease, OutboxEvent, SnapshotRecord } from '../../src/services/ports.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { deleteKeys, uniqueNames } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

/**
 * The real Redis store, except that each final save is followed, before the persister hears it succeeded,
 * by a renewal of every lease the process holds: what happens when a renewal leaves after the final save
 * and both replies come back in one read (the renewal's, with its shorter await chain, handled first).
 */
class RenewalAfterFinalSave extends RedisSnapshotStore {
  renew: (() => Promise<void>) | undefined;
  finalSaves = 0;

  override async save(lease: Lease, record: SnapshotRecord, events: OutboxEvent[]): Promise<void> {
    await super.save(lease, record, events);
    if (record.status === 'active' || !this.renew) return;
    this.finalSaves += 1;
    await this.renew();
  }
}

async function daemon(env: Record<string, string>, options: ChimeraOptions = {}): Promise<Chimera> {
  const config = loadConfig({
    REDIS_URL: inject('redisUrl'),
    LOG_LEVEL: 'silent',
    CONVERSATION_PROVIDERS: 'simulated,simulated',
    MAX_CONVERSATION_TURNS: '4',
    MIN_CONVERSATION_TURNS: '4',
    ...env,
  });
  const chimera = await Chimera.create(config, {
    logger: createLogger({ level: 'silent' }),
    intake: 'none',
    sides: ['simulated', 'simulated'],
    providerOverrides: { simulated: new SimulatedProvider({ latencyMs: 1 }) },
    pollMs: 20,
    adoptEveryMs: 100,
    ...options,
  });
  cleanups.add(() => chimera.stop());
  return chimera.start();
}

function redisFor(prefix: string): Redis {
  const redis = new Redis(inject('redisUrl'));
  cleanups.add(async () => {
    await deleteKeys(prefix);
    redis.disconnect();
  });
  return redis;
}

describe('waitFor on real Redis', () => {
  it('resolves when a lease renewal answered before the final save settles the conversation', async () => {
    const names = uniqueNames();
    const store = new RenewalAfterFinalSave({ redis: redisFor(names.prefix), keyPrefix: names.prefix });
    // The store check is kept out of the way: the in-process notification alone must resolve waitFor.
    const chimera = await daemon(names.env, { portOverrides: { store }, waitCheckEveryMs: 600_000 });
    store.renew = () => chimera.parts.leases.renewAll();
    const finished: string[] = [];
    chimera.onFinished((record) => finished.push(record.conversationId));

    const ids = await Promise.all(
      [
        ['heat-pumps', 'Heat pumps'],
        ['offshore-wind', 'Offshore wind'],
        ['soil-carbon', 'Soil carbon'],
      ].map(([id, title]) => chimera.startNewConversation({ id: id!, title: title! })),
    );
    const records = await Promise.all(ids.map((id) => chimera.waitFor(id, 15_000)));

    expect(store.finalSaves).toBe(3);
    expect(records.map((r) => r.status)).toEqual(['ended', 'ended', 'ended']);
    expect(records.map((r) => r.turns.length)).toEqual([4, 4, 4]);
    expect(finished.sort()).toEqual([...ids].sort());
    // Settled, not lost: nothing was given back or left for adoption.
    expect(chimera.supervision).toMatchObject({ settled: 3, lost: 0 });
    expect(chimera.parts.leases.count).toBe(0);
  });

  it('resolves for a conversation another daemon ran and finished', async () => {
    const names = uniqueNames();
    redisFor(names.prefix);
    const waiting = await daemon(names.env, { owner: 'waiting-daemon', waitCheckEveryMs: 100 });
    const running = await daemon(names.env, { owner: 'running-daemon' });

    const id = await running.startNewConversation({ id: 'topic-elsewhere', title: 'Tidal power' });
    const [seen, own] = await Promise.all([waiting.waitFor(id, 15_000), running.waitFor(id, 15_000)]);

    expect(waiting.supervision).toMatchObject({ settled: 0, lost: 0 });
    expect(seen.conversationId).toBe(id);
    expect(seen.status).toBe('ended');
    expect(seen.turns).toEqual(own.turns);
    expect(seen.topic).toEqual(own.topic);
  });

  it('rejects for a conversation that finished without a readable record', async () => {
    const names = uniqueNames();
    const store = new RedisSnapshotStore({ redis: redisFor(names.prefix), keyPrefix: names.prefix });
    const chimera = await daemon(names.env, { waitCheckEveryMs: 100 });
    // What adoption leaves of a snapshot it cannot read: failed, with nothing in it.
    const lease = await store.acquireLease('c-unreadable', 'another-daemon', 10_000);
    await store.save(
      lease!,
      {
        schemaVersion: 1,
        machineVersion: CONVERSATION_MACHINE_VERSION,
        status: 'failed',
        snapshot: null,
        updatedAt: Date.now(),
      },
      [],
    );

    await expect(chimera.waitFor('c-unreadable', 15_000)).rejects.toThrow(
      'conversation c-unreadable is failed without a readable record',
    );
  });
});
