/**
 * The provider's breaker counts whole batches: a submission that fails and a batch that fails are
 * failures, a batch read is a success, and an open breaker holds the next submission. A batcher over the
 * real Anthropic SDK against the fake server, the real Redis batch store and turn cache, and the real
 * breaker (`ProviderBreaker`, the circuit-breaker machine); the server's request log is the witness of
 * what was submitted when.
 */
import { Registry } from 'prom-client';
import { describe, expect, inject, it } from 'vitest';
import { instrumentBatchers } from '../../src/app/batch-metrics.js';
import { ProviderBatcher } from '../../src/batch/provider-batcher.js';
import { loadConfig } from '../../src/config.js';
import { isChimeraError } from '../../src/errors.js';
import { ProviderBreaker } from '../../src/resilience/provider-breaker.js';
import { type BatchRequest, systemClock } from '../../src/services/ports.js';
import { AnthropicBatchApi } from '../../src/services/providers/batch/anthropic.js';
import { GeminiBatchApi } from '../../src/services/providers/batch/gemini.js';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { deleteKeys, fakeProviderEnv, uniqueNames, until } from '../support/infra.js';

const cleanups = cleanupsAfterEach();

const COOLDOWN_MS = 1_500;

type Provider = 'anthropic' | 'gemini';

async function setUp(provider: Provider = 'anthropic') {
  const names = uniqueNames();
  cleanups.add(() => deleteKeys(names.prefix));
  const server: FakeProviderServer = await startFakeProviderServer();
  cleanups.add(() => server.close());
  const config = loadConfig(fakeProviderEnv(server));
  const redis = createRedis(inject('redisUrl'));
  cleanups.add(() => redis.quit());
  const breaker = new ProviderBreaker({ name: provider, threshold: 2, cooldownMs: COOLDOWN_MS });
  cleanups.add(async () => breaker.stop());
  const batcher = await new ProviderBatcher({
    api:
      provider === 'anthropic'
        ? new AnthropicBatchApi(config.providers.anthropic)
        : new GeminiBatchApi(config.providers.gemini),
    store: new RedisBatchStore(redis, names.prefix),
    turnCache: new RedisTurnCache(redis, names.prefix),
    clock: systemClock,
    owner: `owner-${names.id}`,
    // Calls made together go in one batch.
    settings: { collectMs: 200, pollMinMs: 100, pollMaxMs: 200 },
    breaker,
  }).start();
  cleanups.add(async () => batcher.stop());
  const creates = () =>
    server
      .requests()
      .filter(
        (r) =>
          r.method === 'POST' && (r.path === '/v1/messages/batches' || /:batchGenerateContent$/.test(r.path)),
      );
  const call = (conversationId: string) =>
    batcher.call({ conversationId: `${names.id}-${conversationId}`, turnIndex: 0, generation: 0 }, request);
  return { server, breaker, batcher, creates, call };
}

const request: BatchRequest['request'] = {
  system: 'You discuss tidal power.',
  messages: [{ role: 'user', content: 'How do tidal lagoons store energy?' }],
  maxTokens: 64,
  temperature: 0.7,
};

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return isChimeraError(error) ? error.code : String(error);
  }
  throw new Error('the call was answered');
}

describe('the breaker counts whole batches', () => {
  // Anthropic has no failed state: a batch lost whole comes back expired (every request expired).
  it.each([
    ['gemini', 'failed', 'server_error'],
    ['anthropic', 'expired', 'timeout'],
  ] as const)(
    '%s: a batch %s and its resubmission too open the breaker; while open nothing is submitted; after the cool-down a batch goes and closes it',
    async (provider, outcome, code) => {
      const { server, breaker, batcher, creates, call } = await setUp(provider);
      const registry = new Registry();
      instrumentBatchers(registry, [batcher]);
      const held = () => registry.getSingleMetricAsString('chimera_batch_submission_held');
      expect(await held()).toContain(`chimera_batch_submission_held{provider="${provider}"} 0`);
      server.setBatchBehaviour({ outcome });
      const codes = await Promise.all(['a', 'b', 'c'].map((id) => failure(call(id))));
      expect(codes).toEqual([code, code, code]);
      // The batch and its one resubmission: two failures, the threshold.
      expect(creates()).toHaveLength(2);
      expect(breaker.state).toBe('open');

      server.setBatchBehaviour({ outcome: 'ended' });
      const answer = call('d');
      await until(() => batcher.heldByBreaker, 5_000, 'the submission held by the open breaker');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(creates()).toHaveLength(2);
      expect(breaker.state).toBe('open');
      // The hold is visible on /metrics while it lasts, and gone once the probe went.
      expect(await held()).toContain(`chimera_batch_submission_held{provider="${provider}"} 1`);

      const turn = await answer;
      expect(turn.text.length).toBeGreaterThan(0);
      expect(turn.batch).toBe(true);
      // The probe was the submission; the batch read closed the breaker for good.
      expect(creates()).toHaveLength(3);
      expect(breaker.state).toBe('closed');
      expect(breaker.context.failures).toBe(0);
      expect(await held()).toContain(`chimera_batch_submission_held{provider="${provider}"} 0`);
    },
    60_000,
  );

  it('a submission the provider refused counts as a failure, a batch read as a success; two refusals in a row open it', async () => {
    const { server, breaker, creates, call } = await setUp();
    let refusals = 1;
    server.respond((entry) =>
      entry.method === 'POST' && entry.path === '/v1/messages/batches' && refusals-- > 0
        ? { type: 'server_error' }
        : undefined,
    );
    // Refused once (one failure), resubmitted and answered (a success: the count starts again).
    const turn = await call('a');
    expect(turn.batch).toBe(true);
    expect(creates()).toHaveLength(2);
    expect(breaker.state).toBe('closed');
    expect(breaker.context.failures).toBe(0);

    refusals = 2;
    expect(await failure(call('b'))).toBe('server_error');
    expect(creates()).toHaveLength(4);
    expect(breaker.state).toBe('open');
  }, 60_000);
});
