import { describe, expect, it } from 'vitest';
import type { BatchItemResult } from '../../src/services/ports.js';
import { SimulatedBatchApi } from '../../src/services/providers/simulated/batch.js';
import { SimulatedProvider } from '../../src/services/providers/simulated/provider.js';
import { batchRequests } from '../contracts/batch-api.js';

async function collect(results: AsyncIterable<BatchItemResult>): Promise<BatchItemResult[]> {
  const all: BatchItemResult[] = [];
  for await (const result of results) all.push(result);
  return all;
}

describe('simulated batch API', () => {
  it('ends a batch when its delay has passed on the injected clock, not before', async () => {
    let now = 1_000_000;
    const api = new SimulatedBatchApi({ delayMs: 3_600_000, clock: { now: () => now } });
    const { id } = await api.submit(batchRequests(2, 'clock:'));
    now += 3_599_999;
    expect((await api.retrieve(id)).state).toBe('in_progress');
    now += 1;
    expect(await api.retrieve(id)).toMatchObject({ state: 'ended', counts: { succeeded: 2, processing: 0 } });
    const results = await collect(api.results(id));
    expect(results.map((r) => (r.ok ? r.result.latencyMs : -1))).toEqual([3_600_000, 3_600_000]);
  });

  it('answers as the online simulated provider does for the same conversation turn', async () => {
    const api = new SimulatedBatchApi({ seed: 4 });
    const online = new SimulatedProvider({ seed: 4 });
    const requests = batchRequests(3, 'same:');
    const { id } = await api.submit(requests);
    const results = await collect(api.results(id));
    for (const [index, { customId, request }] of requests.entries()) {
      const expected = await online.generate({ ...request, idempotencyKey: customId });
      const got = results[index]!;
      expect(got.customId).toBe(customId);
      expect(got.ok && got.result.text).toBe(expected.text);
      expect(got.ok && got.result.usage).toEqual(expected.usage);
    }
  });

  it('forgets its batches with the process: an unknown id is a non-retryable error', async () => {
    const first = new SimulatedBatchApi();
    const { id } = await first.submit(batchRequests(1, 'restart:'));
    await expect(new SimulatedBatchApi().retrieve(id)).rejects.toMatchObject({
      code: 'invalid_request',
      retryable: false,
    });
  });
});
