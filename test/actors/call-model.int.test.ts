import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../src/services/redis/client.js';
import { RedisTurnCache } from '../../src/services/redis/turn-cache.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { deleteKeys, uniquePrefix } from '../persistence/redis-support.js';
import { callInput, generateRequests, modelCaller } from './support.js';

const redisUrl = inject('redisUrl');

describe('the model call of a turn, from two daemons on one Redis', () => {
  let server: FakeProviderServer;
  const admin = createRedis(redisUrl);
  const clients: Array<ReturnType<typeof createRedis>> = [];
  let keyPrefix: string;

  /** A daemon's own model-calling path: its own Redis connection, turn cache and SDK client. */
  function daemon() {
    const redis = createRedis(redisUrl);
    clients.push(redis);
    return modelCaller(server, new RedisTurnCache(redis, keyPrefix));
  }

  beforeAll(async () => {
    server = await startFakeProviderServer();
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.quit()));
    await admin.quit();
    await server.close();
  });
  beforeEach(async () => {
    server.reset();
    if (keyPrefix) await deleteKeys(admin, keyPrefix);
    keyPrefix = uniquePrefix('turn-calls');
  });

  it('a call re-run by another daemon (an adopted conversation) reaches the provider once, and both get the same text', async () => {
    server.script(
      { type: 'reply', text: 'answer paid for once' },
      { type: 'reply', text: 'answer paid twice' },
    );
    const first = await daemon()(callInput());
    const adopted = await daemon()(callInput());
    expect(first.text).toBe('answer paid for once');
    expect(adopted).toEqual(first);
    expect(generateRequests(server)).toBe(1);
  });

  it('two daemons calling at once (a stale owner not yet fenced) end up with one answer for the turn', async () => {
    server.script(
      { type: 'reply', text: 'answer A', latencyMs: 50 },
      { type: 'reply', text: 'answer B', latencyMs: 50 },
    );
    const [a, b] = await Promise.all([daemon()(callInput()), daemon()(callInput())]);
    // Both missed the cache and called; the first answer stored is the turn, for both.
    expect(generateRequests(server)).toBe(2);
    expect(a.text).toBe(b.text);
    expect(['answer A', 'answer B']).toContain(a.text);
    expect((await daemon()(callInput())).text).toBe(a.text);
    expect(generateRequests(server)).toBe(2);
  });
});
