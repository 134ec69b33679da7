/**
 * Redis failover under Sentinel: the daemons reach Redis only through three sentinels watching a primary
 * and one replica (asynchronous replication, Redis' default), all started by the test on free ports. Mid-run
 * the primary is killed with SIGKILL and never comes back; the sentinels see it down after one second and
 * promote the replica; the daemons' clients ask the sentinels again and carry on against the new master.
 *
 * Asynchronous replication acknowledges a write before any replica has it, so the writes of the last
 * moments before the kill can vanish with the primary. A witness client appends a sequence number to a
 * list as fast as the primary acknowledges, and counts the acknowledged numbers the promoted replica does
 * not hold: the measured loss window. The checker then says what that loss did to the conversations.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createRedis } from '../../src/services/redis/client.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { runCli } from '../support/cli.js';
import { startSentinelSet } from '../support/sentinel-set.js';
import { conversationOf } from './checker.js';
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
import { outcomeFigures, outcomes, publishFigures, storeProgress, verdict } from './support/verdict.js';

const cleanups = new Cleanups();
// After each run: the first run's daemons and Redis processes would otherwise idle through the second.
afterEach(() => cleanups.run());

const CONVERSATIONS = bySize(80, 24);
const DOWN_AFTER_MS = 1_000;
const FAILOVER_TIMEOUT_MS = 5_000;
const STUCK_AFTER_MS = 120_000;
/** No progress for this long after the promotion: what is left will not finish. */
const QUIET_MS = 20_000;
const MAX_CONCURRENT = 4;
const WITNESS_KEY = 'failover-witness';

/** Appends 1, 2, 3, ... to a list, one at a time, remembering when each append was acknowledged. */
function startWitness(url: string) {
  const redis = createRedis(url);
  const acked: Array<{ n: number; at: number }> = [];
  let running = true;
  const done = (async () => {
    for (let n = 1; running; n++) {
      await redis.rpush(WITNESS_KEY, n);
      acked.push({ n, at: Date.now() });
    }
  })();
  return {
    redis,
    acked,
    async stop() {
      running = false;
      await done.catch(() => {});
    },
  };
}

/**
 * Two runs: the replica on localhost (what it has is whatever the primary wrote to its socket, which the
 * kernel still delivers after the process dies), and the replica held 50 ms behind by a
 * proxy that drops what it holds when the primary dies, as a crashed host or a cut link would.
 */
const RUNS = [
  { figures: 'sentinel-failover', replicationDelayMs: 0, waitReplicas: 0 },
  { figures: 'sentinel-failover-lagged', replicationDelayMs: 50, waitReplicas: 0 },
  // The same lag with REDIS_WAIT_REPLICAS=1: no topic is acknowledged and no event published before the
  // replica holds what they follow from, so conversations that had just started or ended come through too.
  { figures: 'sentinel-failover-lagged-wait', replicationDelayMs: 50, waitReplicas: 1 },
];

