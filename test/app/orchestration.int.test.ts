import kafkajs from 'kafkajs';
import { describe, expect, inject, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { EVENT_HEADERS } from '../../src/events.js';
import { RedisBreakerStateStore } from '../../src/services/redis/breaker-state-store.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import {
  collectEvents,
  configFor,
  deleteKeys,
  fakeProviderEnv,
  infraEnv,
  startChimera,
  turnTexts,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups = cleanupsAfterEach();

async function fakeServer(latencyMs = 0): Promise<FakeProviderServer> {
  const server = await startFakeProviderServer({ latencyMs });
  cleanups.add(() => server.close());
  return server;
}

async function daemon(
  env: Record<string, string>,
  options: Parameters<typeof startChimera>[1] = {},
): Promise<Chimera> {
  const chimera = await startChimera(configFor(env), options);
  cleanups.add(() => chimera.stop());
  return chimera;
}

describe('orchestration on real Redis and Kafka', () => {
  it('50 conversations between Anthropic and Gemini (fake server, real SDKs) end as 50 conversation.ended records', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
      MAX_CONCURRENT_CONVERSATIONS: '20',
    });
    const chimera = await daemon(env);
    const ids = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        chimera.startNewConversation({
          id: `topic-${i}`,
          title: `Topic ${i}: the economics of offshore wind`,
        }),
      ),
    );
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(() => reader.ended().length >= 50, 60_000, '50 ended records on the events topic');
    // Everything written is on the topic and read: the outbox is empty and the reader has every message
    // the relay delivered, so a duplicate final record would be counted below.
    await until(async () => (await chimera.parts.store.outboxSize()) === 0, 30_000, 'an empty outbox');
    await until(
      () => reader.raw.length >= chimera.parts.relay.delivered,
      30_000,
      'every delivered event read',
    );

    const ended = reader.events.filter((e) => e.type === 'conversation.ended');
    // Exactly one final record per conversation: none lost, none twice.
    expect(reader.ended()).toHaveLength(50);
    expect(ended.map((e) => e.conversationId).sort()).toEqual([...ids].sort());
    for (const event of ended) {
      if (event.type !== 'conversation.ended') continue;
      expect(event.record.providers).toEqual({ questioner: 'anthropic', answerer: 'gemini' });
      expect(event.record.simulated).toBe(false);
      expect(event.record.turns.length).toBeGreaterThan(0);
      for (const turn of event.record.turns) {
        expect(turn.provider).toBe(turn.index % 2 === 0 ? 'anthropic' : 'gemini');
        expect(turn.usage.outputTokens).toBeGreaterThan(0);
      }
    }
    // Every event is keyed by its conversation and carries id, type and fencing token headers.
    for (const message of reader.raw) {
      expect(message.headers[EVENT_HEADERS.conversationId]).toBe(message.key);
      expect(message.headers[EVENT_HEADERS.eventId]).toBeTruthy();
      expect(Number(message.headers[EVENT_HEADERS.fencingToken])).toBeGreaterThan(0);
    }
    expect(server.stats().byDialect.anthropic).toBeGreaterThan(0);
    expect(server.stats().byDialect.gemini).toBeGreaterThan(0);
    expect(await chimera.parts.store.outboxSize()).toBe(0);
  });

  it('conversations of an owner that died without releasing its leases are finished by a second instance', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer(60);
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      MAX_CONVERSATION_TURNS: '8',
      MIN_CONVERSATION_TURNS: '8',
      LEASE_TTL_SECONDS: '2',
    });
    const first = await startChimera(configFor(env), { intake: 'none' });
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        first.startNewConversation({ id: `crash-${i}`, title: `Crash topic ${i}` }),
      ),
    );
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(
      () => reader.events.filter((e) => e.type === 'turn.completed').length >= 20,
      30_000,
      'a few turns from the first owner',
    );
    await first.kill();
    const beforeTakeover = reader.ended().length;
    expect(beforeTakeover).toBeLessThan(10);

    await daemon(env, { intake: 'none' });
    await until(() => reader.ended().length >= 10, 60_000, 'every conversation finished by the second owner');

    const ended = reader.events.filter((e) => e.type === 'conversation.ended');
    expect(new Set(ended.map((e) => e.conversationId))).toEqual(new Set(ids));
    for (const event of ended) {
      if (event.type !== 'conversation.ended') continue;
      // No turn lost: indexes run 0..n-1 with alternating providers.
      expect(event.record.turns.map((t) => t.index)).toEqual(event.record.turns.map((_, i) => i));
    }
    // No turn forked: every (conversation, turn) that was announced carries one text.
    for (const [key, texts] of turnTexts(reader.events)) expect(texts.size, key).toBe(1);
    // Adopted conversations were written with a newer fencing token.
    const tokens = reader.raw
      .filter((m) => m.headers[EVENT_HEADERS.eventType] === 'conversation.ended')
      .map((m) => Number(m.headers[EVENT_HEADERS.fencingToken]));
    expect(tokens.some((t) => t >= 2)).toBe(true);
  });

  it("a stale owner's writes are rejected by the fence and its copy stops, without forking any turn", async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer(250);
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      MAX_CONVERSATION_TURNS: '12',
      MIN_CONVERSATION_TURNS: '12',
      LEASE_TTL_SECONDS: '2',
    });
    const stale = await daemon(env, { intake: 'none' });
    const ids = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        stale.startNewConversation({ id: `stale-${i}`, title: `Stale topic ${i}` }),
      ),
    );
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(() => reader.events.some((e) => e.type === 'turn.completed'), 30_000, 'first turns');
    // Frozen past its lease: it keeps working but stops renewing, so its leases lapse mid-conversation.
    stale.parts.leases.stopRenewal();
    await daemon(env, { intake: 'none' });
    await until(() => reader.ended().length >= ids.length, 60_000, 'every conversation finished');
    // The stale daemon may win some conversations back (its leases lapsed, so they were orphans anyone
    // could adopt), but every copy it ran with a superseded token was stopped by the fence.
    expect(stale.parts.supervisor.getSnapshot().context.lost).toBeGreaterThanOrEqual(1);
    // Exactly one final record per conversation, and no turn with two different texts.
    expect(
      reader
        .ended()
        .map((e) => e.conversationId)
        .sort(),
    ).toEqual([...ids].sort());
    for (const [key, texts] of turnTexts(reader.events)) expect(texts.size, key).toBe(1);
  });

  it('a provider failing every call while its breaker flaps fails each conversation after RETRY_MAX_ATTEMPTS calls, instead of retrying until the deadline', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    server.respond((entry) =>
      entry.operation === 'generate' && entry.dialect === 'anthropic'
        ? { type: 'status', status: 500, message: 'internal error' }
        : undefined,
    );
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
      CIRCUIT_BREAKER_COOLDOWN_SECONDS: '1',
      RETRY_MAX_ATTEMPTS: '3',
      RETRY_BASE_DELAY_MS: '10',
      CONVERSATION_TIMEOUT_SECONDS: '600',
    });
    const chimera = await daemon(env, { intake: 'none' });
    const ids = await Promise.all(
      Array.from({ length: 3 }, (_, i) =>
        chimera.startNewConversation({ id: `down-${i}`, title: `Provider down ${i}` }),
      ),
    );
    const records = await Promise.all(ids.map((id) => chimera.waitFor(id, 30_000)));
    for (const record of records) {
      expect(record.status).toBe('failed');
      expect(record.error?.code).toBe('server_error');
    }
    // Every real call counts against its turn's budget, probes included: three calls per conversation.
    const calls = server.requests().filter((r) => r.operation === 'generate' && r.dialect === 'anthropic');
    expect(calls).toHaveLength(3 * ids.length);
  });

  it('a malformed message on the input topic lands in the dead-letter topic with its reason, and intake goes on', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      MAX_CONVERSATION_TURNS: '2',
      MIN_CONVERSATION_TURNS: '1',
    });
    await daemon(env);
    const kafka = new kafkajs.Kafka({
      brokers: [inject('kafkaBrokers')],
      logLevel: kafkajs.logLevel.NOTHING,
    });
    const producer = kafka.producer();
    await producer.connect();
    cleanups.add(() => producer.disconnect());
    await producer.send({
      topic: names.env.KAFKA_TOPIC_INPUT,
      messages: [
        { key: 'bad', value: '{"title": "unterminated' },
        { key: 'good', value: JSON.stringify({ id: 'good-1', title: 'Solid-state batteries' }) },
      ],
    });
    const dead = await collectEvents(names.env.KAFKA_TOPIC_DEAD_LETTER);
    const events = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(
      () => dead.stop(),
      () => events.stop(),
    );
    await until(
      () => dead.raw.length >= 1 && events.ended().length >= 1,
      60_000,
      'a dead letter and an ended record',
    );
    expect(dead.raw[0]!.value).toBe('{"title": "unterminated');
    expect(dead.raw[0]!.headers[EVENT_HEADERS.deadLetterReason]).toMatch(/malformed_json/);
    expect(dead.raw[0]!.headers[EVENT_HEADERS.deadLetterTopic]).toBe(names.env.KAFKA_TOPIC_INPUT);
    expect(events.ended()[0]!.type).toBe('conversation.ended');
  });

  it('a running daemon reports its breaker states to Redis for chimera status', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const chimera = await daemon(infraEnv({ ...names.env, ...fakeProviderEnv(server) }), { intake: 'none' });
    await until(
      async () =>
        Object.keys(await new RedisBreakerStateStore(chimera.parts.redis!, names.prefix).readAll()).length >=
        2,
      10_000,
      'both breakers reported',
    );
    const states = await new RedisBreakerStateStore(chimera.parts.redis!, names.prefix).readAll();
    expect(states.anthropic?.state).toBe('closed');
    expect(states.gemini?.instance).toBe(chimera.owner);
  });

  it('a daemon with other sides adopts a conversation and goes on with the providers it started with', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const base = {
      ...names.env,
      LEASE_TTL_SECONDS: '2',
      MAX_CONVERSATION_TURNS: '10',
      MIN_CONVERSATION_TURNS: '10',
    };
    const first = await startChimera(
      configFor(
        infraEnv({ ...base, CONVERSATION_PROVIDERS: 'simulated,simulated', SIMULATED_LATENCY_MS: '150' }),
      ),
      { intake: 'none' },
    );
    const id = await first.startNewConversation({ id: 'cross-1', title: 'Grid-scale storage' });
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(() => reader.events.some((e) => e.type === 'turn.completed'), 20_000, 'a first turn');
    await first.kill();
    // The second daemon talks Anthropic <-> Gemini, but this conversation started simulated <-> simulated.
    await daemon(infraEnv({ ...base, ...fakeProviderEnv(server) }), { intake: 'none' });
    await until(() => reader.ended().length >= 1, 30_000, 'the adopted conversation to end');
    const [final] = reader.ended();
    expect(final!.conversationId).toBe(id);
    expect(final!.type).toBe('conversation.ended');
    if (final?.type === 'conversation.ended') {
      expect(final.record.turns.every((t) => t.provider === 'simulated')).toBe(true);
    }
  });
});
