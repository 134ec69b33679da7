/**
 * The crash window between a provider taking a batch and its id being recorded: a daemon whose batch
 * store fails the write after the create (as a daemon killed right then would leave it) is stopped
 * without releasing anything; a second daemon adopts the intent once its lease lapses, finds the batch in
 * the provider's list (by the tag the submission carried, or for Anthropic by its size, age and custom
 * ids) and distributes its answers instead of submitting the requests again. The real SDKs against the
 * fake server, whose custom-id counts are the witness; the real Redis batch store and turn cache.
 */
import { describe, expect, inject, it } from 'vitest';
import { ProviderBatcher } from '../../src/batch/provider-batcher.js';
import { loadConfig } from '../../src/config.js';
import { type BatchApi, type BatchRequest, type BatchStore, systemClock } from '../../src/services/ports.js';
import { AnthropicBatchApi } from '../../src/services/providers/batch/anthropic.js';
import { GeminiBatchApi } from '../../src/services/providers/batch/gemini.js';
import { OpenAiBatchApi } from '../../src/services/providers/batch/openai.js';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { deleteKeys, fakeProviderEnv, uniqueNames, until } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

type Provider = 'anthropic' | 'gemini' | 'openai';
const CONVERSATIONS = 5;
const LEASE_MS = 1_000;

/** The batch store of a daemon killed right after the provider took its batch: the id is never written. */
class CrashAfterCreate implements BatchStore {
  crashed = false;
  constructor(private readonly inner: BatchStore) {}
  recordIntent: BatchStore['recordIntent'] = (intent) => this.inner.recordIntent(intent);
  recordSubmitted: BatchStore['recordSubmitted'] = async () => {
    this.crashed = true;
    throw new Error('the daemon died before the batch id was written');
  };
  release: BatchStore['release'] = (intentId, provider) => this.inner.release(intentId, provider);
  holderOf: BatchStore['holderOf'] = (provider, customId) => this.inner.holderOf(provider, customId);
  list: BatchStore['list'] = (provider) => this.inner.list(provider);
  renew: BatchStore['renew'] = (...args) => this.inner.renew(...args);
  adopt: BatchStore['adopt'] = (...args) => this.inner.adopt(...args);
}

function apiFor(provider: Provider, server: FakeProviderServer): BatchApi {
  const config = loadConfig({
    ...fakeProviderEnv(server),
    OPENAI_API_KEY: 'sk-test-key-0000000000',
    OPENAI_BASE_URL: server.urls.openai,
  });
  if (provider === 'anthropic') return new AnthropicBatchApi(config.providers.anthropic);
  if (provider === 'gemini') return new GeminiBatchApi(config.providers.gemini);
  return new OpenAiBatchApi(config.providers.openai);
}

const request = (i: number): BatchRequest['request'] => ({
  system: 'You discuss tidal power.',
  messages: [{ role: 'user', content: `Question ${i}: how do tidal lagoons store energy?` }],
  maxTokens: 64,
  temperature: 0.7,
});

describe('a batch the provider took before its id was recorded', () => {
  it.each([
    // Tagged: OpenAI keeps the tag in the batch metadata, Gemini in the display name.
    ['openai', 1_500],
    ['gemini', 1_500],
    // Untagged: a batch still running is the one candidate of its size and age...
    ['anthropic', 4_000],
    // ...one already ended is confirmed by the custom ids in its results.
    ['anthropic', 0],
  ] as const)(
    '%s (batch delay %i ms): found in the provider list on adoption, each custom id submitted exactly once',
    async (provider, delayMs) => {
      const names = uniqueNames();
      cleanups.add(() => deleteKeys(names.prefix));
      const server = await startFakeProviderServer();
      cleanups.add(() => server.close());
      server.setBatchBehaviour({ delayMs });
      const redis = createRedis(inject('redisUrl'));
      cleanups.add(() => redis.quit());
      const settings = { collectMs: 200, pollMinMs: 100, pollMaxMs: 200, leaseMs: LEASE_MS };
      const batcher = (owner: string, store: BatchStore) =>
        new ProviderBatcher({
          api: apiFor(provider, server),
          store,
          turnCache: new RedisTurnCache(redis, names.prefix),
          clock: systemClock,
          owner,
          settings,
        }).start();
      // An earlier batch of the same size, ended and released: not to be mistaken for the lost one.
      const key = (i: number) => ({ conversationId: `${names.id}-c${i}`, turnIndex: 0, generation: 0 });

      const warmUp = await batcher(`warm-${names.id}`, new RedisBatchStore(redis, names.prefix));
      await Promise.all(
        Array.from({ length: CONVERSATIONS }, (_, i) =>
          warmUp.call({ conversationId: `${names.id}-earlier${i}`, turnIndex: 0, generation: 0 }, request(i)),
        ),
      );
      warmUp.stop();

      const crashing = new CrashAfterCreate(new RedisBatchStore(redis, names.prefix));
      const first = await batcher(`first-${names.id}`, crashing);
      const lost = Array.from({ length: CONVERSATIONS }, (_, i) =>
        first.call(key(i), request(i)).catch(() => undefined),
      );
      await until(() => crashing.crashed, 15_000, 'the batch taken, its id not written');
      first.stop();
      await Promise.all(lost);

      const second = await batcher(`second-${names.id}`, new RedisBatchStore(redis, names.prefix));
      cleanups.add(async () => second.stop());
      const turns = await Promise.all(
        Array.from({ length: CONVERSATIONS }, (_, i) => second.call(key(i), request(i))),
      );
      for (const turn of turns) {
        expect(turn.batch).toBe(true);
        expect(turn.text.length).toBeGreaterThan(0);
      }

      // The witness: the lost batch was the only one made for these ids, and it was answered once.
      const counts = server.batchCustomIds();
      expect(counts).toHaveLength(2 * CONVERSATIONS);
      for (const count of counts)
        expect({ id: count.customId, submitted: count.submitted, succeeded: count.succeeded }).toEqual({
          id: count.customId,
          submitted: 1,
          succeeded: 1,
        });
      expect(server.batchStates()).toHaveLength(2);
      await until(
        async () => (await new RedisBatchStore(redis, names.prefix).list(provider)).length === 0,
        10_000,
        'the recovered intent released',
      );
    },
    60_000,
  );
});
