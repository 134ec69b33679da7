import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import type { GenerateRequest } from '../../src/services/ports.js';
import { RedisBreakerStateStore } from '../../src/services/redis/breaker-state-store.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import {
  configFor,
  deleteKeys,
  fakeProviderEnv,
  infraEnv,
  startChimera,
  uniqueNames,
  until,
} from '../support/infra.js';

const cleanups = cleanupsAfterEach();

const COOLDOWN_MS = 30_000;

const request: GenerateRequest = {
  system: 'You are terse.',
  messages: [{ role: 'user', content: 'Say something about grid-scale storage.' }],
  maxTokens: 32,
  temperature: 0,
};

/** Redis and the fake server only: breakers need neither Kafka nor intake. */
function env(names: ReturnType<typeof uniqueNames>, server: FakeProviderServer): Record<string, string> {
  const { KAFKA_BOOTSTRAP_SERVERS: _kafka, ...rest } = infraEnv({
    ...names.env,
    ...fakeProviderEnv(server),
    CIRCUIT_BREAKER_FAILURE_THRESHOLD: '2',
    CIRCUIT_BREAKER_COOLDOWN_SECONDS: String(COOLDOWN_MS / 1000),
    // One call per generate: each failure the breaker counts is one request the server saw.
    RETRY_MAX_ATTEMPTS: '1',
  });
  return rest;
}

function modelCalls(server: FakeProviderServer): number {
  return server.requests().filter((r) => r.dialect === 'anthropic' && r.operation === 'generate').length;
}

describe('breaker state across a daemon restart (real Redis)', () => {
  it('a daemon started after another saw a provider fail starts that breaker open, fails fast until openedAt + cool-down, then probes and closes', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await startFakeProviderServer();
    cleanups.add(() => server.close());
    const config = configFor(env(names, server));
    // Both daemons read one clock, so the test moves time past the cool-down instead of waiting for it.
    let now = Date.now();
    const clock = { now: () => now };

    // Daemon A: two 529s from Anthropic open its breaker, and its publisher reports it.
    const a = await startChimera(config, { intake: 'none', clock });
    let aStopped = false;
    cleanups.add(async () => aStopped || a.stop());
    server.script({ type: 'overloaded' }, { type: 'overloaded' });
    const anthropicA = a.parts.providers.get('anthropic')!;
    await expect(anthropicA.generate(request)).rejects.toMatchObject({ code: 'overloaded' });
    await expect(anthropicA.generate(request)).rejects.toMatchObject({ code: 'overloaded' });
    expect(modelCalls(server)).toBe(2);
    expect(a.parts.breakers.get('anthropic')!.state).toBe('open');
    const openedAt = a.parts.breakers.get('anthropic')!.context.openedAt!;
    expect(openedAt).toBe(now);
    await a.stop();
    aStopped = true;

    // Daemon B, five seconds later on the same prefix.
    now += 5_000;
    const lines: string[] = [];
    const logger = createLogger({
      level: 'info',
      destination: { write: (line: string) => lines.push(line) },
    });
    const b = await startChimera(config, { intake: 'none', clock, logger });
    cleanups.add(() => b.stop());
    const breaker = b.parts.breakers.get('anthropic')!;
    expect(breaker.state).toBe('open');
    expect(breaker.context.openedAt).toBe(openedAt);
    expect(b.parts.breakers.get('gemini')!.state).toBe('closed');
    const restored = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'circuit breaker for anthropic starts open from its stored state');
    expect(restored).toEqual([
      expect.objectContaining({
        level: 30,
        provider: 'anthropic',
        openedAt: new Date(openedAt).toISOString(),
        probeAt: new Date(openedAt + COOLDOWN_MS).toISOString(),
        reportedBy: a.owner,
      }),
    ]);
    // B reports the same opening as its own.
    await until(
      async () =>
        (await new RedisBreakerStateStore(b.parts.redis!, names.prefix).readAll()).anthropic?.instance ===
        b.owner,
      10_000,
      "B's breaker report",
    );
    expect(
      (await new RedisBreakerStateStore(b.parts.redis!, names.prefix).readAll()).anthropic,
    ).toMatchObject({
      state: 'open',
      openedAt,
    });

    // Until openedAt + cool-down, calls fail fast and never reach the provider.
    const anthropicB = b.parts.providers.get('anthropic')!;
    await expect(anthropicB.generate(request)).rejects.toMatchObject({
      code: 'circuit_open',
      retryAt: openedAt + COOLDOWN_MS,
    });
    now = openedAt + COOLDOWN_MS - 1;
    await expect(anthropicB.generate(request)).rejects.toMatchObject({ code: 'circuit_open' });
    expect(modelCalls(server)).toBe(2);

    // Then one probe goes; the provider has recovered, so the breaker closes.
    now = openedAt + COOLDOWN_MS;
    const answer = await anthropicB.generate(request);
    expect(answer.attempts).toBe(1);
    expect(answer.text.length).toBeGreaterThan(0);
    expect(modelCalls(server)).toBe(3);
    expect(breaker.state).toBe('closed');
    await until(
      async () =>
        (await new RedisBreakerStateStore(b.parts.redis!, names.prefix).readAll()).anthropic?.state ===
        'closed',
      10_000,
      'the closed breaker reported',
    );
  });

  it('a daemon started after the stored opening is older than its probe time plus one cool-down starts closed', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server = await startFakeProviderServer();
    cleanups.add(() => server.close());
    const config = configFor(env(names, server));
    let now = Date.now();
    const clock = { now: () => now };

    const a = await startChimera(config, { intake: 'none', clock });
    server.script({ type: 'overloaded' }, { type: 'overloaded' });
    const anthropicA = a.parts.providers.get('anthropic')!;
    await expect(anthropicA.generate(request)).rejects.toMatchObject({ code: 'overloaded' });
    await expect(anthropicA.generate(request)).rejects.toMatchObject({ code: 'overloaded' });
    expect(a.parts.breakers.get('anthropic')!.state).toBe('open');
    await a.stop();

    now += 2 * COOLDOWN_MS;
    const b = await startChimera(config, { intake: 'none', clock });
    cleanups.add(() => b.stop());
    expect(b.parts.breakers.get('anthropic')!.state).toBe('closed');
    const answer = await b.parts.providers.get('anthropic')!.generate(request);
    expect(answer.attempts).toBe(1);
    expect(modelCalls(server)).toBe(3);
  });
});
