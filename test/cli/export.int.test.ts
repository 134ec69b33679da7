import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import {
  type ConversationEvent,
  type ConversationRecord,
  conversationRecordSchema,
} from '../../src/events.js';
import { CONVERSATION_MACHINE_VERSION } from '../../src/machines/conversation.js';
import { SNAPSHOT_SCHEMA_VERSION } from '../../src/persistence/snapshot-codec.js';
import { parseJsonl, runCli } from '../support/cli.js';
import { configFor, deleteKeys, infraEnv, startChimera, uniqueNames, until } from '../support/infra.js';

/**
 * One in-process daemon on real Redis and Kafka produces five conversations; then a few hand-made records
 * join them: a repeat of a final event (at-least-once delivery), a low-quality record and a failed one on
 * Kafka; a failed and an unreadable snapshot in Redis. `chimera export` runs as a child process against
 * the same environment.
 */
const names = uniqueNames();
const env = infraEnv({ ...names.env, MAX_CONVERSATION_TURNS: '4', MIN_CONVERSATION_TURNS: '2' });
let chimera: Chimera;
let produced: ConversationRecord[] = [];
let dir: string;

const LOW_QUALITY_ID = 'c-low-quality';
const FAILED_ID = 'c-failed-on-kafka';
const REDIS_FAILED_ID = 'c-failed-in-redis';
const REDIS_UNREADABLE_ID = 'c-unreadable-in-redis';
const REDIS_CORRUPT_ID = 'c-corrupt-turns-in-redis';

function endedEvent(record: ConversationRecord): ConversationEvent {
  const type = record.status === 'ended' ? 'conversation.ended' : 'conversation.failed';
  return {
    type,
    eventId: `${record.conversationId}:${type}`,
    conversationId: record.conversationId,
    occurredAt: record.endedAt,
    record,
  };
}

async function publishEvents(events: ConversationEvent[]): Promise<void> {
  const kafka = new kafkajs.Kafka({ brokers: [inject('kafkaBrokers')], logLevel: kafkajs.logLevel.NOTHING });
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: names.env.KAFKA_TOPIC_EVENTS,
      messages: events.map((e) => ({ key: e.conversationId, value: JSON.stringify(e) })),
    });
  } finally {
    await producer.disconnect();
  }
}

/** Writes a finished snapshot straight through the store, as a daemon would. */
async function saveFinished(conversationId: string, snapshot: unknown): Promise<void> {
  const store = chimera.parts.store;
  const lease = await store.acquireLease(conversationId, 'export-test', 10_000);
  if (!lease) throw new Error(`could not lease ${conversationId}`);
  await store.save(
    lease,
    {
      schemaVersion: SNAPSHOT_SCHEMA_VERSION,
      machineVersion: CONVERSATION_MACHINE_VERSION,
      status: 'failed',
      snapshot,
      updatedAt: Date.now(),
    },
    [],
  );
}

async function exportTo(file: string, args: string[]) {
  const result = await runCli(['export', ...args, '--out', join(dir, file)], { env });
  const written = await readFile(join(dir, file), 'utf8').catch(() => '');
  const lines = parseJsonl(written);
  return { ...result, lines };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chimera-export-'));
  chimera = await startChimera(configFor(env), { intake: 'none' });
  const ids = await Promise.all(
    Array.from({ length: 5 }, (_, i) =>
      chimera.startNewConversation({ id: `export-${i}`, title: `Export topic ${i}: tidal power` }),
    ),
  );
  produced = await Promise.all(ids.map((id) => chimera.waitFor(id, 60_000)));
  await until(
    async () => (await chimera.parts.store.outboxSize()) === 0,
    30_000,
    'the outbox relayed to Kafka',
  );

  const template = produced[0]!;
  const lowQuality: ConversationRecord = {
    ...template,
    conversationId: LOW_QUALITY_ID,
    quality: { ...template.quality, score: 0.05 },
  };
  const failed: ConversationRecord = {
    ...template,
    conversationId: FAILED_ID,
    status: 'failed',
    terminationReason: 'provider_failed',
    error: { code: 'quota_exhausted', message: 'spend limit reached' },
  };
  await publishEvents([endedEvent(produced[1]!), endedEvent(lowQuality), endedEvent(failed)]);

  const { conversationId: _id, ...rest } = template;
  await saveFinished(REDIS_FAILED_ID, {
    status: 'done',
    value: 'failed',
    context: {
      ...rest,
      conversationId: REDIS_FAILED_ID,
      status: 'failed',
      terminationReason: 'provider_failed',
      nudge: false,
      nudges: 0,
      settings: { maxTurns: 4, minTurns: 2, timeoutMs: 300_000, maxTokensPerTurn: 1024, temperature: 0.8 },
    },
  });
  await saveFinished(REDIS_UNREADABLE_ID, null);
  // Shaped like a conversation, but a turn is null: turning it into a record threw and aborted the export.
  await saveFinished(REDIS_CORRUPT_ID, {
    status: 'done',
    value: 'failed',
    context: { ...rest, conversationId: REDIS_CORRUPT_ID, status: 'failed', turns: [null] },
  });
}, 120_000);

