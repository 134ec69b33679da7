import { MemorySnapshotStore } from '../../src/services/memory/snapshot-store.js';
import { snapshotStoreContract } from '../contracts/snapshot-store.js';

snapshotStoreContract('memory', async () => {
  let time = 1_700_000_000_000;
  const clock = { now: () => time };
  const finishedTtlMs = 60_000;
  const store = new MemorySnapshotStore({ clock, finishedTtlMs });
  return {
    store,
    now: () => time,
    advance: async (ms) => {
      time += ms;
    },
    shortTtlMs: 1_000,
    finishedTtlMs,
    cleanup: () => store.close(),
  };
});
