import {
  type BatchApi,
  type BatchCounts,
  type BatchItemResult,
  type BatchRequest,
  type BatchState,
  type BatchStatus,
  type Clock,
  systemClock,
} from '../../ports.js';
import {
  cancelledError,
  checkBatch,
  checkBytes,
  expiredError,
  requireFinished,
  zeroCounts,
} from '../batch/common.js';
import { providerError } from '../map-error.js';
import { SIMULATED_MODEL, SimulatedProvider } from './provider.js';
import { hashNumber, hashString } from './random.js';

const PROVIDER = 'simulated';

export interface SimulatedBatchApiOptions {
  /** @default SIMULATED_MODEL */
  model?: string;
  /**
   * Milliseconds from submission until a batch has ended (`SIMULATED_BATCH_DELAY_MS`), read from `clock`.
   * @default 0
   */
  delayMs?: number;
  /**
   * Fraction of each batch's requests (0..1) that end with a retryable `server_error`.
   * @default 0
   */
  errorRate?: number;
  /**
   * Fraction of each batch's requests (0..1) that expire.
   * @default 0
   */
  expiredRate?: number;
  /**
   * What happens to every batch as a whole: it ends, fails (no answers) or expires (every request expired).
   * @default 'ended'
   */
  outcome?: 'ended' | 'failed' | 'expired';
  /**
   * Seed of the text generator and of which requests fail.
   * @default 1
   */
  seed?: number;
  /** Turns between which the simulated conversations say goodbye. */
  closingTurns?: { min: number; max: number };
  /** @default systemClock */
  clock?: Clock;
}

/** The same bounds as Anthropic's, the largest of the three providers'. */
export const SIMULATED_BATCH_LIMITS = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 } as const;

/** Batches kept in memory at most; the oldest are forgotten first. */
const MAX_BATCHES = 10_000;

type Outcome = BatchItemResult;

interface SimulatedBatch {
  id: string;
  createdAt: number;
  endsAt: number;
  requests: BatchRequest[];
  cancelRequested: boolean;
  end?: { state: BatchState; at: number; outcomes: Outcome[] };
}

function clamp(fraction: number | undefined): number {
  return fraction !== undefined && Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
}

/**
 * An in-process `BatchApi` over the simulated provider, so batch mode runs offline: a batch ends
 * `delayMs` after submission (on the injected clock, settled when it is next read), and its answers are
 * the simulated provider's, each request's conversation keyed by its custom id. Optional error and
 * expiry rates pick requests by a hash of their custom id. Batches live in this process's memory only:
 * after a restart their ids are unknown (`invalid_request`) and the caller submits their requests again.
 */
export class SimulatedBatchApi implements BatchApi {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly limits = SIMULATED_BATCH_LIMITS;
  private readonly batches = new Map<string, SimulatedBatch>();
  private readonly generator: SimulatedProvider;
  private readonly clock: Clock;
  private readonly delayMs: number;
  private readonly seed: number;
  private seq = 0;

  constructor(private readonly options: SimulatedBatchApiOptions = {}) {
    this.model = options.model ?? SIMULATED_MODEL;
    this.clock = options.clock ?? systemClock;
    this.delayMs = Math.max(0, options.delayMs ?? 0);
    this.seed = options.seed ?? 1;
    this.generator = new SimulatedProvider({
      model: this.model,
      seed: this.seed,
      clock: this.clock,
      closingTurns: options.closingTurns,
    });
  }

  async submit(requests: readonly BatchRequest[]): Promise<BatchStatus> {
    checkBatch(PROVIDER, requests, this.limits);
    checkBytes(PROVIDER, Buffer.byteLength(JSON.stringify(requests)), this.limits.maxBytes);
    this.seq += 1;
    const now = this.clock.now();
    const batch: SimulatedBatch = {
      id: `simbatch_${this.seq}_${(hashNumber(now, hashNumber(this.seq)) >>> 0).toString(36)}`,
      createdAt: now,
      endsAt: now + this.delayMs,
      requests: requests.map((request) => structuredClone(request)),
      cancelRequested: false,
    };
    this.batches.set(batch.id, batch);
    if (this.batches.size > MAX_BATCHES) this.batches.delete(this.batches.keys().next().value!);
    return this.status(batch);
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    const batch = this.find(batchId);
    await this.settle(batch);
    return this.status(batch);
  }

