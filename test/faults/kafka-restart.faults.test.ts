/**
 * Kafka broker restart mid-run, on a broker of the scenario's own: conversations go on (their state is in
 * Redis) while their events wait in the outbox; once the broker is back every event arrives, and topics
 * submitted after the restart are taken in too (the input consumer came back by itself).
 */

import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { countLogged, Daemon } from './support/daemon.js';
import { groupMembers, produce } from './support/kafka-io.js';
import { startOwnBroker } from './support/own-broker.js';
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

const CONVERSATIONS = bySize(150, 40);
/** Broker down time on top of its own stop and start (the JVM takes seconds either way). */
const DOWN_MS = bySize(20_000, 10_000);
const STUCK_AFTER_MS = 180_000;

describe('Kafka broker restart', () => {
  it(`with the broker stopped for ${DOWN_MS / 1000}s and restarted mid-run, every event arrives once it is back and all ${CONVERSATIONS} conversations end`, async () => {
    const broker = await startOwnBroker();
    cleanups.add(() => broker.reset());
    const names = scenarioNames(cleanups, { brokers: broker.url });
    const env = daemonEnv(names, {
      KAFKA_BOOTSTRAP_SERVERS: broker.url,
      LEASE_TTL_SECONDS: '3',
      SIMULATED_LATENCY_MS: '100',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: '4',
    });
    const daemons = ['a', 'b'].map((name) => new Daemon({ name, env }));
    daemonsCleanup(cleanups, daemons, 'kafka-restart');
    await Promise.all(daemons.map((daemon) => daemon.start()));
    const redis = new Redis(inject('redisUrl'));
    cleanups.add(async () => redis.quit());

    const topics = topicMessages(names, CONVERSATIONS, 'kafka');
    const before = topics.slice(0, Math.ceil(CONVERSATIONS / 2));
    const after = topics.slice(before.length);
    await produce(
      broker.url,
      names.env.KAFKA_TOPIC_INPUT,
      before.map((t) => t.message),
    );
    await sleep(2_000);

    const stoppedAt = Date.now();
    await broker.stop();
    const atStop = await storeProgress(redis, names.prefix);
    await sleep(DOWN_MS);
    // Conversations went on while the broker was away: their events piled up in the outbox.
    const whileDown = await storeProgress(redis, names.prefix);
    await broker.start();
    const outageMs = Date.now() - stoppedAt;
    await produce(
      broker.url,
      names.env.KAFKA_TOPIC_INPUT,
      after.map((t) => t.message),
    );

    const settleMs = await settled({
      redisUrl: inject('redisUrl'),
      prefix: names.prefix,
      expected: CONVERSATIONS,
      timeoutMs: STUCK_AFTER_MS,
    });
    // Every daemon is back in the input group: none was left without intake by the outage.
    const members = await groupMembers(broker.url, names.env.KAFKA_CONSUMER_GROUP_ID);
    const { report, messages } = await verdict(
      broker.url,
      names.env.KAFKA_TOPIC_EVENTS,
      topics.map((t) => t.id),
    );
    const count = (prefix: string) => countLogged(daemons, prefix);
    const ends = outcomes(messages);
    publishFigures('kafka-restart', report, {
      conversations: CONVERSATIONS,
      daemons: daemons.length,
      outageMs,
      finishedAtStop: atStop.finished,
      finishedWhileDown: whileDown.finished - atStop.finished,
      outboxBacklogWhileDown: whileDown.outbox,
      submittedAfterRestart: after.length,
      relayRetries: count('outbox relay could not publish'),
      consumerCrashes: count('topic consumer crashed'),
      consumersRestartedByChimera: count('restarting the topic consumer'),
      groupMembersAfter: members,
      daemonExits: daemons.reduce((sum, d) => sum + d.exits.length, 0),
      settleAfterFaultsMs: settleMs ?? -1,
      ...outcomeFigures(ends),
    });

    expect(whileDown.outbox).toBeGreaterThan(0);
    expect(members).toBe(daemons.length);
    expect(daemons.every((daemon) => daemon.up && daemon.exits.length === 0)).toBe(true);
    expect(report.lost).toEqual([]);
    expect(report.lostTurns).toEqual([]);
    expect(report.unannouncedTurns).toEqual([]);
    expect(report.stuck).toEqual([]);
    expect(report.forked).toEqual([]);
    expect(report.staleWrites).toEqual([]);
    expect(report.conflictingFinals).toEqual([]);
    expect(report.duplicateAfterDedup).toBe(0);
    expect(report.unexpected).toEqual([]);
    expect(Object.keys(ends).every((outcome) => outcome.startsWith('ended/'))).toBe(true);
    expect(settleMs).not.toBeNull();
  });
});
