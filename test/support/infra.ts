import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import kafkajs from 'kafkajs';
import { inject } from 'vitest';
import { Chimera, type ChimeraOptions } from '../../src/chimera.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type ConversationEvent, conversationEventSchema } from '../../src/events.js';
import { createLogger } from '../../src/logger.js';
import type { FakeProviderServer } from '../../tools/fake-provider/server.js';

/** Names unique to one test: Redis key prefix, Kafka topics and group. */
export function uniqueNames() {
  const id = randomUUID().slice(0, 8);
  return {
    id,
    prefix: `t-${id}`,
    env: {
      REDIS_KEY_PREFIX: `t-${id}`,
      REDIS_TOPIC_QUEUE: `t-${id}:topics:queue`,
      KAFKA_TOPIC_INPUT: `t-${id}.topics`,
      KAFKA_TOPIC_EVENTS: `t-${id}.events`,
      KAFKA_TOPIC_DEAD_LETTER: `t-${id}.topics.dead-letter`,
      KAFKA_CONSUMER_GROUP_ID: `t-${id}-daemons`,
    },
  };
}

export function infraEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: inject('redisUrl'),
    KAFKA_BOOTSTRAP_SERVERS: inject('kafkaBrokers'),
    LOG_LEVEL: 'silent',
    ...extra,
  };
}

/** Anthropic and Gemini pointed at the fake server, with our own limiter out of the way (it has no quota). */
export function fakeProviderEnv(server: FakeProviderServer): Record<string, string> {
  return {
    ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
    ANTHROPIC_BASE_URL: server.urls.anthropic,
    GOOGLE_API_KEY: 'AIza-test-key-000000000000000000',
    GOOGLE_GEMINI_BASE_URL: server.urls.gemini,
    ANTHROPIC_RPM: '100000',
    GEMINI_RPM: '100000',
    ANTHROPIC_TPM: '100000000',
    GEMINI_TPM: '100000000',
  };
}

export async function startChimera(config: Readonly<Config>, options: ChimeraOptions = {}): Promise<Chimera> {
  const chimera = await Chimera.create(config, {
    logger: createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    pollMs: 50,
    adoptEveryMs: 200,
    ...options,
  });
  return chimera.start();
}

export function configFor(env: Record<string, string>): Readonly<Config> {
  return loadConfig(env);
}

/** Deletes every key under a test's prefix (tests may scan; the product never does). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(inject('redisUrl'));
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

/** Reads a topic from the beginning with a fresh consumer group, collecting parsed events. */
export async function collectEvents(topic: string, brokers = inject('kafkaBrokers')) {
  const kafka = new kafkajs.Kafka({
    clientId: 'chimera-test-reader',
    brokers: [brokers],
    logLevel: kafkajs.logLevel.NOTHING,
    retry: { retries: 50, initialRetryTime: 200, maxRetryTime: 2000 },
  });
  const consumer = kafka.consumer({ groupId: `reader-${randomUUID()}`, retry: { retries: 50 } });
  const events: ConversationEvent[] = [];
  const raw: Array<{ key: string | null; value: string; headers: Record<string, string> }> = [];
  await consumer.connect();
  // Right after a broker restart, metadata can briefly say the topic is not hosted yet.
  for (let attempt = 1; ; attempt++) {
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      break;
    } catch (error) {
      if (attempt >= 20) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await consumer.run({
    eachMessage: async ({ message }) => {
      const value = message.value?.toString('utf8') ?? '';
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
      raw.push({ key: message.key?.toString() ?? null, value, headers });
      const parsed = conversationEventSchema.safeParse(JSON.parse(value));
      if (parsed.success) events.push(parsed.data);
    },
  });
  return {
    events,
    raw,
    ended: () => events.filter((e) => e.type === 'conversation.ended' || e.type === 'conversation.failed'),
    stop: () => consumer.disconnect(),
  };
}

export async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every (conversation, turn) seen in turn events, with the texts it carried: forks have two texts. */
export function turnTexts(events: ConversationEvent[]): Map<string, Set<string>> {
  const texts = new Map<string, Set<string>>();
  for (const e of events) {
    if (e.type !== 'turn.completed') continue;
    const key = `${e.conversationId}#${e.turnIndex}`;
    const set = texts.get(key) ?? new Set<string>();
    set.add(e.turn.text);
    texts.set(key, set);
  }
  return texts;
}
