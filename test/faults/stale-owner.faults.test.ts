/**
 * A stale owner: a daemon frozen with SIGSTOP for longer than its lease, then thawed with SIGCONT. While it
 * sleeps, the others adopt its conversations with newer fencing tokens; when it wakes, its timers fire and
 * its in-flight work tries to carry on. Every write it attempts with an old token must be refused by the
 * fence, so no turn forks and no old-token event reaches the topic after a newer one.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { Lease } from '../../src/services/ports.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { countLogged, Daemon, metricValue } from './support/daemon.js';
import { produce } from './support/kafka-io.js';
import {
  Cleanups,
  daemonEnv,
  daemonsCleanup,
  scenarioNames,
  sleep,
  topicMessages,
} from './support/scenario.js';
import { bySize } from './support/size.js';
import { outcomeFigures, outcomes, publishFigures, settled, verdict } from './support/verdict.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

const CONVERSATIONS = bySize(120, 30);
const PAUSES = bySize(4, 2);
const LEASE_TTL_SECONDS = 3;
/** Longer than two leases, shorter than the input consumer's session timeout (10 s). */
const PAUSE_MS = 7_000;
const STUCK_AFTER_MS = 120_000;

describe('stale owner', () => {
  it(`a daemon frozen (SIGSTOP) for ${PAUSE_MS / 1000}s, past its ${LEASE_TTL_SECONDS}s lease, is fenced out when it wakes: no fork, no stale write, all ${CONVERSATIONS} conversations end`, async () => {
    const names = scenarioNames(cleanups);
    const brokers = inject('kafkaBrokers');
    const env = daemonEnv(names, {
      LEASE_TTL_SECONDS: String(LEASE_TTL_SECONDS),
      SIMULATED_LATENCY_MS: '100',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: '3',
    });
    const daemons = ['a', 'b', 'c'].map((name) => new Daemon({ name, env }));
    daemonsCleanup(cleanups, daemons, 'stale-owner');
    await Promise.all(daemons.map((daemon) => daemon.start()));
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(async () => redis.quit());

    const topics = topicMessages(names, CONVERSATIONS, 'stale');
    const perPause = Math.ceil(CONVERSATIONS / PAUSES);

    let pauses = 0;
    let inFlightAtPause = 0;
    let lostAfterWake = 0;
    for (let i = 0; i < PAUSES; i++) {
      // Each freeze gets fresh work, so the frozen daemon always leaves conversations behind.
      const batch = topics.slice(i * perPause, (i + 1) * perPause);
      await produce(
        brokers,
        names.env.KAFKA_TOPIC_INPUT,
        batch.map((t) => t.message),
      );
      const victim = daemons[i % daemons.length]!;
      let before = '';
      let active = 0;
      for (let tries = 0; tries < 200 && active === 0; tries++) {
        before = await victim.metrics();
        active = metricValue(before, 'chimera_conversations_active');
        if (active === 0) await sleep(50);
      }
      const lostBefore = metricValue(before, 'chimera_supervisor_conversations_total', { outcome: 'lost' });
      victim.pause();
      pauses += 1;
      inFlightAtPause += active;
      await sleep(PAUSE_MS);
      victim.resume();
      // Its in-flight copies find out at their next write or lease renewal, both due at once.
      await sleep(2 * LEASE_TTL_SECONDS * 1000);
      const after = await victim.metrics();
      lostAfterWake +=
        metricValue(after, 'chimera_supervisor_conversations_total', { outcome: 'lost' }) - lostBefore;
    }
    const settleMs = await settled({
      redisUrl: inject('redisUrl'),
      prefix: names.prefix,
      expected: CONVERSATIONS,
      timeoutMs: STUCK_AFTER_MS,
    });
    const { report, messages } = await verdict(
      brokers,
      names.env.KAFKA_TOPIC_EVENTS,
      topics.map((t) => t.id),
    );
    const count = (prefix: string) => countLogged(daemons, prefix);
    const ends = outcomes(messages);
    publishFigures('stale-owner', report, {
      conversations: CONVERSATIONS,
      pauses,
      pauseMs: PAUSE_MS,
      leaseTtlMs: LEASE_TTL_SECONDS * 1000,
      inFlightAtPause,
      copiesStoppedAfterWake: lostAfterWake,
      writesRefusedByFence: count('a newer owner holds this conversation'),
      leasesFoundLost: count('could not persist conversation'),
      adoptions: count('adopting orphaned conversation'),
      settleAfterFaultsMs: settleMs ?? -1,
      ...outcomeFigures(ends),
    });

    expect(pauses).toBe(PAUSES);
    expect(inFlightAtPause).toBeGreaterThan(0);
    // The frozen daemon's copies were stopped once it woke up (by the fence or by a failed renewal).
    expect(lostAfterWake).toBeGreaterThan(0);
    expect(report.forked).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.staleWrites).toEqual([]);
    expect(report.conflictingFinals).toEqual([]);
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.unexpected).toEqual([]);
    expect(Object.keys(ends).every((outcome) => outcome.startsWith('ended/'))).toBe(true);
    expect(settleMs).not.toBeNull();
  });

  it('a daemon whose lease was taken over mid-conversation has its next write refused by the fence; the copy stops and the new owner carries on', async () => {
    const names = scenarioNames(cleanups);
    const brokers = inject('kafkaBrokers');
    const env = daemonEnv(names, {
      LEASE_TTL_SECONDS: '6',
      // A step every 200 ms, the lease renewed every 2 s: the next write nearly always comes first.
      SIMULATED_LATENCY_MS: '200',
      MAX_CONVERSATION_TURNS: '12',
      MIN_CONVERSATION_TURNS: '12',
      MAX_CONCURRENT_CONVERSATIONS: '8',
    });
    const daemon = new Daemon({ name: 'fenced', env });
    daemonsCleanup(cleanups, [daemon], 'stale-owner-takeover');
    await daemon.start();
    const topics = topicMessages(names, 8, 'takeover');
    await produce(
      brokers,
      names.env.KAFKA_TOPIC_INPUT,
      topics.map((t) => t.message),
    );

    // Another owner takes some running conversations over: what a daemon that adopted them after a
    // lapse would hold. The running daemon has not noticed; it goes on writing with its old token.
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(async () => redis.quit());
    const store = new RedisSnapshotStore({ redis, keyPrefix: names.prefix });
    const keys = snapshotKeys(names.prefix);
    let running: string[] = [];
    for (let tries = 0; tries < 200 && running.length < 4; tries++) {
      running = await redis.zrange(keys.active, '0', '-1');
      if (running.length < 4) await sleep(50);
    }
    const taken: Lease[] = [];
    for (const conversationId of running.slice(0, 4)) {
      await redis.del(keys.lease(conversationId));
      const lease = await store.acquireLease(conversationId, 'new-owner', 6_000);
      if (lease) taken.push(lease);
    }
    await sleep(2_000);
    const fenced = daemon.logged('a newer owner holds this conversation').length;
    const renewalLost = daemon.logged('could not persist conversation').length;
    // The new owner lets go (as a daemon draining would): the conversations are adopted and finish.
    for (const lease of taken) await store.releaseLease(lease);

    const settleMs = await settled({
      redisUrl: inject('redisUrl'),
      prefix: names.prefix,
      expected: topics.length,
      timeoutMs: 60_000,
    });
    const { report, messages } = await verdict(
      brokers,
      names.env.KAFKA_TOPIC_EVENTS,
      topics.map((t) => t.id),
    );
    publishFigures('stale-owner-takeover', report, {
      conversations: topics.length,
      takenOver: taken.length,
      writesRefusedByFence: fenced,
      copiesStoppedByRenewal: renewalLost,
      readoptions: daemon.logged('adopting orphaned conversation').length,
      settleMs: settleMs ?? -1,
      ...outcomeFigures(outcomes(messages)),
    });

    expect(taken.length).toBeGreaterThan(0);
    expect(fenced).toBeGreaterThan(0);
    expect(fenced + renewalLost).toBe(taken.length);
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.forked).toEqual([]);
    expect(report.staleWrites).toEqual([]);
    expect(report.conflictingFinals).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(settleMs).not.toBeNull();
  });
});
