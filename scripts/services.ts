/**
 * Makes sure a real Redis and a real Kafka broker answer on 127.0.0.1, starting them when they do not.
 * Used by the test global setup and by `npm run services`. Idempotent: a service that already answers
 * is used as it is and left running.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));

export interface RunningService {
  url: string;
  /** True when this call started it (and so `stop` will stop it). */
  startedHere: boolean;
  stop(): Promise<void>;
}

/** True when a Redis at `url` answers PING within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

async function onPath(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

/** Starts a project-owned `redis-server` on a free port (optionally with persistence in `dir`). */
export async function startRedisServer(
  options: { port?: number; dir?: string } = {},
): Promise<RunningService> {
  if (!(await onPath('redis-server'))) {
    throw new Error(
      'redis-server is not on PATH: install the Debian package `redis-server` (apt-get install redis-server)',
    );
  }
  const port = options.port ?? (await freePort());
  const persistence = options.dir
    ? ['--dir', options.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '']
    : ['--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', ...persistence], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url))) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with code ${child.exitCode} on port ${port}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port} within 10s`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    startedHere: true,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export async function ensureRedis(): Promise<RunningService> {
  const candidates = [process.env.REDIS_URL, 'redis://127.0.0.1:6379'].filter((u): u is string => Boolean(u));
  for (const url of candidates) {
    if (await redisAnswers(url)) return { url, startedHere: false, stop: async () => {} };
  }
  return startRedisServer();
}

const kafkaScript = join(here, 'kafka.sh');

async function kafkaStatus(): Promise<boolean> {
  try {
    await run('bash', [kafkaScript, 'status']);
    return true;
  } catch {
    return false;
  }
}

export async function ensureKafka(): Promise<RunningService> {
  const url = `127.0.0.1:${process.env.CHIMERA_KAFKA_PORT ?? 9092}`;
  if (await kafkaStatus()) return { url, startedHere: false, stop: async () => {} };
  await run('bash', [kafkaScript, 'start'], { timeout: 600_000 });
  return {
    url,
    startedHere: true,
    async stop() {
      await run('bash', [kafkaScript, 'stop']);
    },
  };
}
