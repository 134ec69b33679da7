/**
 * `BATCH_LEASE_SECONDS` reaches the batch store: a daemon in batch mode (real Redis and Kafka, the real
 * Anthropic SDK against the fake server) holds its batches out for that long past each renewal, and a
 * second daemon adopts them once it stops renewing.
 */
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
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

describe('the batch lease', () => {
  it('lasts BATCH_LEASE_SECONDS from each renewal, and a lapsed one is adopted by another daemon', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server: FakeProviderServer = await startFakeProviderServer();
    cleanups.add(() => server.close());
    server.setBatchBehaviour({ delayMs: 3_600_000 });
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      CONVERSATION_PROVIDERS: 'anthropic,anthropic',
      PROVIDER_MODE: 'batch',
      BATCH_COLLECT_SECONDS: '0',
      BATCH_LEASE_SECONDS: '4',
    });
    const first = await startChimera(configFor({ ...env, INSTANCE_ID: `first-${names.id}` }), {
      intake: 'none',
      owner: `first-${names.id}`,
    });
    let firstStopped = false;
    cleanups.add(async () => {
      if (!firstStopped) await first.stop();
    });
    await first.startNewConversation({ id: `lease-${names.id}`, title: 'Tidal power' });

    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const store = new RedisBatchStore(redis, names.prefix);
    await until(
      async () => (await store.list('anthropic')).some((batch) => batch.batchId !== null),
      30_000,
      'a batch out',
    );
    // Renewed every third of the lease, so it always runs out within 4 s of now (30 s by default).
    for (let i = 0; i < 3; i++) {
      const [batch] = await store.list('anthropic');
      const left = batch!.leaseUntil - Date.now();
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(4_000);
      expect(batch!.owner).toBe(`first-${names.id}`);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    }

    // The first daemon's batcher stops renewing (it is stopped without releasing anything, as SIGKILL
    // would leave it); the second adopts the batch once the lease lapses.
    first.parts.batchers.get('anthropic')!.stop();
    const second = await startChimera(configFor({ ...env, INSTANCE_ID: `second-${names.id}` }), {
      intake: 'none',
      owner: `second-${names.id}`,
    });
    cleanups.add(() => second.stop());
    // Within 15 s: half the default lease, so only the configured one can have lapsed by then.
    await until(
      async () => (await store.list('anthropic'))[0]?.owner === `second-${names.id}`,
      15_000,
      'the batch adopted',
    );
    await first.stop();
    firstStopped = true;
  }, 60_000);
});
