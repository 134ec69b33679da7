import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { isInvalidEventError } from '../../src/errors.js';
import type { TopicMessage } from '../../src/events.js';
import { enqueueTopic, topicQueueKeys } from '../../src/services/redis/topic-queue.js';
import { topicSourceContract } from '../contracts/topic-source.js';
import { redisQueueSpace } from './support/redis-queue-harness.js';

topicSourceContract('Redis queue', async () => {
  const space = redisQueueSpace();
  const source = space.open('daemon-1');
  return {
    source,
    produce: async (raw) => void (await space.redis.lpush(space.queue, Buffer.from(raw))),
    deadLetters: async () => space.bus.read('deadLetter').map(({ value, headers }) => ({ value, headers })),
    inputName: space.queue,
    maxTitleLength: 500,
    waitMs: 5000,
    quietMs: 100,
    cleanup: space.cleanup,
  };
});

const topic = (id: string): TopicMessage => ({ id, title: `Topic ${id}` });

describe('RedisTopicQueue', () => {
  it('a topic in flight sits in the processing list until it is acked', async () => {
    const space = redisQueueSpace();
    try {
      const source = space.open('daemon-1');
      await enqueueTopic(space.redis, space.queue, topic('a'));
      const { processing } = topicQueueKeys(space.keyPrefix, 'daemon-1');

      const delivery = await source.next(5000);
      expect(await space.redis.llen(space.queue)).toBe(0);
      expect(await space.redis.lrange(processing, 0, -1)).toEqual([JSON.stringify(topic('a'))]);
      await delivery!.ack();
      expect(await space.redis.llen(processing)).toBe(0);
    } finally {
      await space.cleanup();
    }
  });

  it('a daemon killed with a topic in flight: recoverStale on another instance gives the topic again', async () => {
    const space = redisQueueSpace();
    const dead = 'daemon-dead';
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./support/dying-daemon.ts', import.meta.url))],
      {
        env: {
          ...process.env,
          REDIS_URL: inject('redisUrl'),
          QUEUE: space.queue,
          KEY_PREFIX: space.keyPrefix,
          INSTANCE_ID: dead,
          HEARTBEAT_TTL_MS: '1000',
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await enqueueTopic(space.redis, space.queue, topic('survivor'));
      const [line] = (await once(child.stdout!, 'data')) as [Buffer];
      expect(JSON.parse(line.toString())).toEqual({ holding: 'survivor' });
      child.kill('SIGKILL');
      await once(child, 'exit');

      const alive = space.open('daemon-alive');
      expect(await alive.next(0)).toBeNull();
      const { heartbeat } = topicQueueKeys(space.keyPrefix, dead);
      // The heartbeat is the only sign of life: recovery waits for its TTL to run out.
      const deadline = Date.now() + 10_000;
      while ((await space.redis.exists(heartbeat)) === 1 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(await alive.recoverStale()).toBe(1);

      const delivery = await alive.next(5000);
      expect(delivery?.topic.id).toBe('survivor');
      await delivery!.ack();
      const { instances } = topicQueueKeys(space.keyPrefix, dead);
      expect(await space.redis.smembers(instances)).not.toContain(dead);
    } finally {
      child.kill('SIGKILL');
      await space.cleanup();
    }
  });

  it('recoverStale leaves the topics of a live instance alone', async () => {
    const space = redisQueueSpace();
    try {
      const busy = space.open('daemon-busy');
      const other = space.open('daemon-other');
      await enqueueTopic(space.redis, space.queue, topic('held'));
      const held = await busy.next(5000);
      expect(held?.topic.id).toBe('held');

      expect(await other.recoverStale()).toBe(0);
      expect(await other.next(0)).toBeNull();
      await held!.ack();
    } finally {
      await space.cleanup();
    }
  });

  it('a daemon that closes with a topic neither acked nor released leaves it for recovery', async () => {
    const space = redisQueueSpace();
    try {
      const leaving = space.open('daemon-leaving');
      await enqueueTopic(space.redis, space.queue, topic('left-behind'));
      expect((await leaving.next(5000))?.topic.id).toBe('left-behind');
      await leaving.close();

      const other = space.open('daemon-other');
      expect(await other.recoverStale()).toBe(1);
      expect((await other.next(0))?.topic.id).toBe('left-behind');
    } finally {
      await space.cleanup();
    }
  });

  it('close ends a next() that is blocked waiting for a topic', async () => {
    const space = redisQueueSpace();
    try {
      const source = space.open('daemon-1');
      await source.start();
      const waiting = source.next(30_000);
      await new Promise((resolve) => setTimeout(resolve, 50));
      await source.close();
      expect(await waiting).toBeNull();
    } finally {
      await space.cleanup();
    }
  });

  it('enqueue refuses a message that breaks the topic message schema and queues nothing', async () => {
    const space = redisQueueSpace();
    try {
      const source = space.open('daemon-1');
      const refusal = await source
        .enqueue({ title: 42 } as unknown as TopicMessage)
        .catch((error: unknown) => error);
      expect(isInvalidEventError(refusal)).toBe(true);
      expect(await space.redis.llen(space.queue)).toBe(0);

      await source.enqueue(topic('fine'));
      expect((await source.next(0))?.topic.id).toBe('fine');
    } finally {
      await space.cleanup();
    }
  });
});
