/**
 * The three endpoints: `/healthz` (the process is alive and serving), `/readyz` (it should receive work;
 * 503 with the reasons otherwise) and `/metrics` (Prometheus text exposition of the service registry).
 */
import type { ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';
import type { RequestHandler } from './server.js';

export interface RoutesOptions {
  readiness: Readiness;
  /** The registry `/metrics` exposes: the service's (provider, conversation and process metrics). */
  registry: Registry;
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(`${JSON.stringify(body)}\n`);
}

export function createRoutes(options: RoutesOptions): RequestHandler {
  const { readiness, registry } = options;
  return async (request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
      response.end('method not allowed\n');
      return;
    }
    switch (path) {
      case '/healthz':
        // Answering at all is the proof of life; dependencies belong to readiness, so a Redis outage
        // does not get a healthy daemon restarted.
        json(response, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const report = await readiness.report();
        json(response, report.ready ? 200 : 503, { status: report.ready ? 'ready' : 'not ready', ...report });
        return;
      }
      case '/metrics': {
        const text = await registry.metrics();
        response.writeHead(200, { 'content-type': registry.contentType });
        response.end(text);
        return;
      }
      default:
        json(response, 404, {
          error: `no such endpoint: ${path}`,
          endpoints: ['/healthz', '/readyz', '/metrics'],
        });
    }
  };
}
