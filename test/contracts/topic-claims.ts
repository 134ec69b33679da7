import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TopicClaims } from '../../src/services/ports.js';

/** What one adapter gives the contract: two claim stores on the same storage, as two daemons would have. */
export interface TopicClaimsHarness {
  claims: TopicClaims;
  /** Another process's view of the same claims. */
  other: TopicClaims;
  cleanup(): Promise<void>;
}

/** The behaviour every `TopicClaims` adapter shares; run once per adapter. */
export function topicClaimsContract(name: string, create: () => Promise<TopicClaimsHarness>): void {
  describe(`TopicClaims contract: ${name}`, () => {
    let harness: TopicClaimsHarness;

    beforeEach(async () => {
      harness = await create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('the first claim of an id wins and another message with the id is refused', async () => {
      expect(await harness.claims.claim('t', 'm1')).toBe(true);
      expect(await harness.claims.claim('t', 'm2')).toBe(false);
      expect(await harness.other.claim('t', 'm3')).toBe(false);
    });

    it('two processes claiming one id at once: exactly one wins', async () => {
      const results = await Promise.all([
        harness.claims.claim('race', 'kafka:in:0:1'),
        harness.other.claim('race', 'kafka:in:0:7'),
      ]);
      expect(results.sort()).toEqual([false, true]);
    });

    it('a redelivery of the claiming message is let through, by any process, until the claim is completed', async () => {
      expect(await harness.claims.claim('t', 'origin-1')).toBe(true);
      expect(await harness.claims.claim('t', 'origin-1')).toBe(true);
      expect(await harness.other.claim('t', 'origin-1')).toBe(true);
      await harness.claims.complete('t');
      expect(await harness.claims.claim('t', 'origin-1')).toBe(false);
      expect(await harness.other.claim('t', 'origin-1')).toBe(false);
    });

    it('ids are independent of each other', async () => {
      expect(await harness.claims.claim('a', 'o')).toBe(true);
      await harness.claims.complete('a');
      expect(await harness.claims.claim('b', 'o')).toBe(true);
    });
  });
}
