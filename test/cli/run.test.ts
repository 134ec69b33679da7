import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { runCli } from '../support/cli.js';
import { type DaemonProcess, startDaemon } from './run-process.js';

const running: DaemonProcess[] = [];
afterEach(() => {
  for (const daemon of running.splice(0)) daemon.child.kill('SIGKILL');
});

function daemon(args: string[], env: Record<string, string> = {}): DaemonProcess {
  const started = startDaemon(args, env);
  running.push(started);
  return started;
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The drain has nothing in flight here; start-up, drain and exit fit in this with a wide margin. */
const EXIT_BOUND_MS = 20_000;

// Each test has its own child process: they run side by side.
describe.concurrent('chimera run: refusing to start', { timeout: 60_000 }, () => {
  it('exits 2 with one line when no provider has a key and --provider simulated is not given', async ({
    expect,
  }) => {
    const result = await runCli(['run']);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^chimera: --provider: no provider has credentials .*--provider simulated/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 with one line naming a bad variable', async ({ expect }) => {
    const result = await runCli(['run', '--provider', 'simulated'], { env: { REDIS_PORT: 'abc' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('chimera: REDIS_PORT: expected a whole number from 1 to 65535 (got "abc")\n');
  });

  it('exits 2 with one line for a bad flag value', async ({ expect }) => {
    const result = await runCli(['run', '--provider', 'simulated', '--http-port', 'eighty']);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('--http-port');
  });

  it('exits 2 with one line when --provider names a provider without credentials', async ({ expect }) => {
    const result = await runCli(['run', '--provider', 'anthropic']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^chimera: --provider: anthropic has no credentials/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 with one line when the HTTP port is taken', async ({ expect }) => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const result = await runCli(['run', '--provider', 'simulated', '--http-port', String(port)]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        `chimera: HTTP_PORT: port ${port} is already in use (choose another, or 0 for any free port)\n`,
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('documents every flag in --help', async ({ expect }) => {
    const result = await runCli(['run', '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--provider', '--inspect', '--inspect-port', '--http-port', '--drain-timeout']) {
      expect(result.stdout).toContain(flag);
    }
  });
});

// Start-up under tsx takes seconds on a loaded machine; each of these starts and stops a daemon.
describe('chimera run: embedded, simulated', { timeout: 60_000 }, () => {
  it('serves /healthz, /readyz and /metrics, logs its mode, and exits 0 on SIGTERM', async () => {
    const run = daemon(['--provider', 'simulated', '--http-port', '0']);
    const started = await run.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');
    expect(started).toMatchObject({
      mode: 'embedded',
      sides: { questioner: 'simulated', answerer: 'simulated' },
    });
    const base = `http://127.0.0.1:${started.httpPort}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { providers: 'ok' } });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('chimera_conversations_active 0');
    expect(metrics).toContain('chimera_provider_circuit_state{provider="simulated"} 0');
    expect(metrics).toContain('nodejs_eventloop_lag_seconds');

    run.child.kill('SIGTERM');
    expect(await run.exitWithin(EXIT_BOUND_MS)).toEqual({ code: 0, signal: null });
    expect(run.logs.some((l) => l.msg === 'chimera daemon stopped')).toBe(true);
  });

  it('starts without keys when CONVERSATION_PROVIDERS names the simulated provider', async () => {
    const run = daemon(['--http-port', '0'], { CONVERSATION_PROVIDERS: 'simulated,simulated' });
    const started = await run.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');
    expect(started.sides).toEqual({ questioner: 'simulated', answerer: 'simulated' });
    run.child.kill('SIGTERM');
    expect((await run.exitWithin(EXIT_BOUND_MS)).code).toBe(0);
  });

  it('exits 0 on SIGINT too', async () => {
    const run = daemon(['--provider', 'simulated', '--http-port', '0']);
    await run.waitForLog((l) => l.msg.startsWith('chimera daemon started'), 'start-up');
    run.child.kill('SIGINT');
    expect((await run.exitWithin(EXIT_BOUND_MS)).code).toBe(0);
  });

  it('answers /readyz 503 naming Redis while Redis is unreachable (a code, the detail in the log), and still stops cleanly on SIGTERM', async () => {
    const port = await closedPort();
    const run = daemon(['--provider', 'simulated', '--http-port', '0'], {
      REDIS_URL: `redis://127.0.0.1:${port}`,
    });
    const base = `http://127.0.0.1:${await run.httpPort()}`;

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    let body: { reasons: string[]; checks: Record<string, string> } | undefined;
    // The probe connects on the first request; until it has tried, there is no redis verdict yet.
    for (let i = 0; i < 200 && body?.checks.redis === undefined; i++) {
      const response = await fetch(`${base}/readyz`);
      expect(response.status).toBe(503);
      body = (await response.json()) as typeof body;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(body!.reasons).toContain('redis: not_connected');
    expect(JSON.stringify(body)).not.toContain(String(port));
    await run.waitForLog((l) => l.check === 'redis' && l.code === 'not_connected', 'the logged detail');

    run.child.kill('SIGTERM');
    expect((await run.exitWithin(EXIT_BOUND_MS)).code).toBe(0);
  });

  it('with --inspect, serves the Stately inspector: a WebSocket client sees the supervisor and the breaker', async () => {
    const run = daemon(['--provider', 'simulated', '--http-port', '0', '--inspect', '--inspect-port', '0']);
    const started = await run.waitForLog((l) => typeof l.inspectorUrl === 'string', 'the inspector URL');
    const url = new URL(started.inspectorUrl as string);
    expect(url.hostname).toBe('127.0.0.1');

    const socket = new WebSocket(`ws://127.0.0.1:${url.port}`);
    const names: string[] = [];
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string; name?: string };
      if (message.type === '@xstate.actor' && message.name) names.push(message.name);
    });
    try {
      const deadline = Date.now() + 15_000;
      while (!(names.includes('supervisor') && names.includes('circuit-breaker:simulated'))) {
        if (Date.now() > deadline) throw new Error(`inspector sent only ${names.join(', ')}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    } finally {
      socket.terminate();
    }
    run.child.kill('SIGTERM');
    expect((await run.exitWithin(EXIT_BOUND_MS)).code).toBe(0);
  });

  it('honours LOG_FORMAT=pretty: human-readable lines on stderr instead of JSON', async () => {
    const run = daemon(['--provider', 'simulated', '--http-port', '0'], { LOG_FORMAT: 'pretty' });
    const deadline = Date.now() + 15_000;
    while (!run.stderr.includes('chimera daemon started')) {
      if (Date.now() > deadline || run.child.exitCode !== null)
        throw new Error(`no pretty start-up line:\n${run.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(run.stderr).toMatch(/INFO.*chimera daemon started \(embedded\)/);
    expect(run.logs).toEqual([]);
    run.child.kill('SIGTERM');
    expect((await run.exitWithin(EXIT_BOUND_MS)).code).toBe(0);
  });
});
