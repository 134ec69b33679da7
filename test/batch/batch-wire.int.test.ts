/**
 * Batch mode end to end over the wire: real Redis and Kafka, the real Anthropic and Gemini SDKs (their
 * batch APIs, through the provider factory's adapters) against the fake provider server's batch APIs. The
 * server prices what it answered from its own list, at the batch discount, so its bill is the witness.
 *
 * The large run is 40 conversations of 6 turns in `npm test`; `BATCH_WIRE_CONVERSATIONS=200` runs the full
 * size (it passes on its own; alongside the restart test at 200 one conversation was once seen not to finish
 * within 240 s, not yet explained: see docs/batch.md).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import type { ConversationRecord } from '../../src/events.js';
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

const CONVERSATIONS = Number(process.env.BATCH_WIRE_CONVERSATIONS ?? 40);
const TURNS = 6;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

async function fakeServer(): Promise<FakeProviderServer> {
  const server = await startFakeProviderServer();
  cleanups.push(() => server.close());
  return server;
}

async function daemon(env: Record<string, string>): Promise<Chimera> {
  const chimera = await startChimera(configFor(env), { intake: 'none' });
  cleanups.push(() => chimera.stop());
  return chimera;
}

function runEnv(server: FakeProviderServer, names: ReturnType<typeof uniqueNames>, mode: 'batch' | 'online') {
  return infraEnv({
    ...names.env,
    ...fakeProviderEnv(server),
    CONVERSATION_PROVIDERS: 'anthropic,gemini',
    MAX_CONVERSATION_TURNS: String(TURNS),
    MIN_CONVERSATION_TURNS: String(TURNS),
    MAX_CONCURRENT_CONVERSATIONS: String(CONVERSATIONS + 10),
    PROVIDER_MODE: mode,
    BATCH_COLLECT_SECONDS: '1',
    BATCH_POLL_SECONDS: '1',
  });
}

/** Batches the server was asked to create (Anthropic's `POST /v1/messages/batches`, Gemini's `:batchGenerateContent`). */
function batchCreates(server: FakeProviderServer): number {
  return server
    .requests()
    .filter(
      (r) =>
        r.method === 'POST' && (r.path === '/v1/messages/batches' || /:batchGenerateContent$/.test(r.path)),
    ).length;
}

const topics = Array.from({ length: CONVERSATIONS }, (_, i) => ({
  id: `wire-${i}`,
  title: `Topic ${i}: how tidal lagoons store energy`,
}));

