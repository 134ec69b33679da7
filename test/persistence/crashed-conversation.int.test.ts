/**
 * A conversation whose actor crashes (a bug, not a provider failure) on real Redis: it must not keep its
 * lease for as long as its daemon lives. Each crash is counted in Redis and gives the lease back; at the
 * limit the conversation is saved as failed with reason `crashed`. The crash is injected the way a bug
 * would throw: an action of the conversation machine that throws.
 */
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import { conversationCrashCounter } from '../../src/app/service-metrics.js';
import { Spending } from '../../src/app/spending.js';
import { boundConversationMachine, createSupervisor } from '../../src/app/supervisor.js';
import { loadConfig } from '../../src/config.js';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import type { ConversationRecord } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import { createCostMetrics } from '../../src/metrics.js';
import { LeaseKeeper } from '../../src/persistence/lease-keeper.js';
import { ConversationPersister } from '../../src/persistence/persister.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { systemClock, type TopicSource } from '../../src/services/ports.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { activeContext, persistedConversation } from '../support/conversation-fixtures.js';
import { until } from '../support/infra.js';
import { deleteKeys, uniquePrefix } from './redis-support.js';

const cleanups = cleanupsAfterEach();

/** No topics: the only work is the conversation left in the store to adopt. */
const noTopics: TopicSource = {
  next: (waitMs) => new Promise((resolve) => setTimeout(() => resolve(null), Math.min(waitMs, 20))),
  close: async () => {},
};

interface LogLine {
  level: number;
  msg: string;
  conversationId?: string;
  crashes?: number;
}

async function daemonWithCrashingConversations(prefix: string, maxCrashes: number) {
  const redis = new Redis(inject('redisUrl'));
  cleanups.add(async () => {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  });
  const lines: LogLine[] = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line) as LogLine) },
  });
  const config = loadConfig({ LOG_LEVEL: 'silent', LEASE_TTL_SECONDS: '3', MAX_CONVERSATION_TURNS: '2' });
  const store = new RedisSnapshotStore({ redis, keyPrefix: prefix });
  const leases = new LeaseKeeper({ store, leaseTtlMs: config.leaseTtlMs, logger });
  leases.startRenewal();
  cleanups.add(async () => leases.halt());
  const registry = new Registry();
  const crashes = conversationCrashCounter(registry);
  // The bug: the conversation throws when it is scored at its end, every time it gets there.
  const conversation = boundConversationMachine({
    providers: new Map([
      ['anthropic', new SimulatedProvider()],
      ['gemini', new SimulatedProvider()],
    ]),
    turnCache: new InMemoryTurnCache(),
    clock: systemClock,
    spending: new Spending({
      config,
      store: new MemoryBudgetStore({ clock: systemClock }),
      logger,
      clock: systemClock,
      metrics: createCostMetrics(registry),
    }),
  }).provide({
    actions: {
      score: () => {
        throw new Error('a bug in scoring');
      },
    },
  });
  const persister = new ConversationPersister({
    store,
    clock: systemClock,
    logger,
    leases,
    maxCrashes,
    persistedForm: (snapshot) => conversation.getPersistedSnapshot(snapshot),
    onCrashed: (outcome) => crashes.inc({ outcome }),
  });
  const supervisor = createSupervisor({
    config,
    logger,
    clock: systemClock,
    owner: `crash-test-${prefix}`,
    sides: ['anthropic', 'gemini'],
    store,
    source: noTopics,
    leases,
    persister,
    conversation,
    pollMs: 20,
    adoptEveryMs: 50,
  });
  supervisor.start();
  cleanups.add(async () => supervisor.stop());
  return { store, redis, leases, lines, registry, supervisor, persister };
}

describe('a conversation whose actor crashes', () => {
  it('gives its lease back after each crash and is failed as crashed at the limit, counted in Redis', async () => {
    const prefix = uniquePrefix('crashed');
    const daemon = await daemonWithCrashingConversations(prefix, 3);
    const { store } = daemon;
    const conversationId = 'conv-crashes';
    const finished: ConversationRecord[] = [];
    daemon.persister.onFinished((record) => finished.push(record));
    // Left by a daemon that stopped: saved, active, its lease given up.
    const context = activeContext({ conversationId, startedAt: Date.now() });
    const lease = await store.acquireLease(conversationId, 'dead-daemon', 10_000);
    await store.save(
      lease!,
      {
        schemaVersion: 1,
        machineVersion: CONVERSATION_MACHINE_VERSION,
        status: 'active',
        snapshot: persistedConversation(context),
        updatedAt: Date.now(),
      },
      [],
    );
    await store.releaseLease(lease!);

    await until(
      async () => (await store.load(conversationId))?.status === 'failed',
      20_000,
      'the crashing conversation saved as failed',
    );
    const stored = await store.load(conversationId);
    const saved = (stored!.snapshot as { context: { terminationReason?: string; error?: { code: string } } })
      .context;
    expect(saved.terminationReason).toBe('crashed');
    expect(saved.error?.code).toBe('crashed');
    // Adopted three times, each crash counted once, in Redis.
    expect(await daemon.redis.get(`${prefix}:crashes:${conversationId}`)).toBe('3');
    // Nothing is held or renewed any more, and the lease is free.
    await until(() => daemon.leases.count === 0, 5_000, 'no lease held');
    expect(await daemon.redis.exists(`${prefix}:lease:${conversationId}`)).toBe(0);
    // Its final event is in the outbox, for the relay to deliver.
    const outbox = await store.readOutbox(100);
    const failed = outbox.filter(
      (e) => (e.value as { type?: string }).type === 'conversation.failed' && e.key === conversationId,
    );
    expect(failed).toHaveLength(1);
    // Every crash logged with its count; the metric says two were released and one failed.
    const logged = daemon.lines.filter((l) => l.conversationId === conversationId && l.level >= 50);
    expect(logged.map((l) => l.crashes)).toEqual([1, 2, 3]);
    const metric = await daemon.registry.getSingleMetricAsString('chimera_conversation_crashes_total');
    expect(metric).toContain('chimera_conversation_crashes_total{outcome="released"} 2');
    expect(metric).toContain('chimera_conversation_crashes_total{outcome="failed"} 1');
    // Its final record is announced like any other end's, so `waitFor` resolves with it.
    expect(finished.map((r) => [r.conversationId, r.status, r.terminationReason])).toEqual([
      [conversationId, 'failed', 'crashed'],
    ]);
  });

  it('a stored snapshot of an unknown machine version is failed with the reason logged, not adopted', async () => {
    const prefix = uniquePrefix('crashed-version');
    const daemon = await daemonWithCrashingConversations(prefix, 3);
    const { store } = daemon;
    const conversationId = 'conv-old-version';
    const lease = await store.acquireLease(conversationId, 'dead-daemon', 10_000);
    await store.save(
      lease!,
      {
        schemaVersion: 1,
        machineVersion: 'conversation@0',
        status: 'active',
        snapshot: persistedConversation(activeContext({ conversationId, startedAt: Date.now() })),
        updatedAt: Date.now(),
      },
      [],
    );
    await store.releaseLease(lease!);
    await until(
      async () => (await store.load(conversationId))?.status === 'failed',
      10_000,
      'the unknown version saved as failed',
    );
    const reason = daemon.lines.find((l) => l.conversationId === conversationId && l.level >= 50);
    expect(JSON.stringify(reason)).toContain('conversation@0');
    expect(daemon.leases.count).toBe(0);
    expect(await daemon.redis.get(`${prefix}:crashes:${conversationId}`)).toBeNull();
  });
});
