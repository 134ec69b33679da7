import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ParkedMessage, ParkedMessages } from '../../src/services/ports.js';

/** What one adapter gives the contract: a parking place holding about `maxLength` messages. */
export interface ParkedMessagesHarness {
  parked: ParkedMessages;
  /** The length the adapter was opened with. */
  maxLength: number;
  cleanup(): Promise<void>;
}

function message(n: number, overrides: Partial<ParkedMessage> = {}): ParkedMessage {
  return {
    key: `k-${n}`,
    value: Buffer.from([0xff, 0x00, n & 0xff, 0x7b]),
    reason: `reason ${n}`,
    from: { topic: 'chimera.topics', partition: 2, offset: String(n) },
    at: 1_000 + n,
    ...overrides,
  };
}

/** The behaviour every `ParkedMessages` adapter shares; run once per adapter. */
export function parkedMessagesContract(name: string, create: () => Promise<ParkedMessagesHarness>): void {
  describe(`ParkedMessages contract: ${name}`, () => {
    let harness: ParkedMessagesHarness;

    beforeEach(async () => {
      harness = await create();
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    it('a parked message reads back with its exact bytes, key, reason, origin and time, oldest first', async () => {
      await harness.parked.park(message(1));
      await harness.parked.park(message(2, { key: null, from: { topic: 'queue' } }));
      const read = await harness.parked.read(10);
      expect(read.map(({ id: _id, ...rest }) => rest)).toEqual([
        message(1),
        message(2, { key: null, from: { topic: 'queue' } }),
      ]);
      expect(await harness.parked.size()).toBe(2);
    });

    it('reading goes on after a given id, up to the limit', async () => {
      for (let n = 1; n <= 5; n++) await harness.parked.park(message(n));
      const first = await harness.parked.read(2);
      expect(first.map((m) => m.key)).toEqual(['k-1', 'k-2']);
      const next = await harness.parked.read(2, first[1]!.id);
      expect(next.map((m) => m.key)).toEqual(['k-3', 'k-4']);
    });

    it('stays bounded: far past its length, the oldest are gone and the newest kept', async () => {
      const total = harness.maxLength * 3;
      for (let n = 1; n <= total; n++) await harness.parked.park(message(n));
      const size = await harness.parked.size();
      // Redis trims with `MAXLEN ~` (whole nodes at a time): about the length, never the whole history.
      expect(size).toBeGreaterThanOrEqual(harness.maxLength);
      expect(size).toBeLessThan(total);
      const all = await harness.parked.read(total);
      expect(all.at(-1)!.key).toBe(`k-${total}`);
      expect(all[0]!.key).not.toBe('k-1');
    });
  });
}
