/**
 * The embedded durable store of a resumable run: one journal directory serving the snapshot store, the
 * turn cache and the budget. Open it once at the composition root and close it last.
 */
import { JournalBudgetStore } from './budget-store.js';
import { Journal, type JournalOptions } from './journal.js';
import { JournalSnapshotStore, type JournalSnapshotStoreOptions } from './snapshot-store.js';
import { JournalTurnCache } from './turn-cache.js';

export { Journal, type JournalOptions } from './journal.js';
export { JournalBudgetStore, JournalSnapshotStore, JournalTurnCache };

export interface JournalStores {
  journal: Journal;
  snapshots: JournalSnapshotStore;
  turns: JournalTurnCache;
  budget: JournalBudgetStore;
  /** Closes the adapters and then the journal (flushing what is pending and releasing the directory). */
  close(): Promise<void>;
}

export async function openJournalStores(
  dir: string,
  options: JournalOptions & JournalSnapshotStoreOptions = {},
): Promise<JournalStores> {
  const journal = await Journal.open(dir, options);
  const snapshots = new JournalSnapshotStore(journal, options);
  const turns = new JournalTurnCache(journal);
  const budget = new JournalBudgetStore(journal);
  return {
    journal,
    snapshots,
    turns,
    budget,
    close: async () => {
      await snapshots.close();
      await budget.close();
      await journal.close();
    },
  };
}
