import { createServer, type Server, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { kafkaCheck } from '../../src/http/checks/kafka.js';
import { Readiness } from '../../src/http/readiness.js';
import { createRoutes } from '../../src/http/routes.js';
import { startHttpServer } from '../../src/http/server.js';
import { createLogger } from '../../src/logger.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const logger = createLogger({ level: 'silent' });
const cleanups = cleanupsAfterEach();

/** The daemon's /readyz with the daemon's Kafka check against `brokers`. */
async function readyz(brokers: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const config = loadConfig({ KAFKA_BOOTSTRAP_SERVERS: brokers });
  const readiness = new Readiness({ checks: [kafkaCheck(config.kafka!, logger)] });
  readiness.phase = 'running';
  cleanups.add(() => readiness.close());
  const server = await startHttpServer({
    port: 0,
    host: '127.0.0.1',
    handler: createRoutes({ readiness, registry: new Registry() }),
  });
  cleanups.add(() => server.close());
  const response = await fetch(`http://127.0.0.1:${server.port}/readyz`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A "broker" that accepts connections and never says a word. */
async function silentBroker(): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as { port: number }).port;
}

describe('/readyz and Kafka', () => {
  it('is ready with the broker up', async () => {
    const { status, body } = await readyz(inject('kafkaBrokers'));
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'ready', checks: { kafka: 'ok' } });
  });

  it('answers 503 with the code not_answering, and not the broker address, when nothing listens there', async () => {
    const port = await closedPort();
    const { status, body } = await readyz(`127.0.0.1:${port}`);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'not ready', ready: false });
    expect((body.checks as Record<string, string>).kafka).toBe('not_answering');
    expect(body.reasons).toEqual(['kafka: not_answering']);
    expect(JSON.stringify(body)).not.toContain(String(port));
  });

  it('answers 503 naming Kafka when the broker accepts connections and never answers', async () => {
    const { status, body } = await readyz(`127.0.0.1:${await silentBroker()}`);
    expect(status).toBe(503);
    expect((body.checks as Record<string, string>).kafka).not.toBe('ok');
    expect((body.reasons as string[]).some((reason) => reason.startsWith('kafka: '))).toBe(true);
  });
});
