import { openJournalStores } from '../../src/services/journal/index.js';
import { budgetStoreContract } from '../contracts/budget-store.js';
import { snapshotStoreContract } from '../contracts/snapshot-store.js';
import { turnCacheContract } from '../contracts/turn-cache.js';
import { journalDir, manualClock } from './support.js';

snapshotStoreContract('journal', async () => {
  const { dir, remove } = journalDir('snapshots');
  const clock = manualClock();
  const finishedTtlMs = 60_000;
  const stores = await openJournalStores(dir, { clock, finishedTtlMs });
  return {
    store: stores.snapshots,
    now: clock.now,
    advance: async (ms) => clock.advance(ms),
    shortTtlMs: 1_000,
    finishedTtlMs,
    cleanup: async () => {
      await stores.close();
      remove();
    },
  };
});

turnCacheContract('journal', async () => {
  const { dir, remove } = journalDir('turns');
  const stores = await openJournalStores(dir);
  return {
    cache: stores.turns,
    cleanup: async () => {
      await stores.close();
      remove();
    },
  };
});

budgetStoreContract('journal', async () => {
  const { dir, remove } = journalDir('budget');
  const clock = manualClock();
  const stores = await openJournalStores(dir, { clock });
  return {
    store: stores.budget,
    advance: async (ms) => clock.advance(ms),
    shortTtlMs: 1_000,
    fakeTime: true,
    cleanup: async () => {
      await stores.close();
      remove();
    },
  };
});
