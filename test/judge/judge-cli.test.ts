import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ConversationRecord, conversationRecordSchema, JUDGE_CRITERIA } from '../../src/events.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { record, turn } from '../export/fixtures.js';
import { parseJsonl, runCli } from '../support/cli.js';

/**
 * The judge end to end through the CLI, with the real OpenAI SDK against the wire-level fake server:
 * `chimera generate` judges each finished conversation (and a judge that only answers malformed JSON leaves
 * them ended and unjudged), `chimera judge --from FILE` fills in the missing judgements, and
 * `chimera export --min-judge-score` keeps the well-judged ones.
 */
const KEY = 'sk-judge-cli-canary-0000000000000000';
let fake: FakeProviderServer;
let dir: string;

beforeAll(async () => {
  fake = await startFakeProviderServer();
  dir = await mkdtemp(join(tmpdir(), 'chimera-judge-'));
});
afterAll(async () => {
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fake.reset();
  fake.respond(undefined);
});

const judgeEnv = () => ({
  OPENAI_API_KEY: KEY,
  OPENAI_BASE_URL: fake.urls.openai,
  JUDGE_PROVIDER: 'openai',
  JUDGE_MODEL: 'gpt-judge-test',
  MAX_CONVERSATION_TURNS: '4',
  MIN_CONVERSATION_TURNS: '2',
  RETRY_BASE_DELAY_MS: '10',
});

const judgeCalls = () => fake.requests().filter((r) => r.operation === 'generate');

const verdict = (overall: number) => ({
  status: 'judged' as const,
  provider: 'openai',
  model: 'gpt-judge-test',
  scores: Object.fromEntries(
    JUDGE_CRITERIA.map((c) => [c, { score: Math.round(overall), rationale: 'ok' }]),
  ) as never,
  overall,
  rationale: 'ok',
  usage: { inputTokens: 300, outputTokens: 80 },
  attempts: 1,
  at: 1_700_000_020_000,
});

function withJudge(
  base: ConversationRecord,
  judge: ConversationRecord['quality']['judge'],
): ConversationRecord {
  return { ...base, quality: { ...base.quality, ...(judge ? { judge } : {}) } };
}

async function writeRecords(name: string, records: ConversationRecord[]): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return path;
}

describe('the judge in chimera generate', { timeout: 90_000 }, () => {
  it('scores every finished conversation, through the judge provider and model', async () => {
    const result = await runCli(
      [
        'generate',
        '--topic',
        'Heat pumps in cold climates',
        '--conversations',
        '2',
        '--provider',
        'simulated',
      ],
      { env: judgeEnv() },
    );
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records).toHaveLength(2);
    for (const r of records) {
      expect(r.status).toBe('ended');
      expect(r.quality.judge).toMatchObject({
        status: 'judged',
        provider: 'openai',
        model: 'gpt-judge-test',
      });
      expect(r.quality.judge!.overall).toBeGreaterThanOrEqual(1);
      expect(r.quality.judge!.usage.outputTokens).toBeGreaterThan(0);
    }
    // One judge call per conversation, for the judge model, with the conversation's text in it.
    const calls = judgeCalls();
    expect(calls).toHaveLength(2);
    for (const call of calls) {
      expect(call.model ?? (call.body as { model: string }).model).toBe('gpt-judge-test');
      expect(JSON.stringify(call.body)).not.toContain(KEY);
    }
  });

  it('prices the judge’s calls into the record’s cost, to the micro-dollar of the provider’s own bill', async () => {
    const result = await runCli(
      ['generate', '--topic', 'Tidal power', '--conversations', '2', '--provider', 'simulated'],
      {
        env: {
          ...judgeEnv(),
          GOOGLE_API_KEY: KEY,
          GOOGLE_GEMINI_BASE_URL: fake.urls.gemini,
          JUDGE_PROVIDER: 'gemini',
          JUDGE_MODEL: 'gemini-2.5-flash',
        },
      },
    );
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records).toHaveLength(2);
    // The simulated conversation is free: every dollar on the bill is the judge's.
    const bill = fake.bill();
    expect(bill.totalMicros).toBeGreaterThan(0);
    for (const r of records) expect(r.quality.judge?.cost).toMatchObject({ status: 'priced' });
    const judged = records.reduce((sum, r) => sum + (r.quality.judge?.cost?.micros ?? 0), 0);
    const recorded = records.reduce((sum, r) => sum + (r.cost?.micros ?? 0), 0);
    expect(judged).toBe(bill.totalMicros);
    expect(recorded).toBe(bill.totalMicros);
  });

  it('a judge that only answers malformed JSON leaves each conversation ended and unjudged, with the reason', async () => {
    fake.respond(() => ({ type: 'malformed_json' }));
    const result = await runCli(
      [
        'generate',
        '--topic',
        'Heat pumps in cold climates',
        '--conversations',
        '1',
        '--provider',
        'simulated',
      ],
      { env: { ...judgeEnv(), JUDGE_MAX_ATTEMPTS: '2' } },
    );
    expect(result.code, result.stderr).toBe(0);
    const [only] = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(only!.status).toBe('ended');
    expect(only!.turns.length).toBeGreaterThan(0);
    expect(only!.quality.judge).toMatchObject({ status: 'unjudged', provider: 'openai', attempts: 2 });
    expect(only!.quality.judge!.reason).toMatch(/malformed/);
    expect(only!.quality.judge!.scores).toBeUndefined();
    expect(judgeCalls()).toHaveLength(2);
  });

  it('a judge provider without credentials fails at start naming JUDGE_PROVIDER (exit 2)', async () => {
    const result = await runCli(['generate', '--topic', 'x', '--provider', 'simulated'], {
      env: { JUDGE_PROVIDER: 'anthropic' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/JUDGE_PROVIDER/);
  });
});

