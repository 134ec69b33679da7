/**
 * The web server of the dashboard (`chimera run --ui`) and the dataset viewer (`chimera view`): one page
 * application served from the package (nothing from a CDN), a read-only JSON API and one server-sent
 * events stream. Every request and stream passes the shared request guard (Host, Origin, token); only GET
 * and HEAD exist, so nothing can be driven from a page. Pages render text with `textContent` only, and a
 * strict Content-Security-Policy allows scripts and styles from this server alone.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertSafeBinding, createRequestGuard, withoutToken } from '../http/request-guard.js';

export interface UiBackend {
  readonly mode: 'live' | 'dataset';
  /** Shown in the page's header (a dataset's path, the daemon's instance). */
  readonly title: string;
  /** The JSON answer to `GET /api/<path>`, or undefined for 404. */
  api(path: string, query: URLSearchParams): Promise<unknown>;
  /** Starts a server-sent-events stream for one page; returns its cleanup. */
  stream?(send: (event: string, data: unknown) => void): () => void;
}

export interface UiServerOptions {
  backend: UiBackend;
  /** 0 asks the OS for a free port. */
  port: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** Required to listen beyond loopback; then checked on every request. */
  token?: string;
  /** Host names besides loopback accepted in Host and Origin. @default [] */
  allowedHosts?: readonly string[];
  /** Told about a handler that failed; the client gets a 500 either way. */
  onError?: (error: unknown) => void;
  /** The variable named when the binding is refused. @default 'UI_HOST' */
  hostVariable?: string;
}

export interface UiServer {
  readonly port: number;
  /** The address to open, without the token. */
  readonly url: string;
  /** Pages connected to the event stream now. */
  readonly watchers: number;
  close(): Promise<void>;
}

/** Scripts, styles, images and connections from this server only; no frames, forms, plugins or base. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A page that idles this long still gets a comment line, so proxies and browsers keep the stream open. */
const KEEPALIVE_MS = 15_000;

/** The pages' files: `src/ui/public` under tsx, `dist/ui/public` (copied by the build) when installed. */
export const PUBLIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

const require = createRequire(import.meta.url);
/** Files served from dependencies, by the name the pages ask for. */
const VENDOR: Record<string, string> = {
  'uPlot.iife.min.js': require.resolve('uplot/dist/uPlot.iife.min.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

async function serveFile(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) return false;
  const type = TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';
  response.writeHead(200, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': info.size,
    'cache-control': 'no-cache',
  });
  if (request.method === 'HEAD') {
    response.end();
    return true;
  }
  await new Promise<void>((resolve, reject) => {
    createReadStream(path).on('error', reject).on('end', resolve).pipe(response);
  });
  return true;
}

/**
 * Starts the server and resolves once it listens.
 * @throws {ConfigError} when asked to listen beyond loopback without a token; the listen error otherwise.
 */
export async function startUiServer(options: UiServerOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  assertSafeBinding(host, options.token, options.hostVariable ?? 'UI_HOST');
  const { backend } = options;
  let port = options.port;
  const guard = () =>
    createRequestGuard({
      bindHost: host,
      allowedHosts: options.allowedHosts,
      token: options.token,
      cookieName: `chimera_ui_token_${port}`,
    });
  let check = guard();
  const streams = new Set<ServerResponse>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const verdict = check.check(request);
    if (!verdict.ok) {
      send(response, verdict.status, 'text/plain; charset=utf-8', `${verdict.reason}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...SECURITY_HEADERS, allow: 'GET, HEAD' });
      response.end('read-only: only GET and HEAD\n');
      return;
    }
    if (verdict.setCookie) {
      response.writeHead(303, {
        ...SECURITY_HEADERS,
        location: withoutToken(request.url),
        'set-cookie': verdict.setCookie,
      });
      response.end();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/favicon.ico') {
      response.writeHead(204, SECURITY_HEADERS);
      response.end();
      return;
    }
    if (path === '/api/stream') return openStream(request, response);
    if (path.startsWith('/api/')) {
      const body = await backend.api(path.slice('/api/'.length), url.searchParams);
      if (body === undefined)
        send(response, 404, 'application/json; charset=utf-8', '{"error":"not found"}\n');
      else send(response, 200, 'application/json; charset=utf-8', JSON.stringify(body));
      return;
    }
    if (path.startsWith('/assets/')) {
      const name = path.slice('/assets/'.length);
      const vendor = VENDOR[name];
      const file = vendor ?? normalize(join(PUBLIC_DIR, name));
      if ((vendor || file.startsWith(`${PUBLIC_DIR}/`)) && (await serveFile(request, response, file))) return;
      send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
      return;
    }
    // Every other path is a page of the application (`/`, `/c/<id>`): the router in the page picks it.
    if (path === '/' || path.startsWith('/c/')) {
      if (await serveFile(request, response, join(PUBLIC_DIR, 'index.html'))) return;
    }
    send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  function openStream(request: IncomingMessage, response: ServerResponse): void {
    if (!backend.stream) {
      send(response, 404, 'text/plain; charset=utf-8', 'no live stream in this mode\n');
      return;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write('retry: 2000\n\n');
    streams.add(response);
    const keepalive = setInterval(() => response.write(': keepalive\n\n'), KEEPALIVE_MS);
    const stop = backend.stream((event, data) => {
      // A page that stopped reading loses deltas instead of growing the server's memory; it resyncs on
      // the next summary.
      if (response.writableLength > 4 * 1024 * 1024) return;
      response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    });
    request.on('close', () => {
      clearInterval(keepalive);
      streams.delete(response);
      stop();
    });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.onError?.(error);
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.end();
    });
  });
  // Browsers have no business upgrading this server to anything.
  server.on('upgrade', (_request, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => options.onError?.(error));
  port = (server.address() as AddressInfo).port;
  check = guard();
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;

  return {
    port,
    url: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`,
    get watchers() {
      return streams.size;
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const stream of streams) stream.end();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
