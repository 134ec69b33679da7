/**
 * The cost ledger and the spending cap end to end, on real Redis (and Kafka for the events), with the real
 * SDKs against the wire-level fake server. The server prices what it served from its own list, so its
 * bill is the independent witness: the ledger must equal it to the micro-dollar, and a cap must hold on it.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { RedisBudgetStore } from '../../src/cost/redis-budget-store.js';
import type { ConversationRecord } from '../../src/events.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import {
  collectEvents,
  configFor,
  deleteKeys,
  fakeProviderEnv,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function fakeServer(latencyMs = 0): Promise<FakeProviderServer> {
  const server = await startFakeProviderServer({ latencyMs });
  cleanups.push(() => server.close());
  return server;
}

async function daemon(env: Record<string, string>): Promise<Chimera> {
  const chimera = await startChimera(configFor(env), { intake: 'none', budgetPollMs: 100 });
  cleanups.push(() => chimera.stop());
  return chimera;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

describe('the cost ledger against the fake server’s bill', () => {
  it('a run’s cost in records, events, the shared budget and /metrics equals the server’s bill to the micro-dollar, cache tokens included', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      MAX_CONVERSATION_TURNS: '6',
      MIN_CONVERSATION_TURNS: '6',
    });
    const chimera = await daemon(env);
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.push(() => reader.stop());
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        chimera.startNewConversation({ id: `bill-${i}`, title: `Bill topic ${i}: tidal power` }),
      ),
    );
    const records: ConversationRecord[] = await Promise.all(ids.map((id) => chimera.waitFor(id, 60_000)));

    const bill = server.bill();
    // Anthropic's prompt caching is on: the bill has cache reads and writes to agree on.
    expect(sum(bill.lines.map((l) => l.cacheReadTokens))).toBeGreaterThan(0);
    expect(sum(bill.lines.map((l) => l.cacheWriteTokens))).toBeGreaterThan(0);
    expect(bill.unpricedRequests).toBe(0);
    expect(bill.totalMicros).toBeGreaterThan(0);

    // Records: each conversation's cost, summed, is the bill; so is every call's turn cost.
    for (const record of records) expect(record.status).toBe('ended');
    expect(sum(records.map((r) => r.cost!.micros))).toBe(bill.totalMicros);
    const calls = records.flatMap((r) => [...r.turns, ...(r.discarded ?? [])]);
    expect(calls).toHaveLength(sum(bill.lines.map((l) => l.requests)));
    expect(sum(calls.map((t) => t.cost!.micros))).toBe(bill.totalMicros);
    for (const call of calls) expect(call.cost!.status).toBe('priced');
    for (const provider of ['anthropic', 'gemini'] as const) {
      const billed = sum(bill.lines.filter((l) => l.provider === provider).map((l) => l.micros ?? 0));
      expect(billed).toBeGreaterThan(0);
      expect(sum(records.map((r) => r.cost!.byProvider[provider]?.micros ?? 0))).toBe(billed);
    }
    for (const record of records) expect(record.cost!.unpriced).toEqual([]);

    // The shared budget in Redis (what `status` and `budget show` read) and this process's ledger.
    const budget = await chimera.parts.spending.snapshot();
    expect(budget.spentMicros).toBe(bill.totalMicros);
    expect(chimera.parts.spending.ledger.totalMicros).toBe(bill.totalMicros);
    for (const line of bill.lines) {
      expect(budget.spentBy).toContainEqual({
        provider: line.provider,
        model: line.model,
        micros: line.micros,
      });
    }

    // /metrics: chimera_cost_usd_total per provider and model.
    const metric = await chimera.parts.registry.getSingleMetric('chimera_cost_usd_total')!.get();
    for (const line of bill.lines) {
      const value = metric.values.find(
        (v) => v.labels.provider === line.provider && v.labels.model === line.model,
      )?.value;
      expect(value).toBeCloseTo((line.micros ?? 0) / 1e6, 9);
    }

    // Events: every turn.completed carries its turn's cost, every conversation.ended the record's.
    await until(() => reader.ended().length >= ids.length, 30_000, 'every conversation.ended on Kafka');
    const endedEvents = reader.events.filter((e) => e.type === 'conversation.ended');
    expect(sum(endedEvents.map((e) => (e.type === 'conversation.ended' ? e.cost!.micros : 0)))).toBe(
      bill.totalMicros,
    );
    const turnEvents = reader.events.filter((e) => e.type === 'turn.completed');
    expect(turnEvents.length).toBeGreaterThan(0);
    for (const event of turnEvents) {
      if (event.type === 'turn.completed') expect(event.cost).toEqual(event.turn.cost);
    }
  });
});

/** Six-turn conversations under a cap, on Redis only: the daemons share Redis; their events stay in-process. */
function cappedEnv(names: ReturnType<typeof uniqueNames>, server: FakeProviderServer, capMicros: number) {
  const env = infraEnv({
    ...names.env,
    ...fakeProviderEnv(server),
    MAX_CONVERSATION_TURNS: '6',
    MIN_CONVERSATION_TURNS: '6',
    MAX_TOKENS_PER_TURN: '200',
    MAX_SPEND_USD: String(capMicros / 1e6),
  });
  delete env.KAFKA_BOOTSTRAP_SERVERS;
  return env;
}

