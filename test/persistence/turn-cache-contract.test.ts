import { InMemoryTurnCache } from '../../src/services/memory/turn-cache.js';
import { turnCacheContract } from '../contracts/turn-cache.js';

turnCacheContract('memory', async () => ({ cache: new InMemoryTurnCache(), cleanup: async () => {} }));
