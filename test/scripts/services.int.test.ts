import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { freePort, startRedisServer } from '../../scripts/services.js';

const run = promisify(execFile);

async function exitCode(command: Promise<unknown>): Promise<number> {
  try {
    await command;
    return 0;
  } catch (error) {
    return (error as { code?: number }).code ?? -1;
  }
}

describe('local services for tests and development', () => {
  it('scripts/kafka.sh status exits 0 after start and non-zero after stop', async () => {
    const env = {
      ...process.env,
      CHIMERA_KAFKA_PORT: String(await freePort()),
      CHIMERA_KAFKA_CONTROLLER_PORT: String(await freePort()),
      CHIMERA_KAFKA_RUN_DIR: mkdtempSync(join(tmpdir(), 'chimera-kafka-script-')),
    };
    const kafka = (command: string) => run('bash', ['scripts/kafka.sh', command], { env, timeout: 180_000 });
    try {
      expect(await exitCode(kafka('status'))).not.toBe(0);
      await kafka('start');
      expect(await exitCode(kafka('status'))).toBe(0);
      // Starting again is a no-op.
      expect(await exitCode(kafka('start'))).toBe(0);
      await kafka('stop');
      expect(await exitCode(kafka('status'))).not.toBe(0);
    } finally {
      await kafka('reset').catch(() => {});
    }
  });

  it('a project-started redis-server answers on its own port and stops', async () => {
    const redis = await startRedisServer();
    const client = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => {});
    await client.connect();
    expect(await client.ping()).toBe('PONG');
    client.disconnect();
    await redis.stop();
    const after = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    after.on('error', () => {});
    await expect(after.connect()).rejects.toThrow();
    after.disconnect();
  });

  it('without redis-server on PATH the error names the Debian package', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startRedisServer()).rejects.toThrow(/Debian package `redis-server`/);
    } finally {
      process.env.PATH = path;
    }
  });
});
