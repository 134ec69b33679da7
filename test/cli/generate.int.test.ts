import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { conversationRecordSchema } from '../../src/events.js';
import { snapshotKeys } from '../../src/services/redis/keys.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { parseJsonl, runCli } from '../support/cli.js';
import { collectEvents, deleteKeys, infraEnv, uniqueNames, until } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

describe('chimera generate with Redis and Kafka configured', () => {
  it('keeps its conversations in Redis, publishes them on Kafka, and a second run makes new ones', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const env = infraEnv({ ...names.env, MAX_CONVERSATION_TURNS: '2', MIN_CONVERSATION_TURNS: '1' });
    const args = ['generate', '--topic', 'Offshore wind', '--topic', 'Tidal power'];

    const first = await runCli(args, { env });
    expect(first.code, first.stderr).toBe(0);
    const second = await runCli(args, { env });
    expect(second.code, second.stderr).toBe(0);
    const records = [...parseJsonl(first.stdout), ...parseJsonl(second.stdout)].map((line) =>
      conversationRecordSchema.parse(line),
    );
    expect(records).toHaveLength(4);
    // Each run's conversations are its own: a topic already run in this Redis is not mistaken for a duplicate.
    expect(new Set(records.map((r) => r.conversationId)).size).toBe(4);

    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const ended = await redis.zrangebyscore(snapshotKeys(names.prefix).finished('ended'), '-inf', '+inf');
    expect(ended.sort()).toEqual(records.map((r) => r.conversationId).sort());

    const reader = await collectEvents(names.env.KAFKA_TOPIC_EVENTS);
    cleanups.add(() => reader.stop());
    await until(() => reader.ended().length >= 4, 30_000, 'four final records on the events topic');
    expect(new Set(reader.ended().map((e) => e.conversationId))).toEqual(
      new Set(records.map((r) => r.conversationId)),
    );
  });
});
