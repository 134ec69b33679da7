import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { instrumentBatchers } from '../../src/app/batch-metrics.js';
import { ProviderBatcher } from '../../src/batch/provider-batcher.js';
import { InMemoryBatchStore } from '../../src/services/memory/batch-store.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { systemClock } from '../../src/services/ports.js';
import { FakeBatchApi } from '../support/fake-batch-api.js';

const request = { system: 's', messages: [], maxTokens: 8, temperature: 0 };

describe('batch metrics', () => {
  it('show batches out by state, requests waiting, and the latency of distributed batches', async () => {
    const api = new FakeBatchApi({ delayMs: 150 });
    const batcher = await new ProviderBatcher({
      api,
      store: new InMemoryBatchStore(),
      turnCache: new InMemoryTurnCache(),
      clock: systemClock,
      owner: 'd',
      settings: { collectMs: 30, pollMinMs: 20, pollMaxMs: 20 },
    }).start();
    const registry = new Registry();
    instrumentBatchers(registry, [batcher]);
    const calls = [0, 1, 2].map((i) =>
      batcher.call({ conversationId: `c${i}`, turnIndex: 0, generation: 0 }, request),
    );
    // The calls reach the batcher after their turn-cache look-up; the batch goes 30 ms after the first.
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await registry.getSingleMetricAsString('chimera_batch_requests_waiting')).toContain(
      'chimera_batch_requests_waiting{provider="anthropic"} 3',
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(await registry.getSingleMetricAsString('chimera_batches')).toContain(
      'chimera_batches{provider="anthropic",state="in_progress"} 1',
    );
    await Promise.all(calls);
    const text = await registry.metrics();
    expect(text).toContain('chimera_batches{provider="anthropic",state="in_progress"} 0');
    expect(text).toContain('chimera_batch_latency_seconds_count{provider="anthropic"} 1');
    batcher.stop();
  });
});
