import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../../src/services/ports.js';
import { fakeProviderEnv, parseFakeProviderArgs, runFakeProvider } from '../../tools/fake-provider/main.js';
import {
  type FakeProviderServer,
  type FakeProviderServerOptions,
  startFakeProviderServer,
} from '../../tools/fake-provider/server.js';

const OPENAI_BODY = {
  model: 'gpt-test',
  messages: [{ role: 'user', content: 'Topic: tides. Why are there two a day?' }],
  max_tokens: 100,
};

const ANTHROPIC_BODY = {
  model: 'claude-test',
  max_tokens: 100,
  messages: [{ role: 'user', content: 'Topic: tides. Why are there two a day?' }],
};

function manualClock(start = Date.UTC(2030, 0, 1)): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('fake provider server', () => {
  let fake: FakeProviderServer | undefined;
  const start = async (options: FakeProviderServerOptions = {}) => {
    fake = await startFakeProviderServer(options);
    return fake;
  };
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  const chat = (server: FakeProviderServer, key = 'k-1', body: unknown = OPENAI_BODY) =>
    fetch(`${server.urls.openai}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });

  it('enforces its requests-per-minute quota with a 429 and a retry-after until the window slides', async () => {
    const clock = manualClock();
    const server = await start({ clock, quota: { rpm: 2 } });
    expect((await chat(server)).status).toBe(200);
    clock.advance(10_000);
    expect((await chat(server)).status).toBe(200);
    const refused = await chat(server);
    expect(refused.status).toBe(429);
    // The oldest request leaves the 60 s window 50 s from now.
    expect(refused.headers.get('retry-after')).toBe('50');
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('rate_limit_exceeded');

    clock.advance(50_000);
    expect((await chat(server)).status).toBe(200);
    expect(server.stats().quotaRejections).toBe(1);
  });

  it('enforces its tokens-per-minute quota', async () => {
    const clock = manualClock();
    // The request's input estimate (~32 tokens) fits once; with its output added a second one cannot.
    const server = await start({ clock, quota: { tpm: 40 } });
    expect((await chat(server)).status).toBe(200);
    const refused = await chat(server);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBe(60);
    clock.advance(60_000);
    expect((await chat(server)).status).toBe(200);
  });

  it('sends Anthropic rate-limit headers with a successful answer under a quota', async () => {
    const server = await start({ quota: { rpm: 10, tpm: 10_000 } });
    const response = await fetch(`${server.urls.anthropic}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(ANTHROPIC_BODY),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('anthropic-ratelimit-requests-limit')).toBe('10');
    expect(response.headers.get('anthropic-ratelimit-requests-remaining')).toBe('9');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
  });

  it('logs every request with its time, headers, key and status, and counts them', async () => {
    const clock = manualClock();
    const server = await start({ clock });
    server.script({ type: 'server_error' });
    await chat(server, 'first-key');
    clock.advance(1500);
    await chat(server, 'second-key');

    const log = server.requests();
    expect(
      log.map((entry) => [entry.seq, entry.dialect, entry.operation, entry.apiKey, entry.status]),
    ).toEqual([
      [1, 'openai', 'generate', 'first-key', 500],
      [2, 'openai', 'generate', 'second-key', 200],
    ]);
    expect(log[1]!.at - log[0]!.at).toBe(1500);
    expect(log[0]!.headers['content-type']).toBe('application/json');
    expect(log[0]!.body).toEqual(OPENAI_BODY);
    expect(server.stats()).toMatchObject({
      total: 2,
      byStatus: { '200': 1, '500': 1 },
      byPath: { '/v1/chat/completions': 2 },
      byDialect: { openai: 2, anthropic: 0, gemini: 0 },
    });
  });

  it('plays scripted behaviours in order, then asks the responder, then answers normally', async () => {
    const server = await start();
    server.script({ type: 'unavailable' }, { type: 'bad_request' });
    server.respond((request) => (request.seq === 3 ? { type: 'overloaded' } : undefined));
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await chat(server)).status);
    expect(statuses).toEqual([503, 400, 529, 200]);
  });

  it('answers in each provider error shape', async () => {
    const server = await start();
    server.script({ type: 'overloaded' }, { type: 'spend_limit' });
    const overloaded = await fetch(`${server.urls.anthropic}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify(ANTHROPIC_BODY),
    });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({ type: 'error', error: { type: 'overloaded_error' } });

    const spend = await fetch(`${server.urls.gemini}/v1beta/models/gemini-test:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    expect(spend.status).toBe(429);
    expect(await spend.json()).toMatchObject({ error: { code: 429, status: 'RESOURCE_EXHAUSTED' } });
  });

  it('accepts the Gemini key as a query parameter and the v1 path', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/v1/models/gemini-test:generateContent?key=query-key`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Why is the sky blue?' }] }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { candidates: Array<{ content: { role: string } }> };
    expect(body.candidates[0]!.content.role).toBe('model');
    expect(server.requests()[0]).toMatchObject({
      dialect: 'gemini',
      apiKey: 'query-key',
      model: 'gemini-test',
    });
  });

  it('rejects keys it does not know when given a list', async () => {
    const server = await start({ apiKeys: ['good-key'] });
    expect((await chat(server, 'good-key')).status).toBe(200);
    const refused = await chat(server, 'bad-key');
    expect(refused.status).toBe(401);
    expect(server.requests()[1]!.behaviour).toBe('auth_rejected');
  });

  it('answers 400 in the provider shape to a request it cannot parse', async () => {
    const server = await start();
    const response = await chat(server, 'k', { model: 'gpt-test', messages: [] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('answers 404 to an unknown route', async () => {
    const server = await start();
    expect((await fetch(`${server.url}/v2/unknown`)).status).toBe(404);
  });

  it('a hung request is released when the server closes', async () => {
    const server = await start();
    server.script({ type: 'hang' });
    const pending = chat(server).then(
      () => 'answered',
      () => 'connection closed',
    );
    await vi.waitFor(() => expect(server.requests()).toHaveLength(1));
    await server.close();
    expect(await pending).toBe('connection closed');
  });

  it('parses its command line and prints the base URLs as environment lines', async () => {
    expect(parseFakeProviderArgs(['--port', '9999', '--rpm', '30'])).toMatchObject({ port: 9999, rpm: 30 });
    expect(() => parseFakeProviderArgs(['--port', 'abc'])).toThrow(/--port: expected a whole number/);
    const lines: string[] = [];
    fake = await runFakeProvider(['--port', '0'], (line) => lines.push(line));
    expect(lines).toEqual([`fake provider listening on ${fake.url}`, ...fakeProviderEnv(fake)]);
    expect(lines).toContain(`OPENAI_BASE_URL=${fake.url}/v1`);
  });
});
