import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelPrice } from '../../src/cost/prices.js';
import { callCostMicros } from '../../src/cost/pricing.js';
import { isProviderError, type ProviderError } from '../../src/errors.js';
import type { BatchApi, BatchItemResult, BatchRequest, BatchStatus } from '../../src/services/ports.js';

/**
 * The behaviour every `BatchApi` adapter must show: the three SDK adapters against the fake provider
 * server over real HTTP, and the in-process simulated one. Submission, status, results matched by custom
 * id, per-request failures typed with the right code and retry decision, expiry and failure of a whole
 * batch, cancellation, limits checked before anything is sent, and (where the fake server is the witness)
 * every custom id submitted once and a bill at the batch price that matches the adapter's usage.
 */

export interface BatchBehaviourUnderTest {
  delayMs?: number;
  errorRate?: number;
  expiredRate?: number;
  outcome?: 'ended' | 'failed' | 'expired';
}

export interface BatchWitness {
  /** Times each custom id (as the caller wrote it) was submitted in a batch. */
  submitted(): Map<string, number>;
  /** The witness's bill for batch answers, in micro-dollars. */
  batchBillMicros(): number;
  /** Requests the witness received of any kind. */
  received(): number;
  /** The model's price in Chimera's own table. */
  price: ModelPrice;
}

export interface BatchHarness {
  /** An adapter whose batches (submitted from now on) behave as told. */
  api(behaviour?: BatchBehaviourUnderTest): BatchApi;
  witness?: BatchWitness;
  close(): Promise<void>;
}

export interface BatchApiUnderTest {
  name: string;
  /** The limits the provider documents, which the adapter must expose. */
  limits: { maxRequests: number; maxBytes: number };
  /** Whether the provider has a state for a batch that failed as a whole (Anthropic has none). */
  failsAsAWhole: boolean;
  /** Whether a batch that expired as a whole still reports each request (Gemini reports none). */
  expiredBatchReportsRequests: boolean;
  start(): Promise<BatchHarness>;
}

/** Custom ids as the batcher builds them: `(conversationId, turnIndex, generation)`, colons and all. */
export function customIdOf(conversation: string, turn: number, generation = 0): string {
  return `${conversation}:${turn}:${generation}`;
}

export function batchRequests(count: number, prefix = 'topic:7#'): BatchRequest[] {
  return Array.from({ length: count }, (_, index) => ({
    customId: customIdOf(`${prefix}${index}`, 2 + (index % 3)),
    request: {
      system: 'You are an expert who explains things clearly and briefly.',
      messages: [
        { role: 'user' as const, content: `Topic ${index}: what makes community solar farms work?` },
        { role: 'assistant' as const, content: 'They let many households share one array and its output.' },
        { role: 'user' as const, content: `And what about storage for farm number ${index}?` },
      ],
      maxTokens: 300,
      temperature: 0.7,
    },
  }));
}

// Long enough that the first reads see the batch in progress on a loaded machine.
const DELAY_MS = 1_000;

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until the batch has left `in_progress`/`cancelling`, as the batcher does. */
async function settled(api: BatchApi, id: string): Promise<BatchStatus> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const status = await api.retrieve(id);
    if (status.state !== 'in_progress' && status.state !== 'cancelling') return status;
    await sleep(50);
  }
  throw new Error(`batch ${id} did not settle`);
}

