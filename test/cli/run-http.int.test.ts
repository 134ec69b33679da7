import { networkInterfaces } from 'node:os';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const cleanups = cleanupsAfterEach();

function daemon(args: string[], env: Record<string, string>): DaemonProcess {
  const run = startDaemon(args, env);
  cleanups.add(async () => run.child.kill('SIGKILL'));
  return run;
}

/** An IPv4 address of this machine other than loopback: where a daemon bound to every interface answers. */
function externalAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal)?.address;
  if (!address) throw new Error('this test needs a non-loopback IPv4 address on the machine');
  return address;
}

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(3000) });
    return true;
  } catch {
    return false;
  }
}

const embedded = { LOG_LEVEL: 'info' };
const args = ['--provider', 'simulated', '--http-port', '0'];

describe('chimera run: HTTP endpoints', () => {
  it('listen on 127.0.0.1 by default: not reachable on the machine’s other addresses', async () => {
    const run = daemon(args, embedded);
    const port = await run.httpPort();
    expect(await reachable(`http://127.0.0.1:${port}/healthz`)).toBe(true);
    expect(await reachable(`http://${externalAddress()}:${port}/healthz`)).toBe(false);
  });

  it('HTTP_HOST chooses the interface: 0.0.0.0 is reachable on the other addresses too', async () => {
    const run = daemon(args, { ...embedded, HTTP_HOST: '0.0.0.0' });
    const port = await run.httpPort();
    expect(await reachable(`http://${externalAddress()}:${port}/healthz`)).toBe(true);
  });

  it('/readyz gives reason codes, never the internal host names of what it checks', async () => {
    const run = daemon(args, {
      ...embedded,
      REDIS_URL: 'redis://redis-primary.internal.invalid:6379',
      KAFKA_BOOTSTRAP_SERVERS: 'kafka-broker-7.internal.invalid:9092',
    });
    const port = await run.httpPort();
    let body = '';
    const deadline = Date.now() + 20_000;
    // The probes connect on the first request; poll until both have a verdict.
    while (Date.now() < deadline) {
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(response.status).toBe(503);
      body = await response.text();
      const parsed = JSON.parse(body) as { checks: Record<string, string> };
      if (parsed.checks.redis !== undefined && parsed.checks.kafka !== undefined) {
        if (parsed.checks.redis !== 'not_connected' || parsed.checks.kafka === 'not_answering') break;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(body).not.toContain('internal.invalid');
    expect(body).not.toContain('ENOTFOUND');
    const report = JSON.parse(body) as { checks: Record<string, string>; reasons: string[] };
    expect(report.checks).toEqual({ redis: 'not_connected', kafka: 'not_answering' });
    expect(report.reasons).toEqual(['starting', 'redis: not_connected', 'kafka: not_answering']);
  });
});
