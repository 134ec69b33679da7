/**
 * `chimera generate` resumed after it was killed: real processes against the wire-level fake provider
 * server, which logs every model call by its Idempotency-Key (conversation, turn, generation) as the
 * independent witness of what was paid for. No key may reach it twice: an answered call is not sent again
 * (its answer is in the journal), and a call in flight at a kill is recorded as lost and its turn asked
 * for under the next generation.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ConversationRecord, conversationRecordSchema } from '../../src/events.js';
import { decodeSegment } from '../../src/services/journal/frame.js';
import {
  applyRecord,
  emptyJournalState,
  type JournalRecord,
  type JournalState,
} from '../../src/services/journal/state.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { runCli, spawnCli } from '../support/cli.js';
import { deleteKeys, fakeProviderEnv, uniqueNames, until } from '../support/infra.js';

const TOPICS = ['Offshore wind', 'Tidal power', 'Geothermal heat'];
const COPIES = 2;
const CONVERSATIONS = TOPICS.length * COPIES;
const TURNS = 4;
const MAX_CONCURRENT = 3;

let fake: FakeProviderServer;
const dirs: string[] = [];
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  // Each call takes a while, so a kill at a random moment finds calls in flight.
  fake = await startFakeProviderServer({ latencyMs: 150 });
});
afterAll(async () => {
  await fake.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

function workDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chimera-resume-'));
  dirs.push(dir);
  return dir;
}

function generateArgs(out: string, extra: string[] = []): string[] {
  return [
    'generate',
    ...TOPICS.flatMap((t) => ['--topic', t]),
    '--conversations',
    String(COPIES),
    '--provider',
    'anthropic',
    '--out',
    out,
    ...extra,
  ];
}

function runEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...fakeProviderEnv(fake),
    MAX_CONVERSATION_TURNS: String(TURNS),
    MIN_CONVERSATION_TURNS: String(TURNS),
    MAX_CONCURRENT_CONVERSATIONS: String(MAX_CONCURRENT),
    ...extra,
  };
}

/** Model calls the fake server received, per Idempotency-Key. */
function sentByKey(): Map<string, number> {
  return new Map(fake.requestKeys().map((k) => [k.key, k.sent]));
}

const totalSent = () => fake.requestKeys().reduce((sum, k) => sum + k.sent, 0);

/** What a killed run had made durable: answers (by key) and finished conversations. */
interface Durable {
  answered: Set<string>;
  finished: Set<string>;
}

/** Reads the journal's segment as the next process will, without opening (locking or writing) it. */
function readJournal(dir: string): JournalState {
  const state = emptyJournalState();
  const segment = readdirSync(dir)
    .filter((name) => /^segment-\d{12}\.log$/.test(name))
    .sort()
    .at(-1);
  if (!segment) return state;
  const decoded = decodeSegment(readFileSync(join(dir, segment)), segment);
  for (const record of decoded.records as JournalRecord[]) applyRecord(state, record);
  return state;
}

function durableInJournal(dir: string): Durable {
  const state = readJournal(dir);
  const answered = new Set<string>();
  for (const [c, turns] of state.turns) for (const k of turns.keys()) answered.add(`${c}:${k}`);
  const finished = new Set<string>();
  for (const [id, entry] of state.conversations)
    if (entry.status !== undefined && entry.status !== 'active') finished.add(id);
  return { answered, finished };
}

async function durableInRedis(prefix: string, conversations: Iterable<string>): Promise<Durable> {
  const redis = new Redis(inject('redisUrl'));
  try {
    const answered = new Set<string>();
    for (const c of conversations) {
      for (const field of Object.keys(await redis.hgetall(`${prefix}:turns:{${c}}`)))
        answered.add(`${c}:${field}`);
    }
    const finished = new Set<string>();
    for (const status of ['ended', 'failed', 'timedOut'] as const) {
      for (const id of await redis.zrange(snapshotKeys(prefix).finished(status), '0', '-1')) finished.add(id);
    }
    return { answered, finished };
  } finally {
    await redis.quit();
  }
}

interface Kill {
  /** Calls per key the fake server had received when the process was dead. */
  sent: Map<string, number>;
  durable: Durable;
}

