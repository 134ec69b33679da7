import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { type ConversationRecord, conversationRecordSchema } from '../../src/events.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { parseJsonl, runCli } from '../support/cli.js';
import { configFor, deleteKeys, infraEnv, startChimera, uniqueNames } from '../support/infra.js';

/**
 * A daemon on real Redis and Kafka whose judge (the real OpenAI SDK against the fake server) only answers
 * malformed JSON: its conversations end all the same, unjudged, with the reason, in Redis and on Kafka.
 * Then `chimera judge --from redis`, with the judge answering properly, scores them from the finished index.
 */
const names = uniqueNames();
let fake: FakeProviderServer;
let chimera: Chimera;
let produced: ConversationRecord[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeProviderServer();
  fake.respond(() => ({ type: 'malformed_json' }));
  env = infraEnv({
    ...names.env,
    CONVERSATION_PROVIDERS: 'simulated,simulated',
    MAX_CONVERSATION_TURNS: '4',
    MIN_CONVERSATION_TURNS: '2',
    OPENAI_API_KEY: 'sk-judge-redis-canary-000000000000',
    OPENAI_BASE_URL: fake.urls.openai,
    JUDGE_PROVIDER: 'openai',
    JUDGE_MODEL: 'gpt-judge-redis',
    JUDGE_MAX_ATTEMPTS: '2',
  });
  chimera = await startChimera(configFor(env), { intake: 'none' });
  const ids = await Promise.all(
    [0, 1].map((i) =>
      chimera.startNewConversation({ id: `judge-${i}`, title: `Judge topic ${i}: tidal power` }),
    ),
  );
  produced = await Promise.all(ids.map((id) => chimera.waitFor(id, 60_000)));
}, 120_000);

afterAll(async () => {
  await chimera?.stop();
  await fake?.close();
  await deleteKeys(names.prefix);
});

describe('the judge in the daemon and chimera judge --from redis', () => {
  it('a judge that fails leaves each conversation ended and unjudged, with the reason', () => {
    expect(produced).toHaveLength(2);
    for (const record of produced) {
      expect(record.status).toBe('ended');
      expect(record.quality.judge).toMatchObject({ status: 'unjudged', provider: 'openai', attempts: 2 });
      expect(record.quality.judge!.reason).toMatch(/malformed/);
    }
  });

  it('chimera judge --from redis scores the unjudged conversations of the finished index', async () => {
    fake.respond(undefined);
    fake.reset();
    const result = await runCli(['judge', '--from', 'redis'], { env });
    expect(result.code, result.stderr).toBe(0);
    const records = parseJsonl(result.stdout).map((line) => conversationRecordSchema.parse(line));
    expect(records.map((r) => r.conversationId).sort()).toEqual(produced.map((r) => r.conversationId).sort());
    for (const record of records) {
      expect(record.quality.judge).toMatchObject({ status: 'judged', model: 'gpt-judge-redis' });
      expect(record.quality.judge!.overall).toBeGreaterThanOrEqual(1);
    }
    expect(fake.requests().filter((r) => r.operation === 'generate')).toHaveLength(2);
  }, 90_000);
});
