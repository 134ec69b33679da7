import { ProviderError } from '../../src/errors.js';
import type {
  BatchApi,
  BatchCounts,
  BatchItemResult,
  BatchRequest,
  BatchStatus,
  Clock,
} from '../../src/services/ports.js';
import { systemClock } from '../../src/services/ports.js';

export type ItemOutcome = 'succeeded' | 'errored' | 'fatal' | 'expired';

export interface FakeBatchApiOptions {
  provider?: string;
  limits?: { maxRequests: number; maxBytes: number };
  /** Time a batch takes to end. @default 50 ms */
  delayMs?: number;
  clock?: Clock;
  /** A request's fate, by its custom id and how many times it was submitted before (0 the first time). */
  itemOutcome?: (customId: string, earlierSubmissions: number) => ItemOutcome;
  /** A whole batch's fate, by its number (1 for the first batch). */
  batchOutcome?: (batchNumber: number) => 'ended' | 'failed' | 'expired';
  /** The text of an answer. @default `reply <custom id> to [<the last message's first 40 characters>]` */
  answer?: (request: BatchRequest) => string;
}

interface FakeBatch {
  id: string;
  requests: BatchRequest[];
  createdAt: number;
  outcome: 'ended' | 'failed' | 'expired';
  outcomes: Map<string, ItemOutcome>;
  cancelled: boolean;
}

/**
 * An in-memory batch API with the provider's behaviour reduced to what the batcher depends on: a batch
 * ends `delayMs` after submission; each request succeeds, errors (retryable or not) or expires as
 * `itemOutcome` says; a whole batch may fail or expire. It keeps the log of every submission, the
 * independent witness of what was sent how often.
 */
export class FakeBatchApi implements BatchApi {
  readonly provider: string;
  readonly model = 'fake-batch-model';
  readonly limits: { maxRequests: number; maxBytes: number };
  /** The custom ids of every submission, in order. */
  readonly submissions: string[][] = [];
  private readonly batches = new Map<string, FakeBatch>();
  private readonly counts = new Map<string, number>();

  constructor(private readonly options: FakeBatchApiOptions = {}) {
    this.provider = options.provider ?? 'anthropic';
    this.limits = options.limits ?? { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 };
  }

  /** How many times each custom id was submitted. */
  submittedCount(customId: string): number {
    return this.counts.get(customId) ?? 0;
  }

  allSubmittedIds(): string[] {
    return [...this.counts.keys()];
  }

  private now(): number {
    return (this.options.clock ?? systemClock).now();
  }

  async submit(requests: readonly BatchRequest[]): Promise<BatchStatus> {
    if (requests.length > this.limits.maxRequests)
      throw new ProviderError('invalid_request', 'too many requests', { provider: this.provider });
    const number = this.submissions.length + 1;
    const outcomes = new Map<string, ItemOutcome>();
    for (const request of requests) {
      const earlier = this.counts.get(request.customId) ?? 0;
      outcomes.set(request.customId, this.options.itemOutcome?.(request.customId, earlier) ?? 'succeeded');
      this.counts.set(request.customId, earlier + 1);
    }
    this.submissions.push(requests.map((request) => request.customId));
    const batch: FakeBatch = {
      id: `msgbatch_${number}`,
      requests: structuredClone([...requests]),
      createdAt: this.now(),
      outcome: this.options.batchOutcome?.(number) ?? 'ended',
      outcomes,
      cancelled: false,
    };
    this.batches.set(batch.id, batch);
    return this.status(batch);
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    const batch = this.batches.get(batchId);
    if (!batch)
      throw new ProviderError('invalid_request', `no batch ${batchId}`, { provider: this.provider });
    return this.status(batch);
  }

  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const batch = this.batches.get(batchId);
    if (!batch)
      throw new ProviderError('invalid_request', `no batch ${batchId}`, { provider: this.provider });
    for (const request of batch.requests) {
      const outcome = batch.cancelled ? 'cancelled' : batch.outcomes.get(request.customId)!;
      if (outcome === 'succeeded') {
        const last = request.request.messages.at(-1)?.content ?? '';
        yield {
          customId: request.customId,
          ok: true,
          result: {
            text: this.options.answer?.(request) ?? `reply ${request.customId} to [${last.slice(0, 40)}]`,
            model: this.model,
            stopReason: 'end_turn',
            usage: { inputTokens: 10, outputTokens: 5 },
            latencyMs: 0,
            requestId: `${batchId}:${request.customId}`,
          },
        };
      } else {
        const code =
          outcome === 'fatal' ? 'invalid_request' : outcome === 'expired' ? 'timeout' : 'overloaded';
        yield {
          customId: request.customId,
          ok: false,
          error: new ProviderError(code, `request ${outcome}`, { provider: this.provider }),
        };
      }
    }
  }

  async cancel(batchId: string): Promise<BatchStatus> {
    const batch = this.batches.get(batchId);
    if (!batch)
      throw new ProviderError('invalid_request', `no batch ${batchId}`, { provider: this.provider });
    batch.cancelled = true;
    return this.status(batch);
  }

  /** Batches not yet ended, failed, expired or cancelled. */
  inProgress(): number {
    return [...this.batches.values()].filter((batch) => this.status(batch).state === 'in_progress').length;
  }

  private status(batch: FakeBatch): BatchStatus {
    const done = this.now() - batch.createdAt >= (this.options.delayMs ?? 50);
    const state = batch.cancelled ? 'cancelled' : done ? batch.outcome : 'in_progress';
    const counts: BatchCounts = { processing: 0, succeeded: 0, errored: 0, expired: 0, cancelled: 0 };
    for (const outcome of batch.outcomes.values()) {
      if (!done) counts.processing += 1;
      else if (outcome === 'succeeded') counts.succeeded += 1;
      else if (outcome === 'expired') counts.expired += 1;
      else counts.errored += 1;
    }
    return { id: batch.id, state, counts, createdAt: batch.createdAt };
  }
}
