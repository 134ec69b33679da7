import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BatchIntent, BatchRequest, BatchStore } from '../../src/services/ports.js';

/** What one adapter gives the contract: two stores over the same storage, as two daemons would have. */
export interface BatchStoreHarness {
  store: BatchStore;
  other: BatchStore;
  cleanup(): Promise<void>;
}

export const batchRequest = (customId: string, text = `say ${customId}`): BatchRequest => ({
  customId,
  request: {
    system: 'be brief',
    messages: [{ role: 'user', content: text }],
    maxTokens: 64,
    temperature: 0.5,
  },
});

/** The behaviour every `BatchStore` adapter shares; run once per adapter. */
export function batchStoreContract(name: string, create: () => Promise<BatchStoreHarness>): void {
  describe(`BatchStore contract: ${name}`, () => {
    let harness: BatchStoreHarness;
    let provider: string;
    const run = Math.random().toString(36).slice(2, 8);
    let counter = 0;
    const LEASE = 1_000;
    const T0 = 1_700_000_000_000;

    beforeEach(async () => {
      harness = await create();
      counter += 1;
      provider = `p-${run}-${counter}`;
    });

    afterEach(async () => {
      await harness.cleanup();
    });

    const intent = (intentId: string, ids: string[], owner = 'daemon-a', at = T0): BatchIntent => ({
      intentId,
      provider,
      requests: ids.map((id) => batchRequest(id)),
      owner,
      at,
      leaseMs: LEASE,
    });

    it('records an intent with its requests before it has a batch id, then the batch id', async () => {
      expect(await harness.store.recordIntent(intent('i1', ['c1:0:0', 'c2:0:0']))).toEqual({ refused: [] });
      const [recorded] = await harness.other.list(provider);
      expect(recorded).toMatchObject({
        intentId: 'i1',
        provider,
        batchId: null,
        submittedAt: null,
        owner: 'daemon-a',
        createdAt: T0,
        leaseUntil: T0 + LEASE,
      });
      expect(recorded!.requests).toEqual([batchRequest('c1:0:0'), batchRequest('c2:0:0')]);
      await harness.store.recordSubmitted('i1', provider, 'batch-1', T0 + 5);
      expect(await harness.other.list(provider)).toMatchObject([{ batchId: 'batch-1', submittedAt: T0 + 5 }]);
    });

    it('keeps a message list that is empty, and text with quotes and new lines, exactly', async () => {
      const odd: BatchRequest = {
        customId: 'c9:1:0',
        request: { system: 'a "quoted"\nline', messages: [], maxTokens: 1, temperature: 0 },
      };
      await harness.store.recordIntent({ ...intent('i1', []), requests: [odd] });
      await harness.store.recordSubmitted('i1', provider, 'b', T0);
      expect((await harness.other.list(provider))[0]!.requests).toEqual([odd]);
    });

    it('refuses custom ids another intent holds and records the rest', async () => {
      await harness.store.recordIntent(intent('i1', ['c1:0:0', 'c2:0:0']));
      expect(await harness.other.recordIntent(intent('i2', ['c2:0:0', 'c3:0:0'], 'daemon-b'))).toEqual({
        refused: ['c2:0:0'],
      });
      const batches = await harness.store.list(provider);
      expect(batches.map((b) => [b.intentId, b.requests.map((r) => r.customId)])).toEqual([
        ['i1', ['c1:0:0', 'c2:0:0']],
        ['i2', ['c3:0:0']],
      ]);
      expect((await harness.other.holderOf(provider, 'c2:0:0'))?.intentId).toBe('i1');
      expect(await harness.other.holderOf(provider, 'c4:0:0')).toBeNull();
    });

    it('records nothing when every custom id is held', async () => {
      await harness.store.recordIntent(intent('i1', ['c1:0:0']));
      expect(await harness.store.recordIntent(intent('i2', ['c1:0:0']))).toEqual({ refused: ['c1:0:0'] });
      expect((await harness.store.list(provider)).map((b) => b.intentId)).toEqual(['i1']);
    });

    it('frees the custom ids of a released intent for a new one; releasing twice is a no-op', async () => {
      await harness.store.recordIntent(intent('i1', ['c1:0:0', 'c2:0:0']));
      await harness.store.release('i1', provider);
      await harness.store.release('i1', provider);
      expect(await harness.store.list(provider)).toEqual([]);
      expect(await harness.other.holderOf(provider, 'c1:0:0')).toBeNull();
      expect(await harness.other.recordIntent(intent('i2', ['c1:0:0']))).toEqual({ refused: [] });
      await harness.store.recordSubmitted('gone', provider, 'b', T0);
      expect((await harness.store.list(provider)).map((b) => b.intentId)).toEqual(['i2']);
    });

    it('keeps providers apart', async () => {
      await harness.store.recordIntent(intent('i1', ['c1:0:0']));
      expect(
        await harness.store.recordIntent({ ...intent('i2', ['c1:0:0']), provider: `${provider}-other` }),
      ).toEqual({ refused: [] });
      expect((await harness.store.list(provider)).map((b) => b.intentId)).toEqual(['i1']);
      await harness.store.release('i2', `${provider}-other`);
    });

    it('lets another daemon adopt only intents whose lease lapsed, and renewing keeps them', async () => {
      await harness.store.recordIntent(intent('i1', ['c1:0:0'], 'daemon-a', T0));
      await harness.store.recordIntent(intent('i2', ['c2:0:0'], 'daemon-a', T0));
      await harness.store.recordSubmitted('i1', provider, 'batch-1', T0);
      // Before the lease lapses nothing is taken.
      expect(await harness.other.adopt(provider, 'daemon-b', T0 + LEASE - 1, LEASE)).toEqual([]);
      // daemon-a renews: still its own past the first lease.
      await harness.store.renew(provider, 'daemon-a', T0 + LEASE - 1, LEASE);
      expect(await harness.other.adopt(provider, 'daemon-b', T0 + LEASE + 1, LEASE)).toEqual([]);
      // daemon-a dies: after its renewed lease both are daemon-b's, with their requests.
      const now = T0 + 2 * LEASE + 1;
      const adopted = await harness.other.adopt(provider, 'daemon-b', now, LEASE);
      expect(adopted.map((b) => [b.intentId, b.batchId, b.owner, b.leaseUntil])).toEqual([
        ['i1', 'batch-1', 'daemon-b', now + LEASE],
        ['i2', null, 'daemon-b', now + LEASE],
      ]);
      expect(adopted[0]!.requests).toEqual([batchRequest('c1:0:0')]);
      // Adopted once: a third daemon finds nothing while daemon-b's lease holds.
      expect(await harness.store.adopt(provider, 'daemon-c', now + 1, LEASE)).toEqual([]);
    });
  });
}
