import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActor, toPromise } from 'xstate';
import { callModelActor } from '../../src/actors/call-model.js';
import { customIdOf } from '../../src/batch/custom-id.js';
import { ProviderBatcher } from '../../src/batch/provider-batcher.js';
import { CallBudget } from '../../src/cost/call-budget.js';
import { costConfigFrom } from '../../src/cost/config.js';
import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import { InMemoryBatchStore } from '../../src/services/memory/batch-store.js';
import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { type LlmProvider, systemClock } from '../../src/services/ports.js';
import { FakeBatchApi } from '../support/fake-batch-api.js';
import { callInput } from './support.js';

const onlineNeverCalled: LlmProvider = {
  name: 'anthropic',
  model: 'm',
  start: async () => {},
  generate: async () => {
    throw new Error('the online path was called in batch mode');
  },
  healthCheck: async () => ({ healthy: true, latencyMs: 0 }),
};

describe('the model call of a turn in batch mode', () => {
  it('goes through the provider’s batcher, not online, and the turn says it was made in batch mode', async () => {
    const api = new FakeBatchApi({ delayMs: 10 });
    const turnCache = new InMemoryTurnCache();
    const batcher = await new ProviderBatcher({
      api,
      store: new InMemoryBatchStore(),
      turnCache,
      clock: systemClock,
      owner: 'd',
      settings: { collectMs: 20, pollMinMs: 10, pollMaxMs: 20 },
    }).start();
    const logic = callModelActor({
      provider: () => onlineNeverCalled,
      turnCache,
      clock: systemClock,
      budget: new CallBudget(new MemoryBudgetStore({ clock: systemClock }), costConfigFrom({}).prices),
      batcher: (name) => (name === 'anthropic' ? batcher : undefined),
    });
    const input = callInput();
    const turn = await toPromise(createActor(logic, { input }).start());
    expect(turn).toMatchObject({ index: input.turnIndex, speaker: 'questioner', batch: true, maxTokens: 64 });
    const customId = customIdOf({
      conversationId: input.conversationId,
      turnIndex: input.turnIndex,
      generation: 0,
    });
    expect(api.submissions).toEqual([[customId]]);
    // Asked again (a restored conversation), the answer already paid for comes back without a new batch.
    const again = await toPromise(createActor(logic, { input }).start());
    expect(again).toEqual(turn);
    expect(api.submissions).toHaveLength(1);
    batcher.stop();
  });

  it('reserves and settles at the batch price once, and prices an answer asked for again without charging it twice', async () => {
    // $2 in and $10 out per million tokens, half in batches: the double answers 10 tokens in and 5 out.
    const dir = mkdtempSync(join(tmpdir(), 'chimera-batch-price-'));
    const pricesFile = join(dir, 'prices.json');
    writeFileSync(
      pricesFile,
      JSON.stringify({
        version: 1,
        models: { 'anthropic/fake-batch-model': { input: 2, output: 10, batchDiscountPercent: 50 } },
      }),
    );
    const online = (10 * 2 + 5 * 10) as number; // micro-dollars
    const expectedMicros = online / 2;
    const api = new FakeBatchApi({ delayMs: 10 });
    const turnCache = new InMemoryTurnCache();
    const budgetStore = new MemoryBudgetStore({ clock: systemClock });
    const batcher = await new ProviderBatcher({
      api,
      store: new InMemoryBatchStore(),
      turnCache,
      clock: systemClock,
      owner: 'd',
      settings: { collectMs: 20, pollMinMs: 10, pollMaxMs: 20 },
    }).start();
    const charges: number[] = [];
    const logic = callModelActor({
      provider: () => ({ ...onlineNeverCalled, model: 'fake-batch-model' }),
      turnCache,
      clock: systemClock,
      budget: new CallBudget(budgetStore, costConfigFrom({ PRICES_FILE: pricesFile }).prices),
      batcher: (name) => (name === 'anthropic' ? batcher : undefined),
      onCharge: (charge) => charges.push(charge.micros ?? -1),
    });
    const input = callInput();
    const turn = await toPromise(createActor(logic, { input }).start());
    expect(turn.cost).toEqual({ micros: expectedMicros, status: 'priced' });
    expect((await budgetStore.snapshot()).spentMicros).toBe(expectedMicros);
    // The turn cache holds the answer unpriced (the batcher put it there): asked again, it is priced the
    // same, and neither the budget nor the ledger is charged a second time.
    const again = await toPromise(createActor(logic, { input }).start());
    expect(again).toEqual(turn);
    expect((await budgetStore.snapshot()).spentMicros).toBe(expectedMicros);
    expect(charges).toEqual([expectedMicros]);
    expect(api.submissions).toHaveLength(1);
    batcher.stop();
  });
});