describe('Sentinel failover', () => {
  it.each(RUNS)(
    `with the primary killed mid-run (replica $replicationDelayMs ms behind, REDIS_WAIT_REPLICAS=$waitReplicas), Sentinel promotes the replica and the daemons carry on against it (${CONVERSATIONS} conversations)`,
    async ({ figures, replicationDelayMs, waitReplicas }) => {
      const set = await startSentinelSet({
        name: 'chimera-faults',
        downAfterMs: DOWN_AFTER_MS,
        // Longer when delaying: see `replicationDelayMs` in test/support/sentinel-set.ts.
        failoverTimeoutMs: replicationDelayMs > 0 ? 120_000 : FAILOVER_TIMEOUT_MS,
        replicationDelayMs,
      });
      cleanups.add(() => set.stop());
      // Keys live on the set of this test and go with it; topics are removed as usual.
      const names = scenarioNames(cleanups, { redis: false });
      const brokers = inject('kafkaBrokers');
      const env = daemonEnv(names, {
        REDIS_URL: '',
        ...set.env,
        LEASE_TTL_SECONDS: '3',
        SIMULATED_LATENCY_MS: '100',
        MAX_CONVERSATION_TURNS: '10',
        MIN_CONVERSATION_TURNS: '10',
        MAX_CONCURRENT_CONVERSATIONS: String(MAX_CONCURRENT),
        ...(waitReplicas > 0 ? { REDIS_WAIT_REPLICAS: String(waitReplicas) } : {}),
      });
      const daemons = ['a', 'b'].map((name) => new Daemon({ name, env }));
      daemonsCleanup(cleanups, daemons, figures);
      await Promise.all(daemons.map((daemon) => daemon.start()));

      const url = loadConfig(set.env).redis!.url;
      const probe = createRedis(url);
      cleanups.add(async () => probe.disconnect());

      const topics = topicMessages(names, CONVERSATIONS, 'failover');
      await produce(
        brokers,
        names.env.KAFKA_TOPIC_INPUT,
        topics.map((t) => t.message),
      );
      const witness = startWitness(url);
      cleanups.add(async () => {
        await witness.stop();
        witness.redis.disconnect();
      });

      // Kill the primary once work is well under way but far from done.
      let atKill = await storeProgress(probe, names.prefix);
      const waitStarted = Date.now();
      while (atKill.finished < CONVERSATIONS / 4 && Date.now() - waitStarted < 60_000) {
        await sleep(200);
        atKill = await storeProgress(probe, names.prefix);
      }
      const upstreamAtKill = await set.replicaUpstream(set.replicas[0]!);
      const killedAt = Date.now();
      await set.primary.kill('SIGKILL');
      const promotion = await set.waitForPromotion(set.primary.port, 30_000);
      await witness.stop();

      // What the promoted replica holds of what the primary acknowledged before it died.
      const newMaster = createRedis(set.replicas[0]!.url);
      cleanups.add(async () => newMaster.disconnect());
      const held = new Set((await newMaster.lrange(WITNESS_KEY, 0, -1)).map(Number));
      const ackedBeforeKill = witness.acked.filter((ack) => ack.at <= killedAt);
      const lostAcks = ackedBeforeKill.filter((ack) => !held.has(ack.n));
      const lostWindowMs = lostAcks.length > 0 ? killedAt - lostAcks[0]!.at : 0;
      const witnessRate =
        ackedBeforeKill.length / Math.max(1, (killedAt - (ackedBeforeKill[0]?.at ?? killedAt)) / 1000);

      // Wait until every conversation is finished on the new master and its outbox is empty, or until
      // nothing has changed for a while (a conversation whose every write was lost never finishes).
      const settleStarted = Date.now();
      let settleMs: number | null = null;
      let last = '';
      let lastChange = Date.now();
      while (Date.now() - settleStarted < STUCK_AFTER_MS && Date.now() - lastChange < QUIET_MS) {
        const progress = await storeProgress(probe, names.prefix).catch(() => null);
        if (progress && progress.finished >= CONVERSATIONS && progress.outbox === 0) {
          settleMs = Date.now() - settleStarted;
          break;
        }
        if (JSON.stringify(progress) !== last) {
          last = JSON.stringify(progress);
          lastChange = Date.now();
        }
        await sleep(250);
      }

      // A command run by hand reaches the new master through the same sentinels.
      const status = await runCli(['status', '--json'], { env });
      const { report, messages } = await verdict(
        brokers,
        names.env.KAFKA_TOPIC_EVENTS,
        topics.map((t) => t.id),
      );
      // A lost conversation is explained by lost writes when the new master holds no snapshot of it.
      const keys = snapshotKeys(names.prefix);
      const lostWithSnapshot: string[] = [];
      for (const topicId of report.lost) {
        const saved = await newMaster.hexists(keys.conversation(conversationOf(topicId)), 'data');
        if (saved === 1) lostWithSnapshot.push(topicId);
      }
      const count = (prefix: string) => countLogged(daemons, prefix);
      const ends = outcomes(messages);
      publishFigures(figures, report, {
        conversations: CONVERSATIONS,
        replicationDelayMs,
        waitReplicas,
        daemons: daemons.length,
        finishedAtKill: atKill.finished,
        activeAtKill: atKill.active,
        outboxAtKill: atKill.outbox,
        killToPromotionMs: promotion.waitedMs,
        witnessAcksPerSecond: Math.round(witnessRate),
        witnessAckedBeforeKill: ackedBeforeKill.length,
        witnessLostAcks: lostAcks.length,
        witnessLostWindowMs: lostWindowMs,
        adoptions: count('adopting orphaned conversation'),
        writesRefusedByFence: count('a newer owner holds this conversation'),
        copiesLetGo: count('could not persist conversation'),
        replicaShortfallWarnings: count('fewer Redis replicas than REDIS_WAIT_REPLICAS'),
        daemonExits: daemons.reduce((sum, d) => sum + d.exits.length, 0),
        settleAfterPromotionMs: settleMs ?? -1,
        lostWithoutSnapshot: report.lost.length - lostWithSnapshot.length,
        statusExit: status.code ?? -1,
        ...outcomeFigures(ends),
      });

      // The replica was behind the delaying proxy (or the primary itself) until the end.
      expect(upstreamAtKill).toBe(set.upstreamPort);
      expect(promotion.address).toBe(`127.0.0.1:${set.replicas[0]!.port}`);
      // Some work was left when the primary died.
      expect(atKill.finished).toBeLessThan(CONVERSATIONS);
      // The daemons rode out the failover without exiting; a command run by hand found the new master.
      expect(daemons.every((daemon) => daemon.up && daemon.exits.length === 0)).toBe(true);
      expect(status.code).toBe(0);
      // The fence held and consumers deduplicating by event id see each event once.
      expect(report.staleWrites).toEqual([]);
      expect(report.unexpected).toEqual([]);
      expect(report.duplicateAfterDedup).toBe(0);
      // Every conversation the new master holds was resumed and finished.
      expect(lostWithSnapshot).toEqual([]);
      if (replicationDelayMs === 0) {
        // Nothing acknowledged was lost with the primary, and nothing of the conversations either.
        expect(lostAcks).toEqual([]);
        expect(settleMs).not.toBeNull();
        expect(report.lost).toEqual([]);
        expect(report.stuck).toEqual([]);
        expect(report.lostTurns).toEqual([]);
        expect(report.forked).toEqual([]);
        expect(report.conflictingFinals).toEqual([]);
      } else if (waitReplicas > 0) {
        // Acknowledged writes were lost, but no topic had been let go and no event published before the
        // replica held what they follow from: every conversation finished, and once.
        expect(lostAcks.length).toBeGreaterThan(0);
        expect(report.lost).toEqual([]);
        expect(report.stuck).toEqual([]);
        expect(report.conflictingFinals).toEqual([]);
        expect(report.forked).toEqual([]);
        expect(report.lostTurns).toEqual([]);
      } else {
        // Acknowledged writes were lost with the primary (else this run would show nothing), and what they
        // cost is confined to conversations in flight when it died: at most one per slot.
        expect(lostAcks.length).toBeGreaterThan(0);
        expect(report.lost.length).toBeLessThanOrEqual(daemons.length * MAX_CONCURRENT);
      }
    },
  );
});