/**
 * Starts `generate`, lets it make `minCalls` more model calls plus a random moment, and ends it with
 * `signal`; returns what the fake server had received and what the run had made durable by then.
 */
async function interrupt(
  args: string[],
  env: Record<string, string>,
  signal: NodeJS.Signals,
  durable: () => Promise<Durable>,
): Promise<Kill & { code: number | null }> {
  const before = totalSent();
  const child = spawnCli(args, { env });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const minCalls = 2 + Math.floor(Math.random() * 4);
  await until(
    () => totalSent() >= before + minCalls || child.exitCode !== null,
    60_000,
    `${minCalls} model calls (stderr: ${stderr})`,
  );
  expect(child.exitCode, `the run ended before it was interrupted: ${stderr}`).toBeNull();
  await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 400)));
  child.kill(signal);
  const code = await exited;
  return { code, sent: sentByKey(), durable: await durable() };
}

/** The Idempotency-Key of a conversation's call: `conversation:turn:generation`. */
const callKey = (conversationId: string, turnIndex: number, generation: number) =>
  `${conversationId}:${turnIndex}:${generation}`;

/**
 * The witness's verdict on a run interrupted by `kills`, given its records: no (conversation, turn,
 * generation) reached the fake server twice; every call in flight at an interruption (sent, its answer not
 * durable, its conversation not finished) is in its record as lost, and its turn was asked for again under
 * another generation; and besides the lost calls, each conversation made exactly one call per kept turn.
 */
function expectNoCallSentTwice(kills: Kill[], records: ConversationRecord[]) {
  const final = sentByKey();
  for (const [key, sent] of final) expect(sent, `${key} reached the fake server ${sent} times`).toBe(1);

  const lost = new Set(
    records.flatMap((r) =>
      (r.lostCalls ?? []).map((l) => callKey(r.conversationId, l.turnIndex, l.generation)),
    ),
  );
  for (const [i, kill] of kills.entries()) {
    for (const key of kill.sent.keys()) {
      const conversation = key.replace(/:\d+:\d+$/, '');
      if (kill.durable.answered.has(key) || kill.durable.finished.has(conversation)) continue;
      expect(lost.has(key), `${key} was in flight at interruption ${i + 1} and is not recorded as lost`).toBe(
        true,
      );
    }
  }
  for (const record of records) {
    const kept = [...final.keys()]
      .filter((key) => key.startsWith(`${record.conversationId}:`) && !lost.has(key))
      .map((key) => Number(/:(\d+):\d+$/.exec(key)![1]))
      .sort((a, b) => a - b);
    expect(kept, `${record.conversationId}: one call per kept turn`).toEqual(
      record.turns.map((t) => t.index),
    );
  }
  const lostSent = [...lost].filter((key) => final.has(key)).length;
  expect(final.size).toBe(CONVERSATIONS * TURNS + lostSent);
  return { keys: final.size, lost: lost.size, lostSent };
}

/** The output holds each conversation exactly once, whole lines only, every one ended. */
function expectEachConversationOnce(out: string) {
  const text = readFileSync(out, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  const records = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => conversationRecordSchema.parse(JSON.parse(line)));
  const ids = records.map((r) => r.conversationId);
  expect(new Set(ids).size, `duplicates in ${ids.join(', ')}`).toBe(ids.length);
  expect(ids).toHaveLength(CONVERSATIONS);
  for (const record of records) {
    expect(record.status).toBe('ended');
    expect(record.turns).toHaveLength(TURNS);
  }
  // Every conversation the fake server served is in the output, and nothing else.
  const served = new Set(fake.requestKeys().map((k) => k.conversationId));
  expect(new Set(ids)).toEqual(served);
  return records;
}

