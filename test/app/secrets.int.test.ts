import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { createLogger } from '../../src/logger.js';
import { clearRegisteredSecrets } from '../../src/redact.js';
import type { InMemoryEventBus } from '../../src/services/memory/event-bus.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { configFor, fakeProviderEnv, startChimera } from '../support/infra.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  clearRegisteredSecrets();
});

describe('secrets', () => {
  it('provider keys quoted back by the provider reach no log line, event, snapshot or record', async () => {
    const canary = {
      anthropic: `sk-ant-api03-${randomBytes(16).toString('hex')}`,
      gemini: `AIza${randomBytes(16).toString('hex')}`,
    };
    // The provider quotes the caller's key in every error, as some gateways do.
    const fake: FakeProviderServer = await startFakeProviderServer({
      latencyMs: 5,
      respond: (request) =>
        request.operation === 'generate' && request.seq % 3 === 0
          ? {
              type: 'status',
              status: 500,
              message: `refused credential ${request.apiKey} (key=${request.apiKey})`,
            }
          : undefined,
    });
    cleanups.push(() => fake.close());
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk, _encoding, callback) {
        lines.push(String(chunk));
        callback();
      },
    });
    const env = {
      ...fakeProviderEnv(fake),
      ANTHROPIC_API_KEY: canary.anthropic,
      GOOGLE_API_KEY: canary.gemini,
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
      RETRY_MAX_ATTEMPTS: '2',
      RETRY_BASE_DELAY_MS: '1',
    };
    const chimera: Chimera = await startChimera(configFor(env), {
      logger: createLogger({ level: 'trace', destination }),
    });
    cleanups.push(() => chimera.stop());

    const ids = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        chimera.startNewConversation({ id: `secret-${i}`, title: `Secret topic ${i}: tidal energy` }),
      ),
    );
    const records = await Promise.all(ids.map((id) => chimera.waitFor(id, 60_000)));
    // Some calls failed with the key in the provider's answer: the test exercised the error paths.
    expect(fake.stats().byStatus['500'] ?? 0).toBeGreaterThan(0);

    const snapshots = await Promise.all(ids.map((id) => chimera.parts.store.load(id)));
    const bus = chimera.parts.bus as InMemoryEventBus;
    const events = bus.read('events').map((message) => message.value.toString('utf8'));
    const places = {
      logs: lines.join(''),
      events: events.join('\n'),
      snapshots: JSON.stringify(snapshots),
      records: JSON.stringify(records),
    };
    expect(places.logs.length).toBeGreaterThan(0);
    // The provider's quote (minus the key) did travel into the records: the paths were exercised.
    expect(places.records).toContain('refused credential');
    expect(events.length).toBeGreaterThan(0);
    for (const [where, text] of Object.entries(places)) {
      for (const secret of Object.values(canary)) {
        expect(text.includes(secret), `${where} holds a key`).toBe(false);
        expect(text.includes(secret.slice(-16)), `${where} holds part of a key`).toBe(false);
      }
    }
  }, 120_000);
});
