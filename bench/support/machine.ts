/** What the figures were measured on: they mean little without it. */
import { execFile } from 'node:child_process';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  kafka: string;
  /** 1-minute load average when the run started: above the core count, other work was competing. */
  loadAverage: number;
}

async function redisVersion(url: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  } catch {
    return 'unreachable';
  } finally {
    redis.disconnect();
  }
}

/** The broker's version from its class path (the project's `scripts/kafka.sh` runs it from `kafka-<version>/libs`). */
async function kafkaVersion(): Promise<string> {
  try {
    const { stdout } = await run('ps', ['-eo', 'args']);
    const match = /kafka[_-](?:2\.1\d-)?(\d+\.\d+\.\d+)[/\w.-]*/.exec(
      stdout.split('\n').find((line) => line.includes('kafka') && line.includes('java')) ?? '',
    );
    return match?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(redisUrl: string): Promise<Machine> {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    redis: await redisVersion(redisUrl),
    kafka: await kafkaVersion(),
    loadAverage: Math.round(loadavg()[0]! * 100) / 100,
  };
}
