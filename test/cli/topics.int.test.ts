import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { conversationIdFor, deriveTopicId, topicMessageSchema } from '../../src/events.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { runCli } from '../support/cli.js';
import {
  collectEvents,
  configFor,
  deleteKeys,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups = cleanupsAfterEach();

/** Redis only: `topics add` then has the Redis queue as its one destination. */
function redisOnlyEnv(names: ReturnType<typeof uniqueNames>): Record<string, string> {
  const { KAFKA_BOOTSTRAP_SERVERS: _kafka, ...env } = infraEnv(names.env);
  return env;
}

async function redisClient(): Promise<Redis> {
  const redis = new Redis(inject('redisUrl'));
  cleanups.add(() => redis.quit());
  return redis;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'chimera-topics-'));
  cleanups.add(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('chimera topics add', () => {
  it('with only Redis configured, queues the topic on the Redis list with its source, url and id', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const result = await runCli(
      [
        'topics',
        'add',
        'Solid-state batteries reach pilot production',
        '--source',
        'hackernews',
        '--url',
        'https://example.com/ssb',
        '--id',
        'hn-42',
      ],
      { env: redisOnlyEnv(names) },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`enqueued 1 topic on Redis list ${names.env.REDIS_TOPIC_QUEUE}\n`);
    const redis = await redisClient();
    const queued = (await redis.lrange(names.env.REDIS_TOPIC_QUEUE, 0, -1)).map((v) =>
      topicMessageSchema.parse(JSON.parse(v)),
    );
    expect(queued).toEqual([
      {
        id: 'hn-42',
        title: 'Solid-state batteries reach pilot production',
        source: 'hackernews',
        url: 'https://example.com/ssb',
      },
    ]);
  });

  it('a file with one invalid line queues nothing and names the line', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const dir = await tempDir();
    const file = join(dir, 'topics.txt');
    await writeFile(file, 'Good title one\nGood title two\nBad\u2066title\n');
    const result = await runCli(['topics', 'add', '--file', file], { env: redisOnlyEnv(names) });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `chimera: --file: ${file} line 3: title contains a bidirectional control character U+2066 at position 4`,
    );
    const redis = await redisClient();
    expect(await redis.llen(names.env.REDIS_TOPIC_QUEUE)).toBe(0);
  });

  it('topics queued on Redis are taken by a daemon and become conversations under their ids', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = { ...redisOnlyEnv(names), MAX_CONVERSATION_TURNS: '2', MIN_CONVERSATION_TURNS: '1' };
    const dir = await tempDir();
    const file = join(dir, 'topics.txt');
    await writeFile(file, 'Why bridges sway\nThe history of the metric system\n');
    const result = await runCli(['topics', 'add', '--file', file], { env });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`enqueued 2 topics on Redis list ${names.env.REDIS_TOPIC_QUEUE}\n`);

    const daemon = await startChimera(configFor(env));
    cleanups.add(() => daemon.stop());
    const ids = ['Why bridges sway', 'The history of the metric system'].map((title) =>
      conversationIdFor(deriveTopicId({ title })),
    );
    const records = await Promise.all(ids.map((id) => daemon.waitFor(id, 30_000)));
    expect(records.map((r) => r.topic.title).sort()).toEqual([
      'The history of the metric system',
      'Why bridges sway',
    ]);
  });

  it('with Kafka configured, publishes to the Kafka input topic keyed by topic id', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const dir = await tempDir();
    const file = join(dir, 'topics.jsonl');
    await writeFile(
      file,
      `${JSON.stringify({ id: 'rss-1', title: 'Tidal power', source: 'rss' })}\n${JSON.stringify({ title: 'Heat pumps' })}\n`,
    );
    const result = await runCli(['topics', 'add', '--file', file], { env: infraEnv(names.env) });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`enqueued 2 topics on Kafka topic ${names.env.KAFKA_TOPIC_INPUT}\n`);

    const reader = await collectEvents(names.env.KAFKA_TOPIC_INPUT);
    cleanups.add(() => reader.stop());
    await until(() => reader.raw.length >= 2, 30_000, 'two topic messages on the input topic');
    const messages = reader.raw.map((m) => ({
      key: m.key,
      value: topicMessageSchema.parse(JSON.parse(m.value)),
    }));
    expect(messages).toEqual(
      expect.arrayContaining([
        { key: 'rss-1', value: { id: 'rss-1', title: 'Tidal power', source: 'rss' } },
        { key: deriveTopicId({ title: 'Heat pumps' }), value: { title: 'Heat pumps' } },
      ]),
    );
    // Kafka took them: the Redis queue stays empty.
    const redis = await redisClient();
    expect(await redis.llen(names.env.REDIS_TOPIC_QUEUE)).toBe(0);
  });
});
