import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type InspectorRelay, startInspectorRelay } from '../../src/inspect/relay-server.js';

let relay: InspectorRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** Opens a WebSocket with the given headers; resolves with 'open' or the HTTP status that refused it. */
function connect(port: number, headers: Record<string, string>): Promise<'open' | number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}`, { headers });
    socket.once('open', () => {
      socket.terminate();
      resolve('open');
    });
    socket.once('unexpected-response', (_request, response) => {
      socket.terminate();
      resolve(response.statusCode ?? 0);
    });
    socket.once('error', (error) => reject(error));
  });
}

/** A plain GET of the bridge page with a chosen Host header (node's fetch does not let a test set it). */
function getPage(port: number, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', headers }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    req.once('error', reject);
    req.end();
  });
}

describe("the inspector's WebSocket and page accept only their own origin and loopback hosts", () => {
  it('refuses a WebSocket opened by a page of another origin with 403, and sends it no event', async () => {
    relay = await startInspectorRelay({ port: 0 });
    relay.broadcast({ type: '@xstate.event', sessionId: 's', event: { type: 'SECRET_TOPIC' } } as never);
    expect(await connect(relay.port, { Origin: 'https://evil.example' })).toBe(403);
  });

  it('refuses a DNS-rebinding request (a foreign Host header) on the page and on the WebSocket', async () => {
    relay = await startInspectorRelay({ port: 0 });
    const foreign = `evil.example:${relay.port}`;
    expect(await getPage(relay.port, { Host: foreign })).toBe(403);
    expect(await connect(relay.port, { Host: foreign, Origin: `http://${foreign}` })).toBe(403);
  });

  it('accepts its own page, loopback names and clients that send no Origin', async () => {
    relay = await startInspectorRelay({ port: 0 });
    const port = relay.port;
    expect(await connect(port, { Origin: `http://127.0.0.1:${port}` })).toBe('open');
    expect(await connect(port, { Host: `localhost:${port}`, Origin: `http://localhost:${port}` })).toBe(
      'open',
    );
    expect(await connect(port, {})).toBe('open');
    expect(await getPage(port, { Host: `localhost:${port}` })).toBe(200);
    expect(await getPage(port, { Host: `[::1]:${port}` })).toBe(200);
  });

  it('accepts a host the operator allowed, and a page of that host', async () => {
    relay = await startInspectorRelay({ port: 0, allowedHosts: ['inspector.internal'] });
    const host = `inspector.internal:${relay.port}`;
    expect(await getPage(relay.port, { Host: host })).toBe(200);
    expect(await connect(relay.port, { Host: host, Origin: `http://${host}` })).toBe('open');
    // Allowing a host does not allow pages of other origins to read it.
    expect(await connect(relay.port, { Host: host, Origin: 'http://other.internal' })).toBe(403);
  });
});