describe('batch mode over the real SDKs against the fake server', () => {
  it(`${CONVERSATIONS} conversations of ${TURNS} turns: in order, within the batch bound, the ledger equals the bill, at most 52% of online`, async () => {
    // Batch mode.
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const server = await fakeServer();
    const chimera = await daemon(runEnv(server, names, 'batch'));
    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.push(() => reader.stop());
    const ids = await Promise.all(topics.map((topic) => chimera.startNewConversation(topic)));
    const records: ConversationRecord[] = await Promise.all(ids.map((id) => chimera.waitFor(id, 240_000)));

    for (const record of records) {
      expect(record.status).toBe('ended');
      expect(record.turns.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
      expect(record.turns.map((t) => t.provider)).toEqual([
        'anthropic',
        'gemini',
        'anthropic',
        'gemini',
        'anthropic',
        'gemini',
      ]);
      expect(record.turns.every((t) => t.batch === true)).toBe(true);
    }
    // Kafka saw every final record.
    await until(() => reader.ended().length >= CONVERSATIONS, 60_000, 'every conversation.ended on Kafka');

    // Nothing went online; every request went through a batch, each custom id exactly once.
    expect(server.requests().filter((r) => r.operation === 'generate')).toHaveLength(0);
    const customIds = server.batchCustomIds();
    expect(customIds).toHaveLength(CONVERSATIONS * TURNS);
    for (const id of customIds)
      expect({ id: id.customId, submitted: id.submitted, succeeded: id.succeeded }).toEqual({
        id: id.customId,
        submitted: 1,
        succeeded: 1,
      });

    // docs/batch.md: six turn rounds, three per side; a round is one batch, a straggler at most one more.
    const batches = batchCreates(server);
    expect(batches).toBeGreaterThanOrEqual(TURNS);
    expect(batches).toBeLessThanOrEqual(2 * TURNS);

    // The ledger equals the bill, which is entirely at batch prices.
    const bill = server.bill();
    expect(bill.unpricedRequests).toBe(0);
    expect(bill.lines.length).toBeGreaterThan(0);
    for (const line of bill.lines) expect(line.batch).toBe(true);
    expect(sum(bill.lines.map((l) => l.requests))).toBe(CONVERSATIONS * TURNS);
    expect(sum(records.map((r) => r.cost!.micros))).toBe(bill.totalMicros);
    expect(sum(records.flatMap((r) => r.turns.map((t) => t.cost!.micros)))).toBe(bill.totalMicros);
    expect((await chimera.parts.spending.snapshot()).spentMicros).toBe(bill.totalMicros);

    // The same topics online, against a fresh server.
    const onlineNames = uniqueNames();
    cleanups.push(() => deleteKeys(onlineNames.prefix));
    const onlineServer = await fakeServer();
    const online = await daemon(runEnv(onlineServer, onlineNames, 'online'));
    const onlineRecords = await Promise.all(
      (await Promise.all(topics.map((topic) => online.startNewConversation(topic)))).map((id) =>
        online.waitFor(id, 240_000),
      ),
    );
    for (const record of onlineRecords) expect(record.turns).toHaveLength(TURNS);
    const onlineBill = onlineServer.bill();
    expect(onlineBill.lines.every((l) => l.batch === undefined)).toBe(true);
    expect(bill.totalMicros).toBeLessThanOrEqual(Math.floor(onlineBill.totalMicros * 0.52));
    console.info(
      `batch bill ${bill.totalMicros} µ$, online bill ${onlineBill.totalMicros} µ$ (${((100 * bill.totalMicros) / onlineBill.totalMicros).toFixed(1)}%), ${batches} batches`,
    );
  }, 600_000);

  for (const side of ['anthropic', 'gemini'] as const) {
    it(`a ${side} batch with 10% errored and 5% expired requests: those go into the next batch once, nothing is lost or sent twice`, async () => {
      const conversations = 40;
      const other = side === 'anthropic' ? 'gemini' : 'anthropic';
      const names = uniqueNames();
      cleanups.push(() => deleteKeys(names.prefix));
      const server = await fakeServer();
      // Only the first batch has failures, so what each request went through is known exactly: the side
      // in batch mode speaks first, then the other side answers online and the conversation ends.
      server.setBatchBehaviour({
        delayMs: 1_500,
        errorRate: 0.1,
        expiredRate: 0.05,
        errorKind: 'server_error',
      });
      const env = {
        ...runEnv(server, names, 'online'),
        CONVERSATION_PROVIDERS: `${side},${other}`,
        [`${side.toUpperCase()}_MODE`]: 'batch',
        MAX_CONVERSATION_TURNS: '2',
        MIN_CONVERSATION_TURNS: '2',
      };
      const chimera = await daemon(env);
      const ids = await Promise.all(
        Array.from({ length: conversations }, (_, i) =>
          chimera.startNewConversation({ id: `flaky-${i}`, title: `Flaky topic ${i}: heat pumps` }),
        ),
      );
      const done = Promise.all(ids.map((id) => chimera.waitFor(id, 120_000)));
      await until(() => batchCreates(server) >= 1, 30_000, 'the first batch');
      server.setBatchBehaviour({});
      const records = await done;

      for (const record of records) {
        expect(record.status).toBe('ended');
        expect(record.turns.map((t) => `${t.index}:${t.provider}:${t.batch === true}`)).toEqual([
          `0:${side}:true`,
          `1:${other}:false`,
        ]);
      }
      // The first batch of 40: 4 errored and 2 expired, each carried once more by the next batch and
      // answered there; the other 34 submitted once. Nothing of the batch side went online.
      expect(batchCreates(server)).toBe(2);
      const customIds = server.batchCustomIds();
      expect(customIds).toHaveLength(conversations);
      expect(customIds.filter((c) => c.submitted === 2)).toHaveLength(6);
      expect(customIds.filter((c) => c.submitted === 1)).toHaveLength(conversations - 6);
      for (const id of customIds) expect(id.succeeded).toBe(1);
      const online = server.requests().filter((r) => r.operation === 'generate');
      expect(online).toHaveLength(conversations);
      expect(online.every((r) => r.dialect === other)).toBe(true);
      // Only answered requests are billed, and the ledger agrees with the bill.
      const bill = server.bill();
      expect(sum(bill.lines.filter((l) => l.batch).map((l) => l.requests))).toBe(conversations);
      expect(sum(records.map((r) => r.cost!.micros))).toBe(bill.totalMicros);
    }, 180_000);
  }
});
