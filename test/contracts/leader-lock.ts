import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaderLock } from '../../src/services/ports.js';

/** What one adapter gives the contract: locks on one name for different owners, and a way to let time pass. */
export interface LeaderLockHarness {
  /** A lock on the shared name for `owner`, with the harness's TTL. */
  lock(owner: string): LeaderLock;
  /** The TTL the locks were made with. */
  ttlMs: number;
  /** Lets `ms` pass for the locks (a real wait on Redis, the injected clock in memory). */
  advance(ms: number): Promise<void>;
  cleanup(): Promise<void>;
}

/** The behaviour every `LeaderLock` adapter shares; run once per adapter. */
export function leaderLockContract(name: string, create: () => Promise<LeaderLockHarness>): void {
  describe(`LeaderLock contract: ${name}`, () => {
    let harness: LeaderLockHarness;

    beforeEach(async () => {
      harness = await create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('one owner holds the role at a time; the holder keeps it while it renews', async () => {
      const a = harness.lock('daemon-a');
      const b = harness.lock('daemon-b');
      expect(await a.tryHold()).toBe(true);
      expect(await b.tryHold()).toBe(false);
      for (let i = 0; i < 3; i++) {
        await harness.advance(harness.ttlMs / 2);
        expect(await a.tryHold()).toBe(true);
        expect(await b.tryHold()).toBe(false);
      }
    });

    it('two owners asking at once: exactly one gets it', async () => {
      const results = await Promise.all([
        harness.lock('daemon-a').tryHold(),
        harness.lock('daemon-b').tryHold(),
      ]);
      expect(results.sort()).toEqual([false, true]);
    });

    it('a released role goes to the next owner that asks, at once', async () => {
      const a = harness.lock('daemon-a');
      const b = harness.lock('daemon-b');
      await a.tryHold();
      await a.release();
      expect(await b.tryHold()).toBe(true);
      expect(await a.tryHold()).toBe(false);
    });

    it('a holder that stops renewing loses the role after the TTL, and finds it taken when it asks again', async () => {
      const a = harness.lock('daemon-a');
      const b = harness.lock('daemon-b');
      await a.tryHold();
      await harness.advance(harness.ttlMs + harness.ttlMs / 2);
      expect(await b.tryHold()).toBe(true);
      expect(await a.tryHold()).toBe(false);
    });

    it('releasing a role that was lost does not take it from the new holder', async () => {
      const a = harness.lock('daemon-a');
      const b = harness.lock('daemon-b');
      await a.tryHold();
      await harness.advance(harness.ttlMs + harness.ttlMs / 2);
      await b.tryHold();
      await a.release();
      expect(await harness.lock('daemon-c').tryHold()).toBe(false);
      expect(await b.tryHold()).toBe(true);
    });
  });
}
