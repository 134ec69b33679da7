/**
 * Redis restarts mid-run: the daemons' Redis is a project-started `redis-server` with append-only-file
 * persistence (fsync on every write). It is stopped with SIGTERM (it flushes the AOF) for longer than a
 * lease, then started again on the same port from the same directory. Commands wait in the clients'
 * offline queues meanwhile; after the restart every lease has lapsed, so conversations are re-adopted
 * under new fencing tokens and carry on from their last saved step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type RunningService, startRedisServer } from '../../scripts/services.js';
import { countLogged, Daemon } from './support/daemon.js';
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

const CONVERSATIONS = bySize(150, 40);
const RESTARTS = bySize(3, 1);
/** Down for longer than a lease (3 s), so every lease lapses while Redis is away. */
const DOWN_MS = 5_000;
const STUCK_AFTER_MS = 120_000;

describe('Redis restart', () => {
  it(`with Redis (AOF) stopped for ${DOWN_MS / 1000}s and restarted mid-run, all ${CONVERSATIONS} conversations end and none is lost`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chimera-faults-redis-'));
    cleanups.add(async () => rmSync(dir, { recursive: true, force: true }));
    let server: RunningService = await startRedisServer({ dir });
    const port = Number(new URL(server.url).port);
    cleanups.add(() => server.stop());

    const names = scenarioNames(cleanups, { redis: false });
    const brokers = inject('kafkaBrokers');
    const env = daemonEnv(names, {
      REDIS_URL: server.url,
      LEASE_TTL_SECONDS: '3',
      SIMULATED_LATENCY_MS: '100',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
      MAX_CONCURRENT_CONVERSATIONS: '4',
    });
    const daemons = ['a', 'b'].map((name) => new Daemon({ name, env }));
    daemonsCleanup(cleanups, daemons, 'redis-restart');
    await Promise.all(daemons.map((daemon) => daemon.start()));

    const topics = topicMessages(names, CONVERSATIONS, 'redis');
    await produce(
      brokers,
      names.env.KAFKA_TOPIC_INPUT,
      topics.map((t) => t.message),
    );

    const probe = new Redis(server.url, { maxRetriesPerRequest: null });
    probe.on('error', () => {});
    cleanups.add(async () => probe.disconnect());
    let restarts = 0;
    const finishedAtStop: number[] = [];
    for (let i = 0; i < RESTARTS; i++) {
      // Let work get going between outages.
      await sleep(3_000);
      const progress = await storeProgress(probe, names.prefix);
      if (progress.finished >= CONVERSATIONS) break;
      finishedAtStop.push(progress.finished);
      await server.stop();
      await sleep(DOWN_MS);
      server = await startRedisServer({ port, dir });
      restarts += 1;
    }
    const settleMs = await settled({
      redisUrl: server.url,
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
    publishFigures('redis-restart', report, {
      conversations: CONVERSATIONS,
      daemons: daemons.length,
      redisRestarts: restarts,
      downMs: DOWN_MS,
      finishedAtStops: finishedAtStop.join('/'),
      adoptions: count('adopting orphaned conversation'),
      writesRefusedByFence: count('a newer owner holds this conversation'),
      copiesLetGo: count('could not persist conversation'),
      daemonExits: daemons.reduce((sum, d) => sum + d.exits.length, 0),
      settleAfterFaultsMs: settleMs ?? -1,
      ...outcomeFigures(ends),
    });

    expect(restarts).toBe(RESTARTS);
    // Some work was left when Redis went away.
    expect(finishedAtStop.every((finished) => finished < CONVERSATIONS)).toBe(true);
    // The daemons rode out the outage without exiting.
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
