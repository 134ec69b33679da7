import type { ProviderConfig, ProviderName } from '../../src/config.js';
import { builtInPrices } from '../../src/cost/config.js';
import { buildPriceTable } from '../../src/cost/prices.js';
import { resolvePrice } from '../../src/cost/pricing.js';
import { decodeAnthropicCustomId } from '../../src/services/providers/batch/anthropic.js';
import { createBatchApi } from '../../src/services/providers/factory.js';
import type { Dialect } from '../../tools/fake-provider/behaviours.js';
import { startFakeProviderServer } from '../../tools/fake-provider/server.js';
import { type BatchHarness, describeBatchApiContract } from '../contracts/batch-api.js';

const MB = 1024 * 1024;

/** Models the fake server and Chimera's table both price. */
const MODELS: Record<Dialect, string> = {
  anthropic: 'claude-sonnet-5-5',
  gemini: 'gemini-2.5-flash',
  openai: 'gpt-5.4-mini',
};

/** How each provider's custom id comes back from what it was sent as. */
const DECODE: Record<Dialect, (sent: string) => string> = {
  anthropic: decodeAnthropicCustomId,
  gemini: (sent) => sent,
  openai: (sent) => sent,
};

function overFake(dialect: Dialect): () => Promise<BatchHarness> {
  return async () => {
    const fake = await startFakeProviderServer({ seed: 11 });
    const config: ProviderConfig = {
      name: dialect as ProviderName,
      model: MODELS[dialect],
      apiKey: 'batch-contract-key',
      baseUrl: fake.urls[dialect],
      rpm: 60,
      tpm: 100_000,
      timeoutMs: 5_000,
    };
    const resolution = resolvePrice(buildPriceTable(builtInPrices()), { provider: dialect }, MODELS[dialect]);
    if (resolution.kind !== 'priced') throw new Error(`no price for ${MODELS[dialect]}`);
    return {
      api: (behaviour = {}) => {
        fake.setBatchBehaviour(behaviour);
        return createBatchApi(config);
      },
      witness: {
        submitted: () =>
          new Map(
            fake
              .batchCustomIds()
              .filter((count) => count.dialect === dialect)
              .map((count) => [DECODE[dialect](count.customId), count.submitted]),
          ),
        batchBillMicros: () =>
          fake
            .bill()
            .lines.filter((line) => line.batch && line.provider === dialect)
            .reduce((sum, line) => sum + (line.micros ?? 0), 0),
        received: () => fake.stats().total,
        price: resolution.price,
      },
      close: () => fake.close(),
    };
  };
}

describeBatchApiContract({
  name: 'anthropic',
  limits: { maxRequests: 100_000, maxBytes: 256 * MB },
  failsAsAWhole: false,
  expiredBatchReportsRequests: true,
  start: overFake('anthropic'),
});

describeBatchApiContract({
  name: 'gemini',
  limits: { maxRequests: 100_000, maxBytes: 20 * MB },
  failsAsAWhole: true,
  expiredBatchReportsRequests: false,
  start: overFake('gemini'),
});

describeBatchApiContract({
  name: 'openai',
  limits: { maxRequests: 50_000, maxBytes: 200 * MB },
  failsAsAWhole: true,
  expiredBatchReportsRequests: true,
  start: overFake('openai'),
});

describeBatchApiContract({
  name: 'simulated',
  limits: { maxRequests: 100_000, maxBytes: 256 * MB },
  failsAsAWhole: true,
  expiredBatchReportsRequests: true,
  start: async () => ({
    api: ({ delayMs, errorRate, expiredRate, outcome } = {}) =>
      createBatchApi(
        { name: 'simulated', model: 'chimera-simulated-1', rpm: 60, tpm: 100_000, timeoutMs: 5_000 },
        { simulatedBatchDelayMs: delayMs, simulatedFailures: { errorRate, expiredRate, outcome } },
      ),
    close: async () => {},
  }),
});
