import { Redis } from 'ioredis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { StatusReport } from '../../src/cli/commands/status.js';
import { RedisBudgetStore } from '../../src/cost/redis-budget-store.js';
import { ProviderError } from '../../src/errors.js';
import { publishBreakerStates } from '../../src/resilience/breaker-publisher.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { breakersKey, RedisBreakerStateStore } from '../../src/services/redis/breaker-state-store.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { runCli } from '../support/cli.js';
import { configFor, deleteKeys, infraEnv, startChimera, uniqueNames } from '../support/infra.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function redisOnlyEnv(names: ReturnType<typeof uniqueNames>, extra: Record<string, string> = {}) {
  const { KAFKA_BOOTSTRAP_SERVERS: _kafka, ...env } = infraEnv({ ...names.env, ...extra });
  return env;
}

function redisClient(): Redis {
  const redis = new Redis(inject('redisUrl'));
  cleanups.push(() => redis.quit());
  return redis;
}

const overloaded = () =>
  new ProviderError('overloaded', 'overloaded', { provider: 'anthropic', status: 529 });

describe('breaker state publisher', () => {
  it("writes each breaker's state at start and again when it opens, and stops writing once stopped", async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const redis = redisClient();
    let now = 1_700_000_000_000;
    const clock = { now: () => now };
    const breaker = new ProviderBreaker({ name: 'anthropic', threshold: 2, cooldownMs: 30_000, clock });
    cleanups.push(async () => breaker.stop());
    const publisher = publishBreakerStates({
      store: new RedisBreakerStateStore(redis, names.prefix),
      instance: 'daemon-a',
      breakers: new Map([['anthropic', breaker]]),
      clock,
    });
    await publisher.flush();
    expect(await new RedisBreakerStateStore(redis, names.prefix).readAll()).toEqual({
      anthropic: {
        state: 'closed',
        since: now,
        instance: 'daemon-a',
        failures: 0,
        openedAt: null,
        cooldownMs: 30_000,
        // What a daemon started later restores its breaker from (test/resilience/breaker-restore.int.test.ts).
        persisted: {
          schemaVersion: 1,
          machineVersion: 'circuit-breaker@1',
          snapshot: expect.objectContaining({ value: 'closed' }),
        },
      },
    });

    now += 1000;
    breaker.onFailure(overloaded());
    breaker.onFailure(overloaded());
    await publisher.flush();
    expect((await new RedisBreakerStateStore(redis, names.prefix).readAll()).anthropic).toMatchObject({
      state: 'open',
      since: now,
      failures: 2,
      openedAt: now,
    });

    publisher.stop();
    breaker.onSuccess();
    now += 60_000;
    breaker.admit();
    await publisher.flush();
    expect((await new RedisBreakerStateStore(redis, names.prefix).readAll()).anthropic?.state).toBe('open');
  });

  it('a field that is not a breaker report is left out when reading', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const redis = redisClient();
    await redis.hset(breakersKey(names.prefix), 'gemini', 'not json', 'openai', '{"state":"sideways"}');
    expect(await new RedisBreakerStateStore(redis, names.prefix).readAll()).toEqual({});
  });
});

