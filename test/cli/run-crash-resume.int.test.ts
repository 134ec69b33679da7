/**
 * `chimera run` daemons on one Redis, SIGKILLed while model calls are in flight and replaced, against the
 * wire-level fake provider server, whose log of Idempotency-Keys (conversation, turn, generation) is the
 * independent witness: no key reaches it twice. A call in flight at a kill is recorded as lost in its
 * conversation's record, and its turn is asked for again by the daemon that adopts the conversation, under
 * the next generation.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConversationRecord, conversationIdFor, conversationRecordSchema } from '../../src/events.js';
import type { ConversationContext } from '../../src/machines/conversation.js';
import { toRecord } from '../../src/records.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { RedisSnapshotStore } from '../../src/services/redis/snapshot-store.js';
import { enqueueTopic } from '../../src/services/redis/topic-queue.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { deleteKeys, fakeProviderEnv, uniqueNames, until } from '../support/infra.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const CONVERSATIONS = 6;
const TURNS = 4;

let fake: FakeProviderServer;
const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  // Each call takes a while, so a kill finds calls in flight.
  fake = await startFakeProviderServer({ latencyMs: 150 });
});
afterAll(async () => {
  await fake.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const totalSent = () => fake.requestKeys().reduce((sum, k) => sum + k.sent, 0);

interface Kill {
  /** Keys the fake server had received when the daemon was dead. */
  sent: Set<string>;
  /** Keys whose answer was in the Redis turn cache, and conversations finished, at that moment. */
  answered: Set<string>;
  finished: Set<string>;
}

describe('chimera run SIGKILLed with calls in flight and replaced, through Redis', () => {
  it('no (conversation, turn, generation) reaches the provider twice; calls in flight at a kill are recorded as lost; each conversation ends once', async () => {
    fake.reset();
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const redis = new Redis(inject('redisUrl'));
    cleanups.push(() => redis.quit());
    const env = {
      ...fakeProviderEnv(fake),
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: names.prefix,
      REDIS_TOPIC_QUEUE: names.env.REDIS_TOPIC_QUEUE,
      // A dead daemon's leases lapse after this; then the next one adopts its conversations.
      LEASE_TTL_SECONDS: '2',
      MAX_CONVERSATION_TURNS: String(TURNS),
      MIN_CONVERSATION_TURNS: String(TURNS),
      MAX_CONCURRENT_CONVERSATIONS: '3',
    };
    const daemon = (): DaemonProcess => {
      const run = startDaemon(['--provider', 'anthropic', '--http-port', '0', '--drain-timeout', '5'], env);
      cleanups.push(async () => run.child.kill('SIGKILL'));
      return run;
    };
    const ids: string[] = [];
    for (let i = 0; i < CONVERSATIONS; i++) {
      const topic = { id: `${names.id}-crash-${i}`, title: `Crash topic ${i}: district heating` };
      await enqueueTopic(redis, names.env.REDIS_TOPIC_QUEUE, topic);
      ids.push(conversationIdFor(topic.id));
    }

    const durable = async (): Promise<Pick<Kill, 'answered' | 'finished'>> => {
      const answered = new Set<string>();
      for (const c of ids)
        for (const field of Object.keys(await redis.hgetall(`${names.prefix}:turns:{${c}}`)))
          answered.add(`${c}:${field}`);
      const finished = new Set<string>();
      for (const status of ['ended', 'failed', 'timedOut'] as const)
        for (const id of await redis.zrange(snapshotKeys(names.prefix).finished(status), '0', '-1'))
          finished.add(id);
      return { answered, finished };
    };

    const kills: Kill[] = [];
    for (let i = 0; i < 2; i++) {
      const before = totalSent();
      const run = daemon();
      const minCalls = 3 + Math.floor(Math.random() * 4);
      await until(() => totalSent() >= before + minCalls, 60_000, `${minCalls} model calls`);
      // Killed while a call is in flight: right after one more request reached the server.
      const sentNow = totalSent();
      await until(() => totalSent() > sentNow, 10_000, 'one more call sent');
      run.child.kill('SIGKILL');
      await run.exited;
      kills.push({ sent: new Set(fake.requestKeys().map((k) => k.key)), ...(await durable()) });
    }
    const last = daemon();
    await until(
      async () => (await durable()).finished.size === CONVERSATIONS,
      90_000,
      'every conversation finished',
    );

    const store = new RedisSnapshotStore({ url: inject('redisUrl'), keyPrefix: names.prefix });
    cleanups.push(() => store.close());
    const records: ConversationRecord[] = [];
    for (const id of ids) {
      const stored = await store.load(id);
      expect(stored, id).not.toBeNull();
      const context = (stored!.snapshot as { context: ConversationContext }).context;
      records.push(conversationRecordSchema.parse(toRecord(context, Date.now())));
    }
    for (const record of records) {
      expect(record.status, record.conversationId).toBe('ended');
      expect(record.turns).toHaveLength(TURNS);
    }

    // The witness: every key once.
    const sent = fake.requestKeys();
    for (const key of sent) expect(key.sent, `${key.key} reached the fake server ${key.sent} times`).toBe(1);
    const lost = new Set(
      records.flatMap((r) =>
        (r.lostCalls ?? []).map((l) => `${r.conversationId}:${l.turnIndex}:${l.generation}`),
      ),
    );
    // A call sent and not answered when its daemon died is recorded as lost.
    let inFlight = 0;
    for (const [i, kill] of kills.entries()) {
      for (const key of kill.sent) {
        const conversation = key.replace(/:\d+:\d+$/, '');
        if (kill.answered.has(key) || kill.finished.has(conversation)) continue;
        inFlight += 1;
        expect(lost.has(key), `${key} was in flight at kill ${i + 1} and is not recorded as lost`).toBe(true);
      }
    }
    // The kill came right after a request went out, so at least one call was in flight.
    expect(inFlight).toBeGreaterThan(0);
    console.log(
      `run SIGKILL x2: ${sent.length} calls sent, ${inFlight} in flight at kills, ${lost.size} recorded lost`,
    );
    // Besides the lost calls, one call per kept turn.
    for (const record of records) {
      const kept = sent
        .map((k) => k.key)
        .filter((key) => key.startsWith(`${record.conversationId}:`) && !lost.has(key))
        .map((key) => Number(/:(\d+):\d+$/.exec(key)![1]))
        .sort((a, b) => a - b);
      expect(kept, record.conversationId).toEqual(record.turns.map((t) => t.index));
    }
    last.child.kill('SIGTERM');
    await last.exitWithin(30_000);
  });
});