describe('the spending cap across two daemons on one Redis', () => {
  it('holds on the bill, pauses every unfinished conversation at its last turn, and after `budget set` all finish with no turn sent twice', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await fakeServer(20);
    // A cap well below what 12 conversations of 6 turns cost (about $0.012 each at these prompt sizes).
    const capMicros = 40_000;
    const env = cappedEnv(names, server, capMicros);
    const a = await daemon(env);
    const b = await daemon(env);
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const owner = i % 2 === 0 ? a : b;
      ids.push(await owner.startNewConversation({ id: `cap-${i}`, title: `Cap topic ${i}: heat networks` }));
    }
    const finished = new Map<string, ConversationRecord>();
    for (const id of ids) {
      for (const owner of [a, b]) {
        owner.waitFor(id, 120_000).then(
          (record) => finished.set(id, record),
          () => {},
        );
      }
    }

    /** Every conversation either finished or paused for budget, in the store both daemons share. */
    const paused = async (): Promise<string[]> => {
      const out: string[] = [];
      for (const id of ids) {
        const stored = await a.parts.store.load(id);
        const snapshot = stored?.snapshot as { value?: unknown; context?: { paused?: { reason?: string } } };
        if (stored?.status === 'active' && snapshot?.value === 'paused') {
          expect(snapshot.context?.paused?.reason).toBe('budget');
          out.push(id);
        }
      }
      return out;
    };
    // Intake stops once a call is refused, so a topic not taken in by then waits in its daemon's intake
    // (not started, not lost) until the cap is raised.
    const notTakenIn = () => a.parts.local.waiting + b.parts.local.waiting;
    await until(
      async () => finished.size + (await paused()).length + notTakenIn() === ids.length,
      60_000,
      'every conversation ended, paused for budget, or waiting in intake',
    );
    const pausedIds = await paused();
    expect(pausedIds.length).toBeGreaterThan(0);
    for (const record of finished.values()) expect(record.status).toBe('ended');
    // The independent witness: what the server billed is within the cap; and so is the shared ledger.
    expect(server.bill().totalMicros).toBeLessThanOrEqual(capMicros);
    const atCap = await a.parts.spending.snapshot();
    expect(atCap.spentMicros).toBe(server.bill().totalMicros);
    expect(atCap.spentMicros).toBeLessThanOrEqual(capMicros);
    // Both daemons say the cap is reached (metric), and take no new work.
    await until(
      () => a.parts.spending.capReached && b.parts.spending.capReached,
      10_000,
      'both daemons see the cap reached',
    );
    for (const owner of [a, b]) {
      const gauge = await owner.parts.registry.getSingleMetric('chimera_budget_cap_reached')!.get();
      expect(gauge.values[0]?.value).toBe(1);
    }
    // Paused, not failed: the /readyz-relevant supervision is intact.
    expect(a.supervision.crashed + b.supervision.crashed).toBe(0);
    expect(a.supervision.lost + b.supervision.lost).toBe(0);

    // `chimera budget set` from another process: its own connection to the same Redis.
    const redis = createRedis(inject('redisUrl'));
    const other = new RedisBudgetStore({ redis, keyPrefix: names.prefix });
    await other.setCap(10_000_000);
    await other.close();
    await redis.quit();

    await until(() => finished.size === ids.length, 60_000, 'every conversation finished after the raise');
    for (const record of finished.values()) {
      expect(record.status).toBe('ended');
      expect(record.turns).toHaveLength(6);
    }
    // No (conversation, turn, generation) was sent twice, and every one was answered.
    const keys = server.requestKeys();
    expect(keys.length).toBe(sum(server.bill().lines.map((l) => l.requests)));
    for (const key of keys)
      expect({ key: key.key, sent: key.sent, answered: key.answered }).toEqual({
        key: key.key,
        sent: 1,
        answered: 1,
      });
    const after = await a.parts.spending.snapshot();
    expect(after.spentMicros).toBe(server.bill().totalMicros);
    expect(a.parts.spending.capReached || b.parts.spending.capReached).toBe(false);
  });

  it("a call refused on one daemon stops the others' intake within a poll, though spend alone is below the cap", async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const a = await daemon(cappedEnv(names, server, 40_000));
    const b = await daemon(cappedEnv(names, server, 40_000));
    expect(a.parts.spending.capReached || b.parts.spending.capReached).toBe(false);

    // A third process's call does not fit: refused by the shared budget, which keeps the refusal.
    const redis = createRedis(inject('redisUrl'));
    const other = new RedisBudgetStore({ redis, keyPrefix: names.prefix });
    cleanups.push(async () => {
      await other.close();
      await redis.quit();
    });
    expect((await other.reserve('too-big', 50_000)).ok).toBe(false);
    expect((await other.snapshot()).spentMicros).toBe(0);

    await until(
      () => a.parts.spending.capReached && b.parts.spending.capReached,
      5_000,
      'both daemons see the refusal',
    );
    expect(a.parts.spending.intakeOpen() || b.parts.spending.intakeOpen()).toBe(false);
    // Raising the cap so that the refused call fits reopens both.
    await other.setCap(100_000);
    await until(
      () => !a.parts.spending.capReached && !b.parts.spending.capReached,
      5_000,
      'both daemons open again once the refused call fits',
    );
  });

  it('a capped daemon stops (SIGTERM) without waiting for its conversations paused for budget: they stay paused in the store, for the next daemon', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await fakeServer(20);
    const capMicros = 15_000;
    const env = cappedEnv(names, server, capMicros);
    // A drain that waited for the paused conversations would wait ten minutes.
    const chimera = await startChimera(configFor(env), {
      intake: 'none',
      budgetPollMs: 100,
      drainTimeoutMs: 600_000,
    });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await chimera.stop();
    });
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        await chimera.startNewConversation({ id: `drain-${i}`, title: `Drain topic ${i}: heat networks` }),
      );
    await until(
      () => chimera.active > 0 && chimera.parts.spending.pausedCount() === chimera.active,
      60_000,
      'every conversation still running paused for budget',
    );
    const paused = chimera.active;

    const outcome = await Promise.race([
      chimera.stop().then(() => 'stopped'),
      new Promise((resolve) => setTimeout(() => resolve('still draining'), 30_000)),
    ]);
    stopped = true;
    expect(outcome).toBe('stopped');
    // Saved paused at their last completed turn, unfinished and adoptable: their leases were given back.
    const store = new RedisSnapshotStore({ url: inject('redisUrl'), keyPrefix: names.prefix });
    cleanups.push(() => store.close());
    let stillPaused = 0;
    for (const id of ids) {
      const stored = await store.load(id);
      const snapshot = stored?.snapshot as { value?: unknown; context?: { paused?: { reason?: string } } };
      if (stored?.status !== 'active') continue;
      expect(snapshot.value).toBe('paused');
      expect(snapshot.context?.paused?.reason).toBe('budget');
      expect(await store.acquireLease(id, 'next-daemon', 10_000)).not.toBeNull();
      stillPaused += 1;
    }
    expect(stillPaused).toBe(paused);
    expect(server.bill().totalMicros).toBeLessThanOrEqual(capMicros);
  });
});
