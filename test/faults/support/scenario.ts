/**
 * What every fault scenario shares: unique names on the shared Redis and Kafka, the daemon environment,
 * topics to submit, and cleanups that run even when a scenario fails.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { Cleanups } from '../../support/cleanups.js';
import { deleteKeys, uniqueNames } from '../../support/infra.js';

export { Cleanups };

import { type Daemon, stopAll } from './daemon.js';
import { deleteTopics, type KafkaTarget } from './kafka-io.js';

export type Names = ReturnType<typeof uniqueNames>;

/** Unique names, with their Redis keys, Kafka topics and the given daemons removed at cleanup. */
export function scenarioNames(
  cleanups: Cleanups,
  options: { brokers?: KafkaTarget; redis?: boolean } = {},
): Names {
  const names = uniqueNames();
  const brokers = options.brokers ?? inject('kafkaBrokers');
  cleanups.add(() =>
    deleteTopics(brokers, [
      names.env.KAFKA_TOPIC_INPUT,
      names.env.KAFKA_TOPIC_EVENTS,
      names.env.KAFKA_TOPIC_DEAD_LETTER,
    ]),
  );
  if (options.redis !== false) cleanups.add(() => deleteKeys(names.prefix));
  return names;
}

/**
 * Stops the daemons at cleanup and keeps what they printed in `FAULTS_LOG_DIR` (default: the system temp
 * directory), one file per daemon, for reading after a failure.
 */
export function daemonsCleanup(cleanups: Cleanups, daemons: readonly Daemon[], scenario: string): void {
  cleanups.add(async () => {
    await stopAll(daemons);
    const dir = join(process.env.FAULTS_LOG_DIR ?? join(tmpdir(), 'chimera-faults'), scenario);
    mkdirSync(dir, { recursive: true });
    for (const daemon of daemons) {
      writeFileSync(join(dir, `${daemon.name}.log`), daemon.stdout);
      writeFileSync(join(dir, `${daemon.name}.stderr`), daemon.stderr);
    }
    console.log(`${scenario}: daemon logs in ${dir}`);
  });
}

/** The daemon environment on the shared services: unique names, JSON logs at info, and `extra`. */
export function daemonEnv(names: Names, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: inject('redisUrl'),
    KAFKA_BOOTSTRAP_SERVERS: inject('kafkaBrokers'),
    LOG_LEVEL: 'info',
    ...names.env,
    ...extra,
  };
}

/** `count` valid topic messages with ids unique to this run. */
export function topicMessages(names: Names, count: number, label: string) {
  return Array.from({ length: count }, (_, i) => {
    const id = `${label}-${names.id}-${i}`;
    return {
      id,
      message: { key: id, value: JSON.stringify({ id, title: `${label} topic ${i}: tidal energy storage` }) },
    };
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
