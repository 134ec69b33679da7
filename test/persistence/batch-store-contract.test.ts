import { InMemoryBatchStore, memoryBatchStorage } from '../../src/services/memory/batch-store.js';
import { batchStoreContract } from '../contracts/batch-store.js';

batchStoreContract('memory', async () => {
  const storage = memoryBatchStorage();
  return {
    store: new InMemoryBatchStore(storage),
    other: new InMemoryBatchStore(storage),
    cleanup: async () => {},
  };
});