describe('chimera status', () => {
  it('--json reports conversations by state, the outbox backlog, and breaker and rate-limit use per provider', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const env = redisOnlyEnv(names, { MAX_CONVERSATION_TURNS: '2', MIN_CONVERSATION_TURNS: '1' });
    const config = configFor(env);
    const daemon = await startChimera(config, { intake: 'none' });
    const publisher = publishBreakerStates({
      store: new RedisBreakerStateStore(daemon.parts.redis!, names.prefix),
      instance: 'daemon-1',
      breakers: daemon.parts.breakers,
    });
    const ids = await Promise.all(
      [0, 1, 2].map((i) => daemon.startNewConversation({ id: `status-${i}`, title: `Status topic ${i}` })),
    );
    await Promise.all(ids.map((id) => daemon.waitFor(id, 30_000)));
    await publisher.flush();
    publisher.stop();
    await daemon.stop();

    // One conversation in flight and two events not yet relayed, written as a daemon would.
    const store = new RedisSnapshotStore({ url: inject('redisUrl'), keyPrefix: names.prefix });
    cleanups.push(() => store.close());
    const lease = (await store.acquireLease('c-in-flight', 'daemon-2', 60_000))!;
    const event = { topic: 'events' as const, key: 'c-in-flight', value: null, headers: {} };
    await store.save(
      lease,
      {
        schemaVersion: 1,
        machineVersion: 'conversation@1',
        status: 'active',
        snapshot: {},
        updatedAt: Date.now(),
      },
      [event, event],
    );

    const result = await runCli(['status', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.conversations).toEqual({ active: 1, ended: 3, failed: 0, timedOut: 0 });
    expect(report.outbox).toBe(2);
    expect(Object.keys(report.providers)).toEqual(['simulated']);
    const simulated = report.providers.simulated!;
    expect(simulated.breaker).toMatchObject({ state: 'closed', instance: 'daemon-1', failures: 0 });
    // The stored machine snapshot is for restarting daemons, not part of the report.
    expect(simulated.breaker).not.toHaveProperty('persisted');
    expect(simulated.rateLimit.requests.perMinute).toBe(config.providers.simulated.rpm);
    expect(simulated.rateLimit.tokens.perMinute).toBe(config.providers.simulated.tpm);
    expect(simulated.rateLimit.requests.waitMs).toBe(0);
    expect(simulated.rateLimit.penaltyMs).toBe(0);
  });

  it('shows a configured provider nobody reported, and its rate-limit use from the shared budget', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    // Anthropic configured with a tiny budget; four calls' worth of requests already reserved by a daemon.
    const env = redisOnlyEnv(names, { ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000', ANTHROPIC_RPM: '1' });
    const redis = redisClient();
    const [seconds] = await redis.time();
    const nowUs = Number(seconds) * 1_000_000;
    // 1 rpm: no room for a burst beyond the one request, which goes every two minutes, so no minute holds
    // two. Four requests in use: the TAT runs eight minutes ahead (the child process takes a few seconds
    // to start, a small fraction of an interval).
    await redis.hset(
      `${names.prefix}:ratelimit:{anthropic}`,
      'rtat',
      String(nowUs + 480_000_000),
      'ttat',
      '0',
      'penalty',
      '0',
    );

    const result = await runCli(['status', '--json'], { env });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(Object.keys(report.providers)).toEqual(['anthropic']);
    const anthropic = report.providers.anthropic!;
    expect(anthropic.breaker).toBeNull();
    expect(anthropic.rateLimit.requests.perMinute).toBe(1);
    expect(anthropic.rateLimit.requests.burst).toBe(1);
    expect(anthropic.rateLimit.requests.inUse).toBeGreaterThan(3.5);
    expect(anthropic.rateLimit.requests.inUse).toBeLessThanOrEqual(4);
    // Past the burst of one: the next request waits until the TAT itself (eight minutes).
    expect(anthropic.rateLimit.requests.waitMs).toBeGreaterThan(450_000);
    expect(anthropic.rateLimit.requests.waitMs).toBeLessThanOrEqual(480_000);
    expect(result.stdout).not.toContain('sk-ant-test');
  });

  it('without --json prints the same report as text', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const redis = redisClient();
    await redis.hset(
      breakersKey(names.prefix),
      'gemini',
      JSON.stringify({
        state: 'open',
        since: Date.now(),
        instance: 'daemon-9',
        failures: 5,
        openedAt: Date.now(),
        cooldownMs: 30_000,
      }),
    );
    const result = await runCli(['status'], { env: redisOnlyEnv(names) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('conversations: 0 active, 0 ended, 0 failed, 0 timed out');
    // Without Kafka the outbox is relayed to the Redis event streams, and status says so.
    expect(result.stdout).toContain('outbox: 0 events waiting for the Redis event streams');
    expect(result.stdout).toMatch(/^ {2}gemini +breaker open, probe in \d+s \(daemon-9, /m);
    const withKafka = await runCli(['status'], { env: infraEnv(names.env) });
    expect(withKafka.code, withKafka.stderr).toBe(0);
    expect(withKafka.stdout).toContain('outbox: 0 events waiting for Kafka');
  });

  it('lists the batches out per provider with their requests, age and state', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const batches = new RedisBatchStore(redisClient(), names.prefix);
    const request = { system: 's', messages: [], maxTokens: 8, temperature: 0 };
    const now = Date.now();
    await batches.recordIntent({
      intentId: 'intent-1',
      provider: 'anthropic',
      requests: [
        { customId: 'c1_t0_g0', request },
        { customId: 'c2_t0_g0', request },
      ],
      owner: 'daemon-7',
      at: now - 60_000,
      leaseMs: 30_000,
    });
    await batches.recordSubmitted('intent-1', 'anthropic', 'msgbatch_abc', now - 50_000);
    await batches.recordIntent({
      intentId: 'intent-2',
      provider: 'gemini',
      requests: [{ customId: 'c1_t1_g0', request }],
      owner: 'daemon-7',
      at: now - 1_000,
      leaseMs: 30_000,
    });
    const json = await runCli(['status', '--json'], { env: redisOnlyEnv(names) });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as StatusReport;
    expect(report.batches).toEqual({
      anthropic: [
        { id: 'msgbatch_abc', requests: 2, ageMs: expect.any(Number), state: 'out', owner: 'daemon-7' },
      ],
      gemini: [
        { id: 'intent-2', requests: 1, ageMs: expect.any(Number), state: 'submitting', owner: 'daemon-7' },
      ],
    });
    expect(report.batches.anthropic![0]!.ageMs).toBeGreaterThanOrEqual(50_000);
    const text = await runCli(['status'], { env: redisOnlyEnv(names) });
    expect(text.stdout).toMatch(/^ {2}anthropic +msgbatch_abc 2 requests, \d+s old, out \(daemon-7\)$/m);
  });
});

describe('chimera status: spend', () => {
  it('shows spend in total, in the last hour and per provider and model, and says when the cap is reached', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const env = redisOnlyEnv(names);
    const budget = new RedisBudgetStore({ redis: redisClient(), keyPrefix: names.prefix });
    await budget.setCap(20_000);
    for (const [id, micros, provider, model] of [
      ['c1:0:0:a', 12_345, 'anthropic', 'claude-sonnet-5-5'],
      ['c1:1:0:a', 2_100, 'gemini', 'gemini-2.5-flash'],
      ['c2:0:0:a', 3_000, 'anthropic', 'claude-sonnet-5-5'],
    ] as const) {
      expect((await budget.reserve(id, micros)).ok).toBe(true);
      await budget.settle(id, micros, { provider, model });
    }
    let result = await runCli(['status'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('spend: cap: $0.0200; spent $0.0174');
    expect(result.stdout).toContain('spent in the last hour: $0.0174');
    expect(result.stdout).toMatch(/anthropic\/claude-sonnet-5-5\s+\$0\.0153/);
    expect(result.stdout).toMatch(/gemini\/gemini-2\.5-flash\s+\$0\.0021/);
    expect(result.stdout).not.toContain('CAP REACHED');

    await budget.setCap(17_000);
    result = await runCli(['status', '--json'], { env });
    const report = JSON.parse(result.stdout) as StatusReport;
    expect(report.capReached).toBe(true);
    expect(report.budget).toMatchObject({
      capMicros: 17_000,
      spentMicros: 17_445,
      spentLastHourMicros: 17_445,
    });
    result = await runCli(['status'], { env });
    expect(result.stdout).toContain('SPENDING CAP REACHED');
  });
  it('says the cap is reached when spend and live reservations leave no room for the call that was refused, though spend alone is below it', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const env = redisOnlyEnv(names);
    const budget = new RedisBudgetStore({ redis: redisClient(), keyPrefix: names.prefix });
    await budget.setCap(10_000);
    expect((await budget.reserve('c1:0:0:a', 4_000)).ok).toBe(true);
    await budget.settle('c1:0:0:a', 4_000, { provider: 'anthropic', model: 'claude-sonnet-5-5' });
    // Two calls in flight hold 5,000 of the 6,000 left: a third of 1,500 cannot be reserved.
    expect((await budget.reserve('c2:0:0:a', 2_500)).ok).toBe(true);
    expect((await budget.reserve('c3:0:0:a', 2_500)).ok).toBe(true);
    const status = async () => {
      const result = await runCli(['status', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as StatusReport;
    };
    // Room for a call of up to 1,000 is left and none was refused: not reached.
    expect((await status()).capReached).toBe(false);
    expect((await budget.reserve('c4:0:0:a', 1_500)).ok).toBe(false);
    const report = await status();
    expect(report.capReached).toBe(true);
    expect(report.budget).toMatchObject({
      spentMicros: 4_000,
      reservedMicros: 5_000,
      lastRefusal: { worstCaseMicros: 1_500 },
    });
    const text = await runCli(['status'], { env });
    expect(text.stdout).toContain('SPENDING CAP REACHED');
    expect(text.stdout).toContain('(cap reached: the last refused call needs $0.001500)');
    // A reservation released makes room for the refused call: no longer reached.
    await budget.release('c2:0:0:a');
    expect((await status()).capReached).toBe(false);
    // Reservations filling the cap to the last micro-dollar leave room for nothing.
    await budget.setCap(6_500); // spent 4,000 + reserved 2,500
    expect((await status()).capReached).toBe(true);
  });
});
