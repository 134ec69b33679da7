import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { collectProcessMetrics } from '../../src/app/service-metrics.js';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { Readiness, type ReadinessCheck } from '../../src/http/readiness.js';
import { createRoutes } from '../../src/http/routes.js';
import { type HttpServer, startHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';

const logger = createLogger({ level: 'silent' });
const open: Array<{ close(): Promise<void> }> = [];
let chimera: Chimera | undefined;

afterEach(async () => {
  await chimera?.stop();
  chimera = undefined;
  for (const closable of open.splice(0)) await closable.close();
});

async function serve(readiness: Readiness, registry = new Registry()): Promise<string> {
  const server: HttpServer = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    handler: createRoutes({ readiness, registry }),
  });
  open.push(server);
  return `http://127.0.0.1:${server.port}`;
}

const passing: ReadinessCheck = { name: 'redis', run: async () => null };

describe('HTTP endpoints', () => {
  it('/healthz answers 200 while the process is alive, whatever readiness says', async () => {
    const base = await serve(
      new Readiness({ checks: [{ name: 'redis', run: async () => ({ code: 'not_connected' }) }] }),
    );
    const response = await fetch(`${base}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('/readyz answers 503 with the reasons while not ready, and 200 once running with every check passing', async () => {
    const readiness = new Readiness({ checks: [passing] });
    const base = await serve(readiness);

    const starting = await fetch(`${base}/readyz`);
    expect(starting.status).toBe(503);
    expect(await starting.json()).toMatchObject({ status: 'not ready', reasons: ['starting'] });

    readiness.phase = 'running';
    const running = await fetch(`${base}/readyz`);
    expect(running.status).toBe(200);
    expect(await running.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok' }, reasons: [] });
  });

  it('/metrics serves the registry in the Prometheus text format', async () => {
    const registry = new Registry();
    const base = await serve(new Readiness(), registry);
    const response = await fetch(`${base}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
  });

  it('answers 404 naming the endpoints for an unknown path, and 405 for anything but GET and HEAD', async () => {
    const base = await serve(new Readiness());
    const missing = await fetch(`${base}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ endpoints: ['/healthz', '/readyz', '/metrics'] });
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it('refuses to start on a port already taken, with the listen error', async () => {
    const first = await startHttpServer({ port: 0, host: '127.0.0.1', handler: () => {} });
    open.push(first);
    await expect(
      startHttpServer({ port: first.port, host: '127.0.0.1', handler: () => {} }),
    ).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });
});

describe('/metrics after conversations', () => {
  it('has the provider, conversation, outbox and event-loop metrics', async () => {
    const registry = new Registry();
    const config = loadConfig({ MAX_CONVERSATION_TURNS: '3', MIN_CONVERSATION_TURNS: '2' });
    chimera = await Chimera.create(config, { logger, intake: 'none', registry, pollMs: 20 });
    // As the daemon does: the service instruments itself, the daemon adds the Node.js process metrics.
    collectProcessMetrics(registry);
    chimera.start();
    const readiness = new Readiness();
    readiness.phase = 'running';
    const base = await serve(readiness, registry);

    const ids = await Promise.all(
      ['Tides and the moon', 'How bridges stand', 'Why bread rises'].map((title) =>
        chimera!.startNewConversation({ title }),
      ),
    );
    const records = await Promise.all(ids.map((id) => chimera!.waitFor(id, 20_000)));
    const text = await (await fetch(`${base}/metrics`)).text();

    for (const name of [
      'chimera_provider_requests_total',
      'chimera_provider_tokens_total',
      'chimera_provider_latency_seconds_bucket',
      'chimera_provider_circuit_state',
      'chimera_provider_rate_limit_wait_seconds_bucket',
      'chimera_conversations_active',
      'chimera_conversations_stored',
      'chimera_conversations_finished_total',
      'chimera_supervisor_conversations_total',
      'chimera_turns_total',
      'chimera_conversation_tokens_total',
      'chimera_turn_latency_seconds_bucket',
      'chimera_conversation_turns_bucket',
      'chimera_conversation_duration_seconds_bucket',
      'chimera_outbox_backlog',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(text, name).toContain(`\n${name}`);
    }
    const { status, terminationReason: reason } = records[0]!;
    const alike = records.filter((r) => r.status === status && r.terminationReason === reason);
    expect(text).toContain(
      `chimera_conversations_finished_total{status="${status}",reason="${reason}"} ${alike.length}`,
    );
    const turns = records.reduce((sum, r) => sum + r.turns.length, 0);
    const turnLines = [...text.matchAll(/^chimera_turns_total\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
    expect(turnLines.reduce((a, b) => a + b, 0)).toBe(turns);
    expect(text).toMatch(/^chimera_supervisor_conversations_total\{outcome="settled"\} 3$/m);
    expect(text).toMatch(/^chimera_conversations_stored\{status="ended"\} 3$/m);
    expect(text).toMatch(/^chimera_conversations_active 0$/m);
  });
});
