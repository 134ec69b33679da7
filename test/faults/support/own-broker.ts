/**
 * A Kafka broker of a scenario's own (scripts/kafka.sh with its own ports and data directory), so stopping
 * it disturbs no other test. `stop` keeps the data: stop then start is a broker restart.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../../../scripts/services.js';
import { repoRoot } from '../../support/cli.js';

const run = promisify(execFile);

export interface OwnBroker {
  /** `127.0.0.1:port` */
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  reset(): Promise<void>;
}

export async function startOwnBroker(): Promise<OwnBroker> {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    CHIMERA_KAFKA_PORT: String(port),
    CHIMERA_KAFKA_CONTROLLER_PORT: String(controllerPort),
    CHIMERA_KAFKA_RUN_DIR: mkdtempSync(join(tmpdir(), 'chimera-faults-kafka-')),
  };
  const script = async (command: string) => {
    await run('bash', ['scripts/kafka.sh', command], { env, cwd: repoRoot, timeout: 240_000 });
  };
  await script('start');
  return {
    url: `127.0.0.1:${port}`,
    stop: () => script('stop'),
    start: () => script('start'),
    reset: () => script('reset'),
  };
}
