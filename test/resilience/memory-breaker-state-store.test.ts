import { MemoryBreakerStateStore } from '../../src/services/memory/breaker-state-store.js';
import { breakerStateStoreContract } from '../contracts/breaker-state-store.js';

// One process: the other reader is the same store.
breakerStateStoreContract('memory', async () => {
  const store = new MemoryBreakerStateStore();
  return { store, other: store, cleanup: async () => {} };
});
