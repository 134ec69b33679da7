import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { customIdOf } from '../../src/batch/custom-id.js';
import { ProviderBatcher } from '../../src/batch/provider-batcher.js';
import type { Turn } from '../../src/events.js';
import { type BatchRequest, systemClock } from '../../src/services/ports.js';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { deleteKeys, sleep, uniquePrefix } from '../persistence/redis-support.js';
import { FakeBatchApi, type FakeBatchApiOptions } from '../support/fake-batch-api.js';

/**
 * Batch mode against the real Redis: the batchers of daemons share the batch store and the turn cache,
 * and each conversation is a loop that asks for its next turn with the history so far, as the
 * conversation machine's `callingModel` does. A "daemon" here is one `ProviderBatcher` over its own Redis
 * connections; killing it stops it without releasing anything, as SIGKILL would.
 */

const redisUrl = inject('redisUrl');
const admin = createRedis(redisUrl);
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await admin.quit();
});

interface Daemon {
  batcher: ProviderBatcher;
  kill(): Promise<void>;
}

async function daemon(
  prefix: string,
  owner: string,
  api: FakeBatchApi,
  settings: ConstructorParameters<typeof ProviderBatcher>[0]['settings'],
): Promise<Daemon> {
  const redis = createRedis(redisUrl);
  const batcher = await new ProviderBatcher({
    api,
    store: new RedisBatchStore(redis, prefix),
    turnCache: new RedisTurnCache(redis, prefix),
    clock: systemClock,
    owner,
    settings,
  }).start();
  let alive = true;
  const kill = async () => {
    if (!alive) return;
    alive = false;
    batcher.stop();
    await redis.quit();
  };
  cleanups.push(kill);
  return { batcher, kill };
}

function requestFor(conversationId: string, turns: readonly Turn[]): BatchRequest['request'] {
  return {
    system: `conversation ${conversationId}`,
    messages: [
      { role: 'user', content: `topic of ${conversationId}` },
      ...turns.map((turn, i) => ({
        role: (i % 2 === 0 ? 'assistant' : 'user') as 'assistant' | 'user',
        content: turn.text,
      })),
    ],
    maxTokens: 64,
    temperature: 0.7,
  };
}

/**
 * Runs one conversation to `turns` turns through whichever batcher `current()` returns, starting from
 * the turns already in the turn cache (a restored conversation), and retrying a call the batcher dropped
 * because its daemon died.
 */
async function converse(
  conversationId: string,
  turns: number,
  current: () => ProviderBatcher,
  cache: RedisTurnCache,
): Promise<Turn[]> {
  const done: Turn[] = [];
  while (done.length < turns) {
    const key = { conversationId, turnIndex: done.length, generation: 0 };
    const recorded = await cache.get(key);
    if (recorded) {
      done.push(recorded);
      continue;
    }
    try {
      done.push(await current().call(key, requestFor(conversationId, done)));
    } catch (error) {
      if ((error as { code?: string }).code !== 'closed') throw error;
      await sleep(50); // its daemon died: the replacement picks the conversation up
    }
  }
  return done;
}

/** Every turn answers the one before it, in order. */
function expectInOrder(conversationId: string, turns: readonly Turn[], count: number): void {
  expect(turns.map((turn) => turn.index)).toEqual([...Array(count).keys()]);
  turns.forEach((turn, i) => {
    expect(turn.batch).toBe(true);
    expect(turn.text).toContain(customIdOf({ conversationId, turnIndex: i, generation: 0 }));
    const previous = i === 0 ? `topic of ${conversationId}` : turns[i - 1]!.text;
    expect(turn.text).toContain(`[${previous.slice(0, 40)}]`);
  });
}

function setup(options: FakeBatchApiOptions) {
  const prefix = uniquePrefix('batch');
  const api = new FakeBatchApi(options);
  const redis = createRedis(redisUrl);
  const cache = new RedisTurnCache(redis, prefix);
  cleanups.push(async () => {
    await redis.quit();
    await deleteKeys(admin, prefix);
  });
  return { prefix, api, cache, store: new RedisBatchStore(redis, prefix) };
}

