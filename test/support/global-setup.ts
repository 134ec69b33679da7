import type { TestProject } from 'vitest/node';
import { ensureKafka, ensureRedis, type RunningService } from '../../scripts/services.js';

let started: RunningService[] = [];

/** Makes sure a real Redis and a real Kafka broker answer, and hands their addresses to the tests. */
export async function setup(project: TestProject): Promise<void> {
  const redis = await ensureRedis();
  const kafka = await ensureKafka();
  started = [redis, kafka].filter((s) => s.startedHere);
  project.provide('redisUrl', redis.url);
  project.provide('kafkaBrokers', kafka.url);
  process.env.REDIS_URL = redis.url;
  process.env.KAFKA_BROKERS = kafka.url;
  process.env.KAFKA_BOOTSTRAP_SERVERS = kafka.url;
}

/** Leaves stopped whatever this run started. */
export async function teardown(): Promise<void> {
  for (const service of started.reverse()) await service.stop();
  started = [];
}
