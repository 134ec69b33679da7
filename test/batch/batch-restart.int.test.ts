/**
 * A `chimera run` daemon in batch mode (a child process, real Redis and Kafka, the real SDKs against the
 * fake server) SIGKILLed while three batches are out, then started again: its batches are adopted once
 * their lease lapses, every conversation finishes, and no custom id is ever submitted twice.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import type { ConversationEvent } from '../../src/events.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { type DaemonProcess, startDaemon } from '../cli/run-process.js';
import { produce } from '../faults/support/kafka-io.js';
import { collectEvents, deleteKeys, fakeProviderEnv, uniqueNames, until } from '../support/infra.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

const CONVERSATIONS = 30;
const TURNS = 4;

function batchCreates(server: FakeProviderServer): number {
  return server
    .requests()
    .filter(
      (r) =>
        r.method === 'POST' && (r.path === '/v1/messages/batches' || /:batchGenerateContent$/.test(r.path)),
    ).length;
}

describe('a daemon in batch mode killed with batches out', () => {
  it('SIGKILLed with three batches out and restarted: every conversation finishes, each custom id submitted exactly once', async () => {
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await startFakeProviderServer();
    cleanups.push(() => server.close());
    // Long enough that the three batches of the first round are still out when the daemon dies.
    server.setBatchBehaviour({ delayMs: 4_000 });
    const env = {
      REDIS_URL: inject('redisUrl'),
      KAFKA_BOOTSTRAP_SERVERS: inject('kafkaBrokers'),
      ...names.env,
      ...fakeProviderEnv(server),
      CONVERSATION_PROVIDERS: 'anthropic,gemini',
      MAX_CONVERSATION_TURNS: String(TURNS),
      MIN_CONVERSATION_TURNS: String(TURNS),
      MAX_CONCURRENT_CONVERSATIONS: '100',
      PROVIDER_MODE: 'batch',
      // Ten requests a batch: the first round of 30 goes out as three batches.
      BATCH_MAX_REQUESTS: '10',
      BATCH_COLLECT_SECONDS: '1',
      BATCH_POLL_SECONDS: '1',
      LEASE_TTL_SECONDS: '3',
    };
    const daemons: DaemonProcess[] = [];
    cleanups.push(async () => {
      for (const d of daemons) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    });
    const first = startDaemon(['--http-port', '0', '--drain-timeout', '2'], env);
    daemons.push(first);
    await first.httpPort(90_000);

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.push(() => reader.stop());
    const ids = Array.from({ length: CONVERSATIONS }, (_, i) => `restart-${names.id}-${i}`);
    await produce(
      inject('kafkaBrokers'),
      names.env.KAFKA_TOPIC_INPUT,
      ids.map((id, i) => ({
        key: id,
        value: JSON.stringify({ id, title: `Restart topic ${i}: tidal energy` }),
      })),
    );

    await until(() => batchCreates(server) >= 3, 60_000, 'three batches out');
    // Time for the provider's batch ids to be recorded on the intents (the one window docs/batch.md names).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const outAtKill = batchCreates(server);
    expect(outAtKill).toBe(3);
    expect(reader.ended()).toHaveLength(0);
    first.child.kill('SIGKILL');
    await first.exited;

    const second = startDaemon(['--http-port', '0', '--drain-timeout', '2'], env);
    daemons.push(second);
    await second.httpPort(90_000);
    await until(() => reader.ended().length >= CONVERSATIONS, 150_000, 'every conversation ended');

    const ended = reader.ended() as Array<Extract<ConversationEvent, { type: 'conversation.ended' }>>;
    const byId = new Map(ended.map((e) => [e.conversationId, e.record]));
    expect(byId.size).toBe(CONVERSATIONS);
    for (const record of byId.values()) {
      expect(record.status).toBe('ended');
      expect(record.turns.map((t) => t.index)).toEqual([0, 1, 2, 3]);
      expect(record.turns.every((t) => t.batch === true)).toBe(true);
    }
    // The witness: every custom id the server saw was submitted exactly once and answered once.
    const customIds = server.batchCustomIds();
    expect(customIds).toHaveLength(CONVERSATIONS * TURNS);
    for (const id of customIds)
      expect({ id: id.customId, submitted: id.submitted, succeeded: id.succeeded }).toEqual({
        id: id.customId,
        submitted: 1,
        succeeded: 1,
      });
    expect(server.requests().filter((r) => r.operation === 'generate')).toHaveLength(0);
    second.child.kill('SIGTERM');
    await second.exitWithin(30_000);
  }, 300_000);
});
