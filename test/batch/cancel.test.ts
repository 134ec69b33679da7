import { afterEach, describe, expect, it } from 'vitest';
import { Chimera } from '../../src/chimera.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { FakeBatchApi } from '../support/fake-batch-api.js';

let running: Chimera | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('cancelling batch mode', () => {
  it('cancels the batches out at the provider; the conversations waiting on them end as provider_failed', async () => {
    const config = loadConfig({
      ANTHROPIC_API_KEY: 'sk-ant-test-key-0000000000',
      CONVERSATION_PROVIDERS: 'anthropic,anthropic',
      PROVIDER_MODE: 'batch',
      BATCH_COLLECT_SECONDS: '0',
      BATCH_POLL_SECONDS: '1',
      MAX_CONVERSATION_TURNS: '4',
      MIN_CONVERSATION_TURNS: '2',
    });
    // A batch that takes an hour: it is still out when the run is cancelled.
    const api = new FakeBatchApi({ delayMs: 3_600_000 });
    const chimera = await Chimera.create(config, {
      logger: createLogger({ level: 'silent' }),
      owner: 'test-owner',
      intake: 'none',
      pollMs: 20,
      batchApis: { anthropic: api },
    });
    running = chimera.start();
    const ids = await Promise.all(
      [0, 1, 2].map((i) => chimera.startNewConversation({ id: `cancel-${i}`, title: `Topic ${i}` })),
    );
    const deadline = Date.now() + 10_000;
    while (api.inProgress() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.inProgress()).toBeGreaterThan(0);
    expect(chimera.parts.batchers.get('anthropic')!.batchesOut().length).toBeGreaterThan(0);

    await chimera.cancelBatches();
    expect(api.inProgress()).toBe(0);
    const records = await Promise.all(ids.map((id) => chimera.waitFor(id, 10_000)));
    for (const record of records) {
      expect(record.status).toBe('failed');
      expect(record.terminationReason).toBe('provider_failed');
    }
  });
});