async function collect(api: BatchApi, id: string): Promise<BatchItemResult[]> {
  const results: BatchItemResult[] = [];
  for await (const result of api.results(id)) results.push(result);
  return results;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (isProviderError(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

function failures(results: BatchItemResult[]): ProviderError[] {
  return results.flatMap((result) => (result.ok ? [] : [result.error]));
}

export function describeBatchApiContract(subject: BatchApiUnderTest): void {
  describe(`${subject.name} batch API contract`, () => {
    let harness: BatchHarness;

    beforeAll(async () => {
      harness = await subject.start();
    });
    afterAll(async () => {
      await harness.close();
    });

    it('exposes the limits the provider documents', () => {
      expect(harness.api().limits).toEqual(subject.limits);
    });

    it('submits a batch, reports it in progress, then hands back every answer under its custom id', async () => {
      const api = harness.api({ delayMs: DELAY_MS });
      const requests = batchRequests(6, 'round-trip:');
      const submitted = await api.submit(requests);
      expect(submitted.id).not.toBe('');
      expect(submitted.state).toBe('in_progress');
      expect(submitted.counts.processing).toBe(6);
      expect((await api.retrieve(submitted.id)).state).toBe('in_progress');

      const early = await rejection(collect(api, submitted.id));
      expect(early.code).toBe('invalid_request');
      expect(early.retryable).toBe(false);

      const ended = await settled(api, submitted.id);
      expect(ended).toMatchObject({
        id: submitted.id,
        state: 'ended',
        counts: { processing: 0, succeeded: 6, errored: 0, expired: 0, cancelled: 0 },
      });
      const results = await collect(api, submitted.id);
      expect(results.map((r) => r.customId).sort()).toEqual(requests.map((r) => r.customId).sort());
      for (const result of results) {
        if (!result.ok) throw result.error;
        expect(result.result.text.length).toBeGreaterThan(10);
        const usage = result.result.usage;
        expect(
          usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0),
        ).toBeGreaterThan(0);
        expect(usage.outputTokens).toBeGreaterThan(0);
        expect(result.result.stopReason).toBe('end_turn');
      }
      if (harness.witness) {
        const seen = harness.witness.submitted();
        for (const { customId } of requests) expect(seen.get(customId)).toBe(1);
      }
    });

    it('types each failed request: server errors retryable, expired requests retryable with their own code', async () => {
      const api = harness.api({ delayMs: 0, errorRate: 0.2, expiredRate: 0.1 });
      const requests = batchRequests(20, 'partial:');
      const { id } = await api.submit(requests);
      const status = await settled(api, id);
      expect(status.state).toBe('ended');
      expect(status.counts).toMatchObject({ processing: 0, succeeded: 14, errored: 4, expired: 2 });
      const results = await collect(api, id);
      expect(new Set(results.map((r) => r.customId))).toEqual(new Set(requests.map((r) => r.customId)));
      expect(results).toHaveLength(20);
      const errors = failures(results);
      expect(errors.map((e) => e.code).sort()).toEqual([
        'expired',
        'expired',
        'server_error',
        'server_error',
        'server_error',
        'server_error',
      ]);
      for (const error of errors) {
        expect(error.retryable).toBe(true);
        expect(error.provider).toBe(api.provider);
      }
    });

    it('reports a batch that expired as a whole, its requests expired and retryable', async () => {
      const api = harness.api({ outcome: 'expired' });
      const requests = batchRequests(4, 'expired:');
      const { id } = await api.submit(requests);
      const status = await settled(api, id);
      expect(status.state).toBe('expired');
      expect(status.counts.succeeded).toBe(0);
      const results = await collect(api, id);
      expect(results.every((r) => !r.ok)).toBe(true);
      if (subject.expiredBatchReportsRequests) {
        expect(results.map((r) => r.customId).sort()).toEqual(requests.map((r) => r.customId).sort());
        for (const error of failures(results)) {
          expect(error.code).toBe('expired');
          expect(error.retryable).toBe(true);
        }
      } else {
        expect(results).toEqual([]);
      }
    });

    it('reports a batch that failed as a whole without any answer', async () => {
      const api = harness.api({ outcome: 'failed' });
      const { id } = await api.submit(batchRequests(3, 'failed:'));
      const status = await settled(api, id);
      if (subject.failsAsAWhole) {
        expect(status.state).toBe('failed');
      } else {
        // No failed state: the batch ends with every request errored.
        expect(status.state).toBe('ended');
        expect(status.counts.errored).toBe(3);
      }
      expect(status.counts.succeeded).toBe(0);
      const results = await collect(api, id);
      expect(results.every((r) => !r.ok)).toBe(true);
      for (const error of failures(results)) expect(error.code).not.toBe('expired');
    });

    it('cancels a batch: its unprocessed requests come back cancelled, not retryable', async () => {
      const api = harness.api({ delayMs: 60_000 });
      const requests = batchRequests(3, 'cancel:');
      const { id } = await api.submit(requests);
      const cancelling = await api.cancel(id);
      expect(['cancelling', 'cancelled']).toContain(cancelling.state);
      const status = await settled(api, id);
      expect(status.state).toBe('cancelled');
      expect(status.counts).toMatchObject({ processing: 0, succeeded: 0, cancelled: 3 });
      const results = await collect(api, id);
      expect(results.map((r) => r.customId).sort()).toEqual(requests.map((r) => r.customId).sort());
      for (const error of failures(results)) {
        expect(error.code).toBe('cancelled');
        expect(error.retryable).toBe(false);
      }
      expect(results.every((r) => !r.ok)).toBe(true);
    });

    it('refuses an empty batch, a repeated custom id and a batch over the request limit before sending anything', async () => {
      const api = harness.api();
      const before = harness.witness?.received();
      const [first] = batchRequests(1, 'refused:');
      const tooMany: BatchRequest[] = Array.from({ length: api.limits.maxRequests + 1 }, (_, index) => ({
        customId: `many:${index}:0`,
        request: first!.request,
      }));
      for (const batch of [[], [first!, first!], tooMany]) {
        const error = await rejection(api.submit(batch));
        expect(error.code).toBe('invalid_request');
        expect(error.retryable).toBe(false);
      }
      if (harness.witness) expect(harness.witness.received()).toBe(before);
    });

    it('answers an unknown batch id with a non-retryable error', async () => {
      const api = harness.api();
      const error = await rejection(api.retrieve(unknownBatchId(api.provider)));
      expect(error.retryable).toBe(false);
    });

    it('is billed at the batch price: the witness bill equals the answers priced with the batch discount', async () => {
      if (!harness.witness) return;
      const witness = harness.witness;
      const api = harness.api({ delayMs: 0, errorRate: 0.25 });
      const billedBefore = witness.batchBillMicros();
      const { id } = await api.submit(batchRequests(12, 'bill:'));
      await settled(api, id);
      const results = await collect(api, id);
      let batchPriced = 0;
      let onlinePriced = 0;
      for (const result of results) {
        if (!result.ok) continue;
        batchPriced += callCostMicros(witness.price, result.result.usage, { batch: true });
        onlinePriced += callCostMicros(witness.price, result.result.usage);
      }
      expect(results.filter((r) => r.ok)).toHaveLength(9);
      expect(batchPriced).toBeGreaterThan(0);
      expect(witness.batchBillMicros() - billedBefore).toBe(batchPriced);
      // About half the online price: at most half plus one micro-dollar of rounding per request.
      expect(batchPriced).toBeLessThanOrEqual(Math.ceil(onlinePriced / 2) + 9);
    });
  });
}

/** An id in the provider's own form that no batch has. */
function unknownBatchId(provider: string): string {
  switch (provider) {
    case 'anthropic':
      return 'msgbatch_doesnotexist';
    case 'gemini':
      return 'batches/doesnotexist';
    case 'openai':
      return 'batch_doesnotexist';
    default:
      return 'simbatch_doesnotexist';
  }
}
