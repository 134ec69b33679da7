import { MemoryBudgetStore } from '../../src/cost/memory-budget-store.js';
import { budgetStoreContract } from '../contracts/budget-store.js';

budgetStoreContract('memory', async () => {
  let time = 1_700_000_000_000;
  const store = new MemoryBudgetStore({ clock: { now: () => time } });
  return {
    store,
    advance: async (ms) => {
      time += ms;
    },
    shortTtlMs: 1_000,
    fakeTime: true,
    cleanup: () => store.close(),
  };
});