  async cancel(batchId: string): Promise<BatchStatus> {
    const batch = this.find(batchId);
    if (!batch.end) batch.cancelRequested = true;
    await this.settle(batch);
    return this.status(batch);
  }

  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const batch = this.find(batchId);
    await this.settle(batch);
    const end = batch.end;
    if (!end) {
      requireFinished(PROVIDER, batchId, 'in_progress');
      return;
    }
    for (const outcome of end.outcomes) yield outcome;
  }

  private find(batchId: string): SimulatedBatch {
    const batch = this.batches.get(batchId);
    if (!batch)
      throw providerError('invalid_request', `no batch ${batchId}`, { provider: PROVIDER, status: 404 });
    return batch;
  }

  private status(batch: SimulatedBatch): BatchStatus {
    const counts: BatchCounts = zeroCounts();
    if (!batch.end) counts.processing = batch.requests.length;
    else if (batch.end.state === 'failed') counts.errored = batch.requests.length;
    else {
      for (const outcome of batch.end.outcomes) {
        if (outcome.ok) counts.succeeded += 1;
        else if (outcome.error.code === 'expired') counts.expired += 1;
        else if (outcome.error.code === 'cancelled') counts.cancelled += 1;
        else counts.errored += 1;
      }
    }
    return { id: batch.id, state: batch.end?.state ?? 'in_progress', counts, createdAt: batch.createdAt };
  }

  private async settle(batch: SimulatedBatch): Promise<void> {
    if (batch.end) return;
    const now = this.clock.now();
    if (batch.cancelRequested) {
      const outcomes = batch.requests.map(
        ({ customId }): Outcome => ({
          customId,
          ok: false,
          error: cancelledError(PROVIDER, customId),
        }),
      );
      batch.end = { state: 'cancelled', at: now, outcomes };
      return;
    }
    if (now < batch.endsAt) return;
    if (this.options.outcome === 'failed') {
      batch.end = { state: 'failed', at: now, outcomes: [] };
      return;
    }
    if (this.options.outcome === 'expired') {
      const outcomes = batch.requests.map(
        ({ customId }): Outcome => ({
          customId,
          ok: false,
          error: expiredError(PROVIDER, customId),
        }),
      );
      batch.end = { state: 'expired', at: now, outcomes };
      return;
    }
    const ranked = batch.requests
      .map(({ customId }, index) => ({ index, rank: hashString(customId, hashNumber(this.seed)) >>> 0 }))
      .sort((a, b) => a.rank - b.rank || a.index - b.index);
    const errored = Math.round(batch.requests.length * clamp(this.options.errorRate));
    const expired = Math.round(batch.requests.length * clamp(this.options.expiredRate));
    const fate = new Map(ranked.map(({ index }, position) => [index, position]));
    const outcomes: Outcome[] = [];
    for (const [index, { customId, request }] of batch.requests.entries()) {
      const position = fate.get(index)!;
      if (position < errored) {
        const error = providerError('server_error', `request ${customId} failed in its batch`, {
          provider: PROVIDER,
          status: 500,
        });
        outcomes.push({ customId, ok: false, error });
      } else if (position < errored + expired) {
        outcomes.push({ customId, ok: false, error: expiredError(PROVIDER, customId) });
      } else {
        // The custom id keys the conversation's stream of replies, as the idempotency key does online.
        const result = await this.generator.generate({ ...request, idempotencyKey: customId });
        outcomes.push({ customId, ok: true, result: { ...result, latencyMs: now - batch.createdAt } });
      }
    }
    // Settled by another read while this one generated.
    batch.end ??= { state: 'ended', at: now, outcomes };
  }
}
