import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BreakerReport } from '../../src/events.js';
import type { BreakerStateStore } from '../../src/services/ports.js';

/** What one adapter gives the contract: two views of one storage, as two daemons (or `status`) have. */
export interface BreakerStateStoreHarness {
  store: BreakerStateStore;
  other: BreakerStateStore;
  cleanup(): Promise<void>;
}

function report(overrides: Partial<BreakerReport> = {}): BreakerReport {
  return {
    state: 'closed',
    since: 1_700_000_000_000,
    instance: 'daemon-a',
    failures: 0,
    openedAt: null,
    cooldownMs: 30_000,
    ...overrides,
  };
}

/** The behaviour every `BreakerStateStore` adapter shares; run once per adapter. */
export function breakerStateStoreContract(
  name: string,
  create: () => Promise<BreakerStateStoreHarness>,
): void {
  describe(`BreakerStateStore contract: ${name}`, () => {
    let harness: BreakerStateStoreHarness;

    beforeEach(async () => {
      harness = await create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('has no report before anyone wrote one', async () => {
      expect(await harness.store.readAll()).toEqual({});
    });

    it('hands every provider’s report back as written, the stored snapshot included, to every reader', async () => {
      const open = report({
        state: 'open',
        failures: 5,
        openedAt: 1_700_000_000_500,
        persisted: { schemaVersion: 1, machineVersion: 'circuit-breaker@1', snapshot: { value: 'open' } },
      });
      await harness.store.write('anthropic', open);
      await harness.store.write('gemini', report({ instance: 'daemon-b' }));
      const expected = { anthropic: open, gemini: report({ instance: 'daemon-b' }) };
      expect(await harness.store.readAll()).toEqual(expected);
      expect(await harness.other.readAll()).toEqual(expected);
    });

    it('the latest report of a provider wins, whichever daemon wrote it', async () => {
      await harness.store.write('anthropic', report({ state: 'open', openedAt: 1, failures: 5 }));
      await harness.other.write('anthropic', report({ instance: 'daemon-b', since: 1_700_000_009_000 }));
      expect((await harness.store.readAll()).anthropic).toEqual(
        report({ instance: 'daemon-b', since: 1_700_000_009_000 }),
      );
    });

    it('a report read back is a copy: changing it changes nothing stored', async () => {
      await harness.store.write('anthropic', report());
      const read = await harness.store.readAll();
      read.anthropic!.state = 'open';
      expect((await harness.store.readAll()).anthropic?.state).toBe('closed');
    });
  });
}