describe('batch mode with the real Redis', () => {
  it('runs 200 conversations of 6 turns in about one batch per turn round', async () => {
    const { prefix, api, cache, store } = setup({ delayMs: 100 });
    const { batcher } = await daemon(prefix, 'daemon-a', api, {
      maxRequests: 1_000,
      collectMs: 300,
      pollMinMs: 50,
      pollMaxMs: 200,
    });
    const ids = Array.from({ length: 200 }, (_, i) => `conv-${i}`);
    const results = await Promise.all(ids.map((id) => converse(id, 6, () => batcher, cache)));
    for (const [i, turns] of results.entries()) expectInOrder(ids[i]!, turns, 6);
    // Six turn rounds. The bound: every round's 200 requests arrive within the collect window of its first
    // one, so a round is one batch; a straggler that misses it costs one more batch, at most one a round.
    expect(api.submissions.length).toBeGreaterThanOrEqual(6);
    expect(api.submissions.length).toBeLessThanOrEqual(12);
    expect(api.submissions.filter((ids) => ids.length >= 150).length).toBeGreaterThanOrEqual(5);
    for (const id of api.allSubmittedIds()) expect(api.submittedCount(id)).toBe(1);
    expect(await store.list('anthropic')).toEqual([]);
  }, 60_000);

  it('a daemon killed with three batches out is replaced: all finish, each custom id submitted once', async () => {
    const { prefix, api, cache, store } = setup({ delayMs: 1_500 });
    const settings = { maxRequests: 20, collectMs: 100, pollMinMs: 50, pollMaxMs: 200, leaseMs: 600 };
    const first = await daemon(prefix, 'daemon-a', api, settings);
    let current = first.batcher;
    const ids = Array.from({ length: 60 }, (_, i) => `conv-${i}`);
    const running = Promise.all(ids.map((id) => converse(id, 4, () => current, cache)));
    // Wait for the second round to be out: three batches of 20, nothing left to submit.
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const out = first.batcher.batchesOut();
      if (api.submissions.length >= 6 && out.length === 3 && first.batcher.requestsWaiting() === 0) break;
      await sleep(20);
    }
    expect(first.batcher.batchesOut()).toHaveLength(3);
    expect((await store.list('anthropic')).filter((batch) => batch.batchId !== null)).toHaveLength(3);
    const second = await daemon(prefix, 'daemon-b', api, settings);
    await first.kill();
    current = second.batcher;
    const results = await running;
    for (const [i, turns] of results.entries()) expectInOrder(ids[i]!, turns, 4);
    expect(api.allSubmittedIds()).toHaveLength(60 * 4);
    for (const id of api.allSubmittedIds()) expect(api.submittedCount(id), id).toBe(1);
    expect(await store.list('anthropic')).toEqual([]);
  }, 60_000);

  it('retries 10% errored and 5% expired requests in the next batch, losing nothing', async () => {
    const fate = (customId: string) => {
      let hash = 0;
      for (const char of customId) hash = (hash * 31 + char.charCodeAt(0)) % 1000;
      return hash % 100;
    };
    const { prefix, api, cache } = setup({
      delayMs: 50,
      itemOutcome: (customId, earlier) => {
        if (earlier > 0) return 'succeeded';
        const roll = fate(customId);
        return roll < 10 ? 'errored' : roll < 15 ? 'expired' : 'succeeded';
      },
    });
    const { batcher } = await daemon(prefix, 'daemon-a', api, {
      maxRequests: 1_000,
      collectMs: 100,
      pollMinMs: 30,
      pollMaxMs: 100,
    });
    const ids = Array.from({ length: 100 }, (_, i) => `conv-${i}`);
    const results = await Promise.all(ids.map((id) => converse(id, 4, () => batcher, cache)));
    for (const [i, turns] of results.entries()) expectInOrder(ids[i]!, turns, 4);
    const unlucky = api.allSubmittedIds().filter((id) => fate(id) < 15);
    expect(unlucky.length).toBeGreaterThan(20);
    for (const id of api.allSubmittedIds()) expect(api.submittedCount(id), id).toBe(fate(id) < 15 ? 2 : 1);
  }, 60_000);

  it('fails a call with the provider’s code for a request that is not retryable', async () => {
    const { prefix, api } = setup({
      delayMs: 20,
      itemOutcome: (id) => (id.startsWith('bad') ? 'fatal' : 'succeeded'),
    });
    const { batcher } = await daemon(prefix, 'daemon-a', api, {
      collectMs: 50,
      pollMinMs: 20,
      pollMaxMs: 50,
    });
    const bad = batcher.call({ conversationId: 'bad', turnIndex: 0, generation: 0 }, requestFor('bad', []));
    const good = batcher.call(
      { conversationId: 'good', turnIndex: 0, generation: 0 },
      requestFor('good', []),
    );
    await expect(bad).rejects.toMatchObject({ code: 'invalid_request' });
    await expect(good).resolves.toMatchObject({ index: 0, batch: true });
    expect(api.submittedCount(customIdOf({ conversationId: 'bad', turnIndex: 0, generation: 0 }))).toBe(1);
  });

  it('resubmits a whole batch that failed once, then fails its calls', async () => {
    const { prefix, api } = setup({ delayMs: 20, batchOutcome: (n) => (n <= 3 ? 'failed' : 'ended') });
    const { batcher } = await daemon(prefix, 'daemon-a', api, {
      collectMs: 50,
      pollMinMs: 20,
      pollMaxMs: 50,
    });
    // Batch 1 fails and so does its one resubmission (batch 2): the call fails.
    const first = batcher.call({ conversationId: 'x', turnIndex: 0, generation: 0 }, requestFor('x', []));
    await expect(first).rejects.toMatchObject({ code: 'server_error' });
    expect(api.submissions).toHaveLength(2);
    // Batch 3 fails, batch 4 (its one resubmission) ends: the call succeeds.
    const second = batcher.call({ conversationId: 'y', turnIndex: 0, generation: 0 }, requestFor('y', []));
    await expect(second).resolves.toMatchObject({ index: 0 });
    expect(api.submissions).toHaveLength(4);
  });
});
