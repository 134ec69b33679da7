import { InMemoryTopicClaims } from '../../src/services/memory/topic-claims.js';
import { topicClaimsContract } from '../contracts/topic-claims.js';

// One process: "another process" is the same claim store.
topicClaimsContract('memory', async () => {
  const claims = new InMemoryTopicClaims();
  return { claims, other: claims, cleanup: async () => {} };
});
