/**
 * Crash and resume: three `chimera run` daemons share the work on real Redis and Kafka while one of them
 * is SIGKILLed every few seconds and restarted. Nothing of a killed daemon's shutdown runs: its leases lapse
 * (LEASE_TTL_SECONDS=3), its input partitions go back to the group, and the others adopt its conversations
 * from their last persisted step.
 */

import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { conversationIdFor } from '../../src/events.js';
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
import {
  outcomeFigures,
  outcomes,
  publishFigures,
  settled,
  storeProgress,
  verdict,
} from './support/verdict.js';

const cleanups = new Cleanups();
afterAll(() => cleanups.run());

const CONVERSATIONS = bySize(200, 40);
/** The kills stop once every conversation is finished, or after this long. */
const FAULT_WINDOW_MS = bySize(120_000, 45_000);
const KILL_EVERY_MS = bySize(3_000, 2_000);
const MIN_KILLS = bySize(8, 3);
/** After the faults stop, every conversation must be finished and delivered within this. */
const STUCK_AFTER_MS = 120_000;

describe('crash and resume', () => {
  it(`with one of three daemons SIGKILLed every ${KILL_EVERY_MS / 1000}s and restarted, all ${CONVERSATIONS} conversations end: none lost, forked or duplicated after dedup`, async () => {
    const names = scenarioNames(cleanups);
    const brokers = inject('kafkaBrokers');
    const env = daemonEnv(names, {
      LEASE_TTL_SECONDS: '3',
      SIMULATED_LATENCY_MS: '100',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      // Few slots per daemon, so a backlog waits in Kafka and every kill finds conversations in flight.
      MAX_CONCURRENT_CONVERSATIONS: String(bySize(3, 2)),
    });
    const daemons = ['a', 'b', 'c'].map((name) => new Daemon({ name, env }));
    daemonsCleanup(cleanups, daemons, 'crash-resume');
    await Promise.all(daemons.map((daemon) => daemon.start()));

    const topics = topicMessages(names, CONVERSATIONS, 'crash');
    const startedAt = Date.now();
    await produce(
      brokers,
      names.env.KAFKA_TOPIC_INPUT,
      topics.map((t) => t.message),
    );

    const redis = new Redis(inject('redisUrl'));
    cleanups.add(async () => redis.quit());
    let kills = 0;
    let inFlightAtKills = 0;
    const restarts: Array<Promise<void>> = [];
    let next = 0;
    while (Date.now() - startedAt < FAULT_WINDOW_MS) {
      await sleep(KILL_EVERY_MS);
      if ((await storeProgress(redis, names.prefix)).finished >= CONVERSATIONS) break;
      const running = daemons.filter((daemon) => daemon.up);
      // Someone must stay up to adopt; a daemon still starting is left alone.
      if (running.length < 2) continue;
      const victim = running[next++ % running.length]!;
      inFlightAtKills += await victim
        .metrics()
        .then((text) => metricValue(text, 'chimera_conversations_active'))
        .catch(() => 0);
      await victim.kill('SIGKILL');
      kills += 1;
      restarts.push(victim.start());
    }
    const faultsStoppedAt = Date.now();
    await Promise.all(restarts);
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
    publishFigures('crash-resume', report, {
      conversations: CONVERSATIONS,
      daemons: daemons.length,
      kills,
      restarts: daemons.reduce((sum, d) => sum + d.starts, 0) - daemons.length,
      inFlightAtKills,
      adoptions: count('adopting orphaned conversation'),
      fencedCopies: count('a newer owner holds this conversation'),
      faultWindowMs: faultsStoppedAt - startedAt,
      settleAfterFaultsMs: settleMs ?? -1,
      staleWrites: report.staleWrites.length,
      events: messages.length,
      ...outcomeFigures(ends),
    });

    expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
    expect(inFlightAtKills).toBeGreaterThan(0);
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.stuck).toEqual([]);
    expect(report.forked).toEqual([]);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.conflictingFinals).toEqual([]);
    expect(report.staleWrites).toEqual([]);
    expect(report.unexpected).toEqual([]);
    // The simulated provider never fails: every conversation ends (by turns, farewell or repetition).
    expect(Object.keys(ends).every((outcome) => outcome.startsWith('ended/'))).toBe(true);
    expect(settleMs).not.toBeNull();

    // A drain at the end is clean: every daemon exits 0.
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    for (const daemon of daemons) expect(daemon.exits.at(-1), daemon.name).toEqual({ code: 0, signal: null });
  });

  it('a topic whose conversation a dead daemon had leased but not yet saved runs once that lease lapses', async () => {
    const names = scenarioNames(cleanups);
    const brokers = inject('kafkaBrokers');
    const env = daemonEnv(names, {
      LEASE_TTL_SECONDS: '3',
      SIMULATED_LATENCY_MS: '20',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
    });
    const daemon = new Daemon({ name: 'survivor', env });
    daemonsCleanup(cleanups, [daemon], 'crash-before-first-save');
    await daemon.start();

    // The state a daemon leaves when it dies between taking a conversation's lease and its first save.
    const topics = topicMessages(names, 4, 'unsaved');
    const store = new RedisSnapshotStore({ url: inject('redisUrl'), keyPrefix: names.prefix });
    cleanups.add(() => store.close());
    const ghosts = topics.slice(0, 2);
    for (const topic of ghosts) {
      expect(await store.acquireLease(conversationIdFor(topic.id), 'dead-daemon', 4_000)).not.toBeNull();
    }
    await produce(
      brokers,
      names.env.KAFKA_TOPIC_INPUT,
      topics.map((t) => t.message),
    );

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
    publishFigures('crash-before-first-save', report, {
      topics: topics.length,
      leasedByADeadDaemon: ghosts.length,
      heldBack: daemon.logged('topic leased elsewhere but not saved yet').length,
      settleMs: settleMs ?? -1,
      ...outcomeFigures(outcomes(messages)),
    });
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expect(daemon.logged('topic leased elsewhere but not saved yet').length).toBe(ghosts.length);
  });
});
