import { describe, expect, it } from 'vitest';
import { InMemoryTopicClaims } from '../../src/intake/topic-claims.js';

describe('in-memory topic claims', () => {
  it('the first claim of an id wins and another message with the id is refused', async () => {
    const claims = new InMemoryTopicClaims();
    expect(await claims.claim('t', 'm1')).toBe(true);
    expect(await claims.claim('t', 'm2')).toBe(false);
  });

  it('a redelivery of the claiming message is let through until the claim is completed', async () => {
    const claims = new InMemoryTopicClaims();
    await claims.claim('t', 'm1');
    expect(await claims.claim('t', 'm1')).toBe(true);
    await claims.complete('t');
    expect(await claims.claim('t', 'm1')).toBe(false);
  });
});
