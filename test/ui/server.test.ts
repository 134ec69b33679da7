import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LiveAggregator } from '../../src/ui/live-aggregator.js';
import { liveBackend } from '../../src/ui/live-backend.js';
import { CONTENT_SECURITY_POLICY, startUiServer, type UiServer } from '../../src/ui/server.js';

let server: UiServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so the test controls the path (fetch would normalise `..`) and every header. */
function call(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      response.on('end', () =>
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
    });
    req.once('error', reject);
    req.end();
  });
}

const backend = () => liveBackend({ aggregator: new LiveAggregator(), title: 'daemon-1' });

describe('the dashboard server', () => {
  it('serves the page and its assets from the package with a strict Content-Security-Policy', async () => {
    server = await startUiServer({ backend: backend(), port: 0 });
    const page = await call(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    // Every script and stylesheet the page names is served here, none from elsewhere.
    const assets = [...page.body.matchAll(/<(?:script[^>]*src|link[^>]*href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset.startsWith('/assets/')).toBe(true);
      expect((await call(server.port, asset)).status).toBe(200);
    }
    expect((await call(server.port, '/assets/app.js')).headers['content-type']).toContain('text/javascript');
  });

  it('is read-only and serves nothing outside its own files', async () => {
    server = await startUiServer({ backend: backend(), port: 0 });
    expect((await call(server.port, '/api/summary', {}, 'POST')).status).toBe(405);
    expect((await call(server.port, '/api/conversations/x', {}, 'DELETE')).status).toBe(405);
    expect((await call(server.port, '/assets/../../../package.json')).status).toBe(404);
    expect((await call(server.port, '/assets/%2e%2e/%2e%2e/config.ts')).status).toBe(404);
    expect((await call(server.port, '/api/nothing')).status).toBe(404);
  });

  it('with a token: refuses without it, moves it from the link into an HTTP-only cookie, and never shows it', async () => {
    const token = 'tok-0123456789abcdef-secret';
    server = await startUiServer({ backend: backend(), port: 0, host: '127.0.0.1', token });
    expect((await call(server.port, '/')).status).toBe(401);
    expect((await call(server.port, '/api/summary')).status).toBe(401);
    expect((await call(server.port, '/api/stream')).status).toBe(401);
    const entry = await call(server.port, `/c/abc?token=${token}`);
    expect(entry.status).toBe(303);
    expect(entry.headers.location).toBe('/c/abc');
    const cookie = String(entry.headers['set-cookie']);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const withCookie = { cookie: cookie.split(';')[0]! };
    for (const path of ['/', '/api/info', '/api/summary', '/api/conversations']) {
      const answer = await call(server.port, path, withCookie);
      expect(answer.status).toBe(200);
      expect(answer.body).not.toContain(token);
    }
    expect((await call(server.port, '/api/info', { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(server.url).not.toContain(token);
  });
});
