import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { turnCacheContract } from '../contracts/turn-cache.js';

// One process: "another process on the same storage" is the same cache.
turnCacheContract('memory', async () => {
  const cache = new InMemoryTurnCache();
  return { cache, other: cache, cleanup: async () => {} };
});
