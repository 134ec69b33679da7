/**
 * The inspector's server: one port that serves the bridge page over HTTP and relays inspection events
 * to every connected WebSocket client (the bridge page, or any tool that speaks the Stately inspection
 * protocol). A client that connects late first gets the live actors' registrations and the most recent
 * events, so it can draw what is running now.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StatelyInspectionEvent } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import { createRequestGuard, withoutToken } from '../http/request-guard.js';
import { scrub } from '../redact.js';
import { bridgePage, STATELY_INSPECTOR_URL } from './bridge-page.js';

export interface InspectorRelayOptions {
  /** 0 asks the OS for a free port; `InspectorRelay.port` says which. @default DEFAULT_INSPECT_PORT */
  port?: number;
  /**
   * Interface to listen on. Inspection shows conversation content, so only this machine by default; use
   * 0.0.0.0 inside a container whose port is published.
   * @default '127.0.0.1'
   */
  host?: string;
  /** Recent events replayed to a client that connects. @default DEFAULT_REPLAY_EVENTS */
  replayEvents?: number;
  /** Live actors whose registration is kept for late clients. @default DEFAULT_REPLAY_ACTORS */
  replayActors?: number;
  /** The inspector UI the bridge page embeds. @default STATELY_INSPECTOR_URL */
  inspectorUrl?: string;
  /**
   * Host names besides loopback that browsers may reach the inspector under (see `request-guard.ts`);
   * every other Host, and every page of another origin, is refused with 403.
   * @default []
   */
  allowedHosts?: readonly string[];
  /** Required on every request and WebSocket when set (`UI_TOKEN`). @default none */
  token?: string;
}

/** The port `@statelyai/inspect`'s own server and examples use, so its docs apply unchanged. */
export const DEFAULT_INSPECT_PORT = 8080;
/** Enough recent transitions to show a few conversations' last turns without holding much memory. */
export const DEFAULT_REPLAY_EVENTS = 1_000;
/** Above the default concurrency (100 conversations, each with a few child actors) with room to spare. */
export const DEFAULT_REPLAY_ACTORS = 5_000;
/** A browser that falls this far behind loses events rather than growing the daemon's memory. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

const FINISHED = new Set(['done', 'error', 'stopped']);

export interface InspectorRelay {
  readonly port: number;
  /** The bridge page's address (open it in a browser); the WebSocket endpoint is the same with ws://. */
  readonly url: string;
  /** Sends one inspection event to every client, and keeps it for late ones. */
  broadcast(event: StatelyInspectionEvent): void;
  /** Clients connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

/**
 * Starts the relay and resolves once it listens.
 * @throws the listen error (e.g. `EADDRINUSE`) when the port cannot be bound.
 */
export async function startInspectorRelay(options: InspectorRelayOptions = {}): Promise<InspectorRelay> {
  const host = options.host ?? '127.0.0.1';
  const replayEvents = options.replayEvents ?? DEFAULT_REPLAY_EVENTS;
  const replayActors = options.replayActors ?? DEFAULT_REPLAY_ACTORS;
  const page = bridgePage(options.inspectorUrl ?? STATELY_INSPECTOR_URL);
  // Cookies ignore ports: the cookie is named after the bound port so two servers' tokens do not collide.
  const guardFor = (port: number) =>
    createRequestGuard({
      bindHost: host,
      allowedHosts: options.allowedHosts,
      token: options.token,
      cookieName: `chimera_inspect_token_${port}`,
    });
  let guard = guardFor(options.port ?? DEFAULT_INSPECT_PORT);

  const http = createServer((request, response) => {
    const verdict = guard.check(request);
    if (!verdict.ok) {
      response.writeHead(verdict.status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(`${verdict.reason}\n`);
      return;
    }
    if (verdict.setCookie) {
      response.writeHead(303, { location: withoutToken(request.url), 'set-cookie': verdict.setCookie });
      response.end();
      return;
    }
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'content-security-policy': page.csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    response.end(page.html);
  });
  // Browsers let any page open a WebSocket to any address: the Origin and Host checks are what keep the
  // events (topics and turns) from a page of another site or a DNS-rebinding name.
  const wss = new WebSocketServer({
    server: http,
    verifyClient: (info, done) => {
      const verdict = guard.check(info.req);
      if (verdict.ok) done(true);
      else done(false, verdict.status, verdict.reason);
    },
  });
  const actors = new Map<string, string>();
  const recent: string[] = [];

  wss.on('connection', (socket) => {
    for (const message of actors.values()) socket.send(message);
    for (const message of recent) socket.send(message);
    // Clients only listen; the relay does not forward what they send.
    socket.on('error', () => socket.terminate());
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen({ port: options.port ?? DEFAULT_INSPECT_PORT, host }, () => {
      http.off('error', reject);
      resolve();
    });
  });
  // A failing socket after start must not take the daemon down with an unhandled `error` event.
  http.on('error', () => {});
  wss.on('error', () => {});

  const port = (http.address() as AddressInfo).port;
  guard = guardFor(port);
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;

  function remember(event: StatelyInspectionEvent, message: string): void {
    if (event.type === '@xstate.actor') {
      actors.set(event.sessionId, message);
      if (actors.size > replayActors) actors.delete(actors.keys().next().value!);
      return;
    }
    if (event.type === '@xstate.snapshot' && FINISHED.has(String(event.snapshot?.status))) {
      actors.delete(event.sessionId);
    }
    recent.push(message);
    if (recent.length > replayEvents) recent.shift();
  }

  return {
    port,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`,
    get clients() {
      return wss.clients.size;
    },
    broadcast(event) {
      // Context and events hold topics and turns, never clients or keys; scrubbing still catches a
      // registered secret that found its way into an error message.
      const message = JSON.stringify(scrub(event));
      remember(event, message);
      for (const client of wss.clients) {
        if (client.readyState === WebSocket.OPEN && client.bufferedAmount < MAX_BUFFERED_BYTES) {
          client.send(message);
        }
      }
    },
    close() {
      return new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => http.close(() => resolve()));
        http.closeAllConnections();
      });
    },
  };
}