describe('chimera generate resumes after an interruption', () => {
  it('killed with SIGKILL three times at random moments, then rerun: each conversation once, no (conversation, turn, generation) sent twice', async () => {
    fake.reset();
    const dir = workDir();
    const out = join(dir, 'data.jsonl');
    const args = generateArgs(out);
    const env = runEnv();
    const kills: Kill[] = [];
    for (let i = 0; i < 3; i++) {
      const kill = await interrupt(args, env, 'SIGKILL', async () => durableInJournal(`${out}.journal`));
      kills.push(kill);
    }
    const last = await runCli(args, { env, timeoutMs: 120_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toMatch(/resuming run [0-9a-f]{12} from .*data\.jsonl\.journal/);
    const records = expectEachConversationOnce(out);
    const verdict = expectNoCallSentTwice(kills, records);
    console.log(
      `SIGKILL x3: ${verdict.keys} calls sent, ${verdict.lost} lost in flight (${verdict.lostSent} of them had reached the server)`,
    );
    // Each lost call is recorded with what it may have cost: its worst case, priced (claude-sonnet-5-5).
    for (const record of records)
      for (const lost of record.lostCalls ?? []) expect(lost.worstCaseMicros).toBeGreaterThan(0);

    // Run again once finished: nothing left to do, nothing sent, nothing written twice.
    const sent = totalSent();
    const again = await runCli(args, { env, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain(`${CONVERSATIONS} conversations already written`);
    expect(totalSent()).toBe(sent);
    expectEachConversationOnce(out);
  });

  it('interrupted with Ctrl-C (SIGINT), then rerun: it continues where it stopped', async () => {
    fake.reset();
    const dir = workDir();
    const out = join(dir, 'data.jsonl');
    const args = generateArgs(out);
    const env = runEnv();
    const kill = await interrupt(args, env, 'SIGINT', async () => durableInJournal(`${out}.journal`));
    expect(kill.code).toBe(130);
    const last = await runCli(args, { env, timeoutMs: 120_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toContain('resuming run');
    expectNoCallSentTwice([kill], expectEachConversationOnce(out));
  });

  it('--fresh discards the journal and starts over; a journal of other inputs is refused with exit 2', async () => {
    fake.reset();
    const dir = workDir();
    const out = join(dir, 'data.jsonl');
    const env = runEnv();
    const first = await runCli(generateArgs(out), { env, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    expectEachConversationOnce(out);

    const other = await runCli([...generateArgs(out), '--topic', 'Solar thermal'], { env });
    expect(other.code).toBe(2);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    expect(other.stderr).toMatch(
      /run journal in .*data\.jsonl\.journal belongs to run [0-9a-f]{12}, made with other topics or flags/,
    );
    const named = await runCli(generateArgs(out, ['--run-id', 'another-run']), { env });
    expect(named.code).toBe(2);
    expect(named.stderr).toMatch(/belongs to run [0-9a-f]{12}, not another-run/);
    expectEachConversationOnce(out); // untouched by the refused runs

    const fresh = await runCli(generateArgs(out, ['--fresh']), { env, timeoutMs: 120_000 });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(fresh.stderr).not.toContain('resuming');
    expectEachConversationOnce(out);
    // Every call made again: the journal's answers were discarded with it.
    for (const key of fake.requestKeys()) expect(key.sent, key.key).toBe(2);
  });

  it('with Redis configured, a run killed with SIGKILL resumes through Redis', async () => {
    fake.reset();
    const names = uniqueNames();
    cleanups.push(() => deleteKeys(names.prefix));
    const dir = workDir();
    const out = join(dir, 'data.jsonl');
    const args = generateArgs(out);
    // A dead process's leases lapse after LEASE_TTL_SECONDS; then the rerun adopts its conversations.
    const env = runEnv({
      REDIS_URL: inject('redisUrl'),
      REDIS_KEY_PREFIX: names.prefix,
      LEASE_TTL_SECONDS: '2',
    });
    const kills: Kill[] = [];
    for (let i = 0; i < 2; i++) {
      kills.push(
        await interrupt(args, env, 'SIGKILL', () =>
          durableInRedis(names.prefix, new Set(fake.requestKeys().map((k) => k.conversationId!))),
        ),
      );
    }
    const last = await runCli(args, { env, timeoutMs: 120_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(last.stderr).toContain('resuming run');
    const records = expectEachConversationOnce(out);
    expectNoCallSentTwice(kills, records);
    // The conversations are this run's, in Redis: their topic ids carry the run id.
    const runId = /resuming run (\S+) from/.exec(last.stderr)![1]!;
    for (const record of records) expect(record.topic.id).toContain(`@${runId}`);
  });
});
