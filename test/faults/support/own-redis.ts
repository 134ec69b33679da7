/**
 * A `redis-server` of a scenario's own that requires a password (`--requirepass`), with append-only-file
 * persistence in `dir`, so it can be stopped and started again without losing what the daemons wrote.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort, redisAnswers } from '../../../scripts/services.js';

export interface PasswordRedis {
  port: number;
  /** `redis://:password@127.0.0.1:port` */
  url: string;
  stop(): Promise<void>;
}

export async function startPasswordRedis(options: {
  password: string;
  dir: string;
  port?: number;
}): Promise<PasswordRedis> {
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--requirepass',
      options.password,
      '--dir',
      options.dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--save',
      '',
    ],
    { stdio: 'ignore' },
  );
  const url = `redis://:${encodeURIComponent(options.password)}@127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await redisAnswers(url))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    port,
    url,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