afterAll(async () => {
  await chimera?.stop();
  await deleteKeys(names.prefix);
  await rm(dir, { recursive: true, force: true });
});

describe('chimera export', () => {
  it('from kafka: every conversation that ended, once each, with a summary counting the repeat and the failed one', async () => {
    const result = await exportTo('kafka.jsonl', ['--from', 'kafka', '--format', 'chimera']);
    expect(result.code, result.stderr).toBe(0);
    const records = result.lines.map((line) => conversationRecordSchema.parse(line));
    expect(records.map((r) => r.conversationId).sort()).toEqual(
      [...produced.map((r) => r.conversationId), LOW_QUALITY_ID].sort(),
    );
    const exported = records.find((r) => r.conversationId === produced[2]!.conversationId);
    expect(exported).toEqual(produced[2]);
    expect(result.stderr).toContain(
      'exported 6 conversations (0 skipped below min quality, 1 duplicate, 1 failed left out',
    );
  });

  it('from kafka with --min-quality: records scoring below it are left out and counted', async () => {
    const threshold = 0.5;
    const result = await exportTo('kafka-quality.jsonl', [
      '--from',
      'kafka',
      '--min-quality',
      String(threshold),
    ]);
    expect(result.code, result.stderr).toBe(0);
    const records = result.lines.map((line) => conversationRecordSchema.parse(line));
    for (const record of records) expect(record.quality.score).toBeGreaterThanOrEqual(threshold);
    const expected = produced.filter((r) => r.quality.score >= threshold).map((r) => r.conversationId);
    expect(records.map((r) => r.conversationId).sort()).toEqual(expected.sort());
    const below = produced.length + 1 - expected.length;
    expect(result.stderr).toContain(`(${below} skipped below min quality, 1 duplicate`);
  });

  it('from kafka with --include-failed in the openai format: the failed conversation is in, as chat examples', async () => {
    const result = await exportTo('kafka-openai.jsonl', [
      '--from',
      'kafka',
      '--format',
      'openai',
      '--include-failed',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.lines).toHaveLength(7);
    for (const line of result.lines) {
      const { messages } = line as { messages: Array<{ role: string; content: string }> };
      expect(messages[0]!.role).toBe('system');
      expect(messages.at(-1)!.role).toBe('assistant');
    }
    expect(result.stderr).toContain('exported 7 conversations (0 skipped below min quality, 1 duplicate)');
  });

  it('from redis: the finished conversations from the index, the same records the daemon published', async () => {
    const result = await exportTo('redis.jsonl', ['--from', 'redis', '--format', 'chimera']);
    expect(result.code, result.stderr).toBe(0);
    const records = result.lines.map((line) => conversationRecordSchema.parse(line));
    expect(records.map((r) => r.conversationId).sort()).toEqual(produced.map((r) => r.conversationId).sort());
    for (const record of records) {
      expect(record).toEqual(produced.find((p) => p.conversationId === record.conversationId));
    }
    expect(result.stderr.trim()).toBe('exported 5 conversations (0 skipped below min quality, 0 duplicates)');
  });

  it('from redis with --include-failed: failed snapshots are read too; unreadable ones (a null turn among them) are skipped, named, and the exit code is 1', async () => {
    const result = await exportTo('redis-failed.jsonl', [
      '--from',
      'redis',
      '--format',
      'sharegpt',
      '--include-failed',
    ]);
    // Everything readable is written; the skipped records make the run fail at the end, not abort it.
    expect(result.code, result.stderr).toBe(1);
    expect(result.lines).toHaveLength(6);
    for (const line of result.lines) {
      const { conversations } = line as { conversations: Array<{ from: string }> };
      expect(conversations.map((c) => c.from).slice(0, 2)).toEqual(['system', 'human']);
    }
    const [summary, skipped, ...rest] = result.stderr.trim().split('\n');
    expect(summary).toBe(
      'exported 6 conversations (0 skipped below min quality, 0 duplicates); 2 unreadable snapshots skipped',
    );
    expect(skipped!.startsWith('unreadable snapshots skipped: ')).toBe(true);
    expect(skipped!.slice('unreadable snapshots skipped: '.length).split(', ').sort()).toEqual(
      [REDIS_CORRUPT_ID, REDIS_UNREADABLE_ID].sort(),
    );
    expect(rest).toEqual([]);
  });

  it('to stdout when no --out is given', async () => {
    const result = await runCli(['export', '--from', 'redis', '--format', 'openai'], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(parseJsonl(result.stdout)).toHaveLength(5);
  });
});
