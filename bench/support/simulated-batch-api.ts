import type {
  BatchApi,
  BatchItemResult,
  BatchRequest,
  BatchStatus,
  GenerateResult,
} from '../../src/services/ports.js';

/**
 * A provider's batch API reduced to its timing: a batch ends `delayMs` after submission and every request
 * succeeds with a short answer whose usage scales with the prompt, so the cost comparison has tokens to
 * price. Counts what it was sent.
 */
export class SimulatedBatchApi implements BatchApi {
  readonly limits = { maxRequests: 100_000, maxBytes: 256 * 1024 * 1024 };
  readonly batchSizes: number[] = [];
  private readonly batches = new Map<string, { at: number; requests: BatchRequest[] }>();

  constructor(
    readonly provider: string,
    readonly model: string,
    private readonly delayMs: number,
  ) {}

  async submit(requests: readonly BatchRequest[]): Promise<BatchStatus> {
    const id = `sim_batch_${this.batchSizes.length + 1}`;
    this.batchSizes.push(requests.length);
    this.batches.set(id, { at: Date.now(), requests: [...requests] });
    return this.retrieve(id);
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    const batch = this.batches.get(batchId)!;
    const ended = Date.now() - batch.at >= this.delayMs;
    const n = batch.requests.length;
    return {
      id: batchId,
      state: ended ? 'ended' : 'in_progress',
      counts: { processing: ended ? 0 : n, succeeded: ended ? n : 0, errored: 0, expired: 0, cancelled: 0 },
    };
  }

  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const batch = this.batches.get(batchId)!;
    this.batches.delete(batchId);
    for (const request of batch.requests) {
      const chars =
        request.request.system.length + request.request.messages.reduce((s, m) => s + m.content.length, 0);
      const result: GenerateResult = {
        text: `${request.customId} ${Math.random().toString(36).slice(2)} ${Math.random().toString(36).slice(2)}?`,
        model: this.model,
        stopReason: 'end_turn',
        usage: { inputTokens: Math.ceil(chars / 4), outputTokens: 60 },
        latencyMs: 0,
        requestId: `${batchId}:${request.customId}`,
      };
      yield { customId: request.customId, ok: true, result };
    }
  }

  async cancel(batchId: string): Promise<BatchStatus> {
    return this.retrieve(batchId);
  }
}