describe('chimera judge --from FILE', { timeout: 90_000 }, () => {
  const unjudged = record({ conversationId: 'c-unjudged' });
  const judged = withJudge(record({ conversationId: 'c-judged' }), verdict(4.2));
  const failed = record({
    conversationId: 'c-failed',
    status: 'failed',
    terminationReason: 'provider_failed',
  });
  const leftUnjudged = withJudge(record({ conversationId: 'c-left-unjudged' }), {
    status: 'unjudged',
    reason: 'judge call failed (overloaded)',
    usage: { inputTokens: 0, outputTokens: 0 },
    attempts: 3,
  });

  it('fills in the judgements that are missing or failed, and passes the others through unchanged', async () => {
    const input = await writeRecords('in.jsonl', [unjudged, judged, failed, leftUnjudged]);
    const out = join(dir, 'judged.jsonl');
    const result = await runCli(['judge', '--from', input, '--out', out], { env: judgeEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/judged 2 conversations \(0 left unjudged, 2 passed through unchanged\)/);
    const records = parseJsonl(await readFile(out, 'utf8')).map((l) => conversationRecordSchema.parse(l));
    const byId = new Map(records.map((r) => [r.conversationId, r]));
    expect(records).toHaveLength(4);
    for (const id of ['c-unjudged', 'c-left-unjudged']) {
      expect(byId.get(id)!.quality.judge).toMatchObject({ status: 'judged', model: 'gpt-judge-test' });
      expect(Object.keys(byId.get(id)!.quality.judge!.scores!).sort()).toEqual([...JUDGE_CRITERIA].sort());
    }
    expect(byId.get('c-judged')).toEqual(judged);
    expect(byId.get('c-failed')).toEqual(failed);
    expect(judgeCalls()).toHaveLength(2);
    // The judge saw the conversation's turns, and no key.
    const body = JSON.stringify(judgeCalls()[0]!.body);
    expect(body).toContain(unjudged.turns[1]!.text);
    expect(body).not.toContain(KEY);
  });

  it('--all judges again the conversations that already have a judgement', async () => {
    const input = await writeRecords('all.jsonl', [unjudged, judged, failed]);
    const result = await runCli(['judge', '--from', input, '--all'], { env: judgeEnv() });
    expect(result.code, result.stderr).toBe(0);
    expect(judgeCalls()).toHaveLength(2);
    const records = parseJsonl(result.stdout).map((l) => conversationRecordSchema.parse(l));
    expect(records.find((r) => r.conversationId === 'c-judged')!.quality.judge!.model).toBe('gpt-judge-test');
  });

  it('without JUDGE_PROVIDER it says so and exits 2', async () => {
    const input = await writeRecords('none.jsonl', [unjudged]);
    const result = await runCli(['judge', '--from', input], { env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/JUDGE_PROVIDER/);
  });
});

describe('chimera export --min-judge-score', { timeout: 60_000 }, () => {
  it('keeps the conversations judged at or above the score and leaves out the unjudged', async () => {
    const records = [
      withJudge(record({ conversationId: 'c-high' }), verdict(4.6)),
      withJudge(record({ conversationId: 'c-edge' }), verdict(3.5)),
      withJudge(record({ conversationId: 'c-low' }), verdict(2.4)),
      record({ conversationId: 'c-none' }),
      withJudge(record({ conversationId: 'c-unjudged' }), {
        status: 'unjudged',
        reason: 'malformed',
        usage: { inputTokens: 1, outputTokens: 1 },
        attempts: 3,
      }),
      record({
        conversationId: 'c-short',
        turns: [turn(0, 'What is a heat pump?'), turn(1, 'A machine that moves heat.')],
      }),
    ];
    const input = await writeRecords('export.jsonl', records);
    const result = await runCli(['export', '--from', input, '--min-judge-score', '3.5'], { env: {} });
    expect(result.code, result.stderr).toBe(0);
    const kept = parseJsonl(result.stdout).map((l) => conversationRecordSchema.parse(l).conversationId);
    expect(kept).toEqual(['c-high', 'c-edge']);
    expect(result.stderr).toMatch(/1 below min judge score/);
    expect(result.stderr).toMatch(/3 unjudged left out/);
  });

  it('refuses a score outside 1-5 with exit 2', async () => {
    const input = await writeRecords('bad.jsonl', [record()]);
    const result = await runCli(['export', '--from', input, '--min-judge-score', '7'], { env: {} });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/min-judge-score.*1 to 5/);
  });
});
