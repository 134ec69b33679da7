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
});
