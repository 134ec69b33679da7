/**
 * `chimera batches list | cancel` as a child process against what two daemons in batch mode (real Redis
 * and Kafka, the real Anthropic and Gemini SDKs against the fake server) recorded in Redis. The fake
 * server's own batch states and custom-id counts are the witnesses.
 */
import { Redis } from 'ioredis';
import { describe, expect, inject, it } from 'vitest';
import type { Chimera } from '../../src/chimera.js';
import { RedisBatchStore } from '../../src/services/redis/batch-store.js';
import { type FakeProviderServer, startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { cleanupsAfterEach } from '../support/cleanups.js';
import { runCli } from '../support/cli.js';
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

const PER_DAEMON = 4;

describe('chimera batches', () => {
  it('cancel cancels every batch out at its provider; the conversations fail with the code cancelled, none lost, nothing sent again', async () => {
    const names = uniqueNames();
    cleanups.add(() => deleteKeys(names.prefix));
    const server: FakeProviderServer = await startFakeProviderServer();
    cleanups.add(() => server.close());
    // An hour-long batch: still out when the command runs.
    server.setBatchBehaviour({ delayMs: 3_600_000 });
    const env = infraEnv({
      ...names.env,
      ...fakeProviderEnv(server),
      PROVIDER_MODE: 'batch',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '4',
      BATCH_COLLECT_SECONDS: '0',
      BATCH_POLL_SECONDS: '1',
    });
    // Two daemons, so the first turn of one goes to Anthropic's batch API and of the other to Gemini's.
    const daemons: Chimera[] = [];
    for (const providers of ['anthropic,gemini', 'gemini,anthropic']) {
      const chimera = await startChimera(configFor({ ...env, CONVERSATION_PROVIDERS: providers }), {
        intake: 'none',
      });
      cleanups.add(() => chimera.stop());
      daemons.push(chimera);
    }
    const started = await Promise.all(
      daemons.flatMap((chimera, d) =>
        Array.from({ length: PER_DAEMON }, (_, i) =>
          chimera
            .startNewConversation({ id: `cancel-${names.id}-${d}-${i}`, title: `Topic ${i}: tidal power` })
            .then((id) => ({ chimera, id })),
        ),
      ),
    );

    const redis = new Redis(inject('redisUrl'));
    cleanups.add(() => redis.quit());
    const store = new RedisBatchStore(redis, names.prefix);
    const accepted = async () =>
      [...(await store.list('anthropic')), ...(await store.list('gemini'))].filter(
        (batch) => batch.batchId !== null,
      );
    await until(
      async () =>
        (await accepted()).reduce((sum, batch) => sum + batch.requests.length, 0) === 2 * PER_DAEMON,
      30_000,
      'every first turn in a batch the provider accepted',
    );
    const out = await accepted();
    expect(new Set(out.map((batch) => batch.provider))).toEqual(new Set(['anthropic', 'gemini']));

    const listed = await runCli(['batches', 'list'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    for (const batch of out) expect(listed.stdout).toContain(batch.batchId!);

    const cancelled = await runCli(['batches', 'cancel'], { env });
    expect(cancelled.code, cancelled.stderr).toBe(0);
    for (const batch of out)
      expect(cancelled.stdout).toMatch(new RegExp(`${batch.batchId!.replace('/', '\\/')} .*: cancel`));
    expect(cancelled.stdout).toContain(`${out.length} batch`);

    // The server's witness: every batch it holds was cancelled, and nothing was ever submitted twice.
    const states = server.batchStates();
    expect(states).toHaveLength(out.length);
    for (const batch of states) expect(batch).toMatchObject({ cancelRequested: true, state: 'cancelled' });

    // The daemons poll the cancelled batches, read their results and fail each conversation with the code.
    const records = await Promise.all(started.map(({ chimera, id }) => chimera.waitFor(id, 30_000)));
    for (const record of records) {
      expect(record.status).toBe('failed');
      expect(record.terminationReason).toBe('provider_failed');
      expect(record.error?.code).toBe('cancelled');
      expect(record.turns).toHaveLength(0);
    }
    const ids = server.batchCustomIds();
    expect(ids).toHaveLength(2 * PER_DAEMON);
    for (const id of ids)
      expect({ id: id.customId, submitted: id.submitted }).toEqual({ id: id.customId, submitted: 1 });
    expect(server.requests().filter((r) => r.operation === 'generate')).toHaveLength(0);

    // Settled batches leave the store: nothing is out any more.
    await until(async () => (await accepted()).length === 0, 10_000, 'the store emptied');
    const after = await runCli(['batches', 'cancel'], { env });
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toBe('no batches out\n');
  }, 120_000);

  it('without Redis, or with an unknown --provider, exits 2 naming what to fix', async () => {
    const noRedis = await runCli(['batches', 'cancel'], { env: {} });
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toMatch(/batches cancel.*REDIS_URL/);
    const badProvider = await runCli(['batches', 'list', '--provider', 'nope'], {
      env: { REDIS_URL: inject('redisUrl') },
    });
    expect(badProvider.code).toBe(2);
    expect(badProvider.stderr).toMatch(/--provider: expected one of/);
  }, 60_000);
});
