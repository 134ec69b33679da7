import {
  type BatchJob,
  type GenerateContentResponse,
  GoogleGenAI,
  type InlinedRequest,
  type InlinedResponse,
} from '@google/genai';
import type { ProviderConfig } from '../../../config.js';
import { ConfigError, type ProviderError, type ProviderErrorCode } from '../../../errors.js';
import {
  type BatchApi,
  type BatchCounts,
  type BatchItemResult,
  type BatchRequest,
  type BatchState,
  type BatchStatus,
  type Clock,
  type GenerateResult,
  type ListedBatch,
  type SubmitOptions,
  systemClock,
} from '../../ports.js';
import { GEMINI_API_VERSION, mapGeminiError, toGeminiContents } from '../gemini.js';
import { codeForStatus, providerError } from '../map-error.js';
import { normalizeStopReason } from '../options.js';
import {
  type BatchAdapterOptions,
  cancelledError,
  checkBatch,
  checkBytes,
  elapsedMs,
  expiredError,
  parseTime,
  requireFinished,
  zeroCounts,
} from './common.js';

const PROVIDER = 'gemini';

/**
 * Gemini batch mode with inline requests: the whole create request must stay under 20 MB. No request
 * count is documented for inline batches; the count bound only keeps one batch's memory in check.
 */
export const GEMINI_BATCH_LIMITS = { maxRequests: 100_000, maxBytes: 20 * 1024 * 1024 } as const;

/** The metadata field that carries a request's custom id (Gemini echoes metadata in each response). */
export const GEMINI_CUSTOM_ID_KEY = 'key';

/** `@google/genai` job states (the API's `BATCH_STATE_*`, renamed by the SDK) in Chimera's words. */
export function geminiBatchState(state: string | undefined): BatchState {
  switch (state) {
    case 'JOB_STATE_SUCCEEDED':
    case 'JOB_STATE_PARTIALLY_SUCCEEDED':
      return 'ended';
    case 'JOB_STATE_FAILED':
      return 'failed';
    case 'JOB_STATE_EXPIRED':
      return 'expired';
    case 'JOB_STATE_CANCELLING':
      return 'cancelling';
    case 'JOB_STATE_CANCELLED':
      return 'cancelled';
    default:
      // Queued, pending, running, paused, updating, unspecified: not done yet.
      return 'in_progress';
  }
}

/** google.rpc.Code of a per-request error to Chimera's codes. */
const CODE_OF_RPC: Record<number, ProviderErrorCode> = {
  1: 'cancelled',
  2: 'server_error',
  3: 'invalid_request',
  4: 'expired',
  5: 'invalid_request',
  7: 'auth',
  8: 'rate_limited',
  9: 'invalid_request',
  10: 'server_error',
  11: 'invalid_request',
  12: 'invalid_request',
  13: 'server_error',
  14: 'overloaded',
  16: 'auth',
};

function codeOfJobError(code: number | undefined): ProviderErrorCode {
  if (code === undefined) return 'server_error';
  // Some answers carry the HTTP status instead of the RPC code.
  if (code >= 100) return codeForStatus(code);
  return CODE_OF_RPC[code] ?? 'server_error';
}

function textOf(response: GenerateContentResponse): string {
  const parts = response.candidates?.[0]?.content?.parts ?? [];
  let text = '';
  for (const part of parts) if (typeof part.text === 'string' && !part.thought) text += part.text;
  return text.trim();
}

/** `batchStats` of the raw operation (int64 fields arrive as strings); the SDK drops it. */
interface RawBatchStats {
  requestCount?: string | number;
  pendingRequestCount?: string | number;
  successfulRequestCount?: string | number;
  failedRequestCount?: string | number;
}

function num(value: string | number | undefined): number {
  const n = Number(value ?? 0);
  return Number.isFinite(n) ? n : 0;
}

export interface GeminiBatchApiOptions extends BatchAdapterOptions {
  /** As the online adapter's option: thinking budget for 2.5-series models. */
  thinkingBudget?: number;
}

/**
 * `BatchApi` over Gemini batch mode (`ai.batches` of `@google/genai`, inline requests and responses).
 * Each request's custom id travels in its `metadata` and comes back with its response. The batch id is
 * the job's resource name (`batches/...`). The SDK leaves out the batch's request counts, so the adapter
 * reads them from the raw answer; once the job is done they are counted from the responses themselves.
 */
export class GeminiBatchApi implements BatchApi {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly limits = GEMINI_BATCH_LIMITS;
  readonly keepsTags = true;
  private client?: GoogleGenAI;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProviderConfig,
    private readonly options: GeminiBatchApiOptions = {},
  ) {
    if (!config.apiKey) throw new ConfigError('GOOGLE_API_KEY', 'required for the gemini provider');
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
  }

  private sdk(): GoogleGenAI {
    this.client ??= new GoogleGenAI({
      apiKey: this.config.apiKey,
      apiVersion: GEMINI_API_VERSION,
      httpOptions: {
        ...(this.config.baseUrl ? { baseUrl: this.config.baseUrl } : {}),
        timeout: this.config.timeoutMs,
        retryOptions: { attempts: 1 },
      },
    });
    return this.client;
  }

  /**
   * Runs one SDK call with a fetch that keeps the last response's headers (for error mapping) and its
   * JSON body's `metadata.batchStats` (for the counts).
   */
  private async call<T>(
    run: (client: GoogleGenAI, fetchImpl: typeof fetch) => Promise<T>,
  ): Promise<{ value: T; stats?: RawBatchStats }> {
    let last: Response | undefined;
    let stats: RawBatchStats | undefined;
    const capture: typeof fetch = async (input, init) => {
      last = await fetch(input, init);
      if (last.ok && (last.headers.get('content-type') ?? '').includes('json')) {
        try {
          const body = (await last.clone().json()) as { metadata?: { batchStats?: RawBatchStats } };
          stats = body?.metadata?.batchStats;
        } catch {
          // The SDK parses the body itself and reports a malformed one.
        }
      }
      return last;
    };
    try {
      return { value: await run(this.sdk(), capture), stats };
    } catch (error) {
      throw mapGeminiError(error, { apiKey: this.config.apiKey, clock: this.clock, headers: last?.headers });
    }
  }

  private status(job: BatchJob, stats: RawBatchStats | undefined): BatchStatus {
    const id = job.name;
    if (!id) throw providerError('bad_response', 'the batch job has no name', { provider: PROVIDER });
    const state = geminiBatchState(job.state);
    let counts: BatchCounts = zeroCounts();
    const responses = job.dest?.inlinedResponses;
    if (responses && state !== 'in_progress' && state !== 'cancelling') {
      for (const response of responses) {
        if (!response.error) counts.succeeded += 1;
        else {
          const code = codeOfJobError(response.error.code);
          if (code === 'expired') counts.expired += 1;
          else if (code === 'cancelled') counts.cancelled += 1;
          else counts.errored += 1;
        }
      }
    } else if (stats) {
      const failed = num(stats.failedRequestCount);
      counts = {
        processing: num(stats.pendingRequestCount),
        succeeded: num(stats.successfulRequestCount),
        errored: state === 'expired' || state === 'cancelled' ? 0 : failed,
        expired: state === 'expired' ? failed + num(stats.pendingRequestCount) : 0,
        cancelled: state === 'cancelled' ? failed : 0,
      };
      if (state === 'expired') counts.processing = 0;
    }
    return { id, state, counts, createdAt: parseTime(job.createTime) };
  }

  async submit(requests: readonly BatchRequest[], options: SubmitOptions = {}): Promise<BatchStatus> {
    checkBatch(PROVIDER, requests, this.limits);
    const src: InlinedRequest[] = requests.map(({ customId, request }) => ({
      contents: toGeminiContents({ ...request }),
      metadata: { [GEMINI_CUSTOM_ID_KEY]: customId },
      config: {
        ...(request.system ? { systemInstruction: request.system } : {}),
        maxOutputTokens: request.maxTokens,
        temperature: request.temperature,
        ...(this.options.thinkingBudget !== undefined
          ? { thinkingConfig: { thinkingBudget: this.options.thinkingBudget } }
          : {}),
      },
    }));
    // The wire form is a little larger than this (role and field names); the margin is in the limit's use.
    checkBytes(PROVIDER, Buffer.byteLength(JSON.stringify(src)), this.limits.maxBytes);
    const { value, stats } = await this.call((client, fetchImpl) =>
      client.batches.create({
        model: this.model,
        src,
        // The display name carries the submission's tag, which `list` gives back.
        config: {
          displayName: options.tag ?? `chimera-${requests.length}`,
          httpOptions: { fetch: fetchImpl },
        },
      }),
    );
    return this.status(value, stats);
  }

  private async job(batchId: string): Promise<{ value: BatchJob; stats?: RawBatchStats }> {
    return this.call((client, fetchImpl) =>
      client.batches.get({ name: batchId, config: { httpOptions: { fetch: fetchImpl } } }),
    );
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    const { value, stats } = await this.job(batchId);
    return this.status(value, stats);
  }

  /**
   * `batches.list`: every job the key can see (the API documents no order, so the scan does not stop
   * early), each with its display name as the tag.
   */
  async *list(since: number): AsyncIterable<ListedBatch> {
    const { value: pager } = await this.call((client, fetchImpl) =>
      client.batches.list({ config: { pageSize: 100, httpOptions: { fetch: fetchImpl } } }),
    );
    const iterator = pager[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<BatchJob>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw mapGeminiError(error, { apiKey: this.config.apiKey, clock: this.clock });
      }
      if (next.done) return;
      if (!next.value.name) continue;
      const listed = this.status(next.value, undefined);
      if (listed.createdAt !== undefined && listed.createdAt < since) continue;
      yield { ...listed, ...(next.value.displayName ? { tag: next.value.displayName } : {}) };
    }
  }

  /** Gemini answers a cancel with an empty body; the batch is read again for its state. */
  async cancel(batchId: string): Promise<BatchStatus> {
    await this.call((client, fetchImpl) =>
      client.batches.cancel({ name: batchId, config: { httpOptions: { fetch: fetchImpl } } }),
    );
    return this.retrieve(batchId);
  }

  /**
   * One entry per inline response of a done job. A job that failed or expired as a whole has none: the
   * caller knows which requests it carried and treats them as unanswered.
   */
  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const { value: job } = await this.job(batchId);
    requireFinished(PROVIDER, batchId, geminiBatchState(job.state));
    const latencyMs = elapsedMs(parseTime(job.createTime), parseTime(job.endTime));
    for (const response of job.dest?.inlinedResponses ?? []) {
      yield this.item(response, latencyMs);
    }
  }

  private item(entry: InlinedResponse, latencyMs: number): BatchItemResult {
    const customId = entry.metadata?.[GEMINI_CUSTOM_ID_KEY];
    if (customId === undefined) {
      throw providerError('bad_response', 'an inline response carries no custom id in its metadata', {
        provider: PROVIDER,
      });
    }
    const fail = (error: ProviderError): BatchItemResult => ({ customId, ok: false, error });
    if (entry.error) {
      const code = codeOfJobError(entry.error.code);
      if (code === 'expired') return fail(expiredError(PROVIDER, customId, entry.error.message));
      if (code === 'cancelled') return fail(cancelledError(PROVIDER, customId));
      return fail(
        providerError(code, `${entry.error.code ?? '?'}: ${entry.error.message ?? 'no message'}`, {
          provider: PROVIDER,
          apiKey: this.config.apiKey,
        }),
      );
    }
    const response = entry.response;
    const requestId = response?.responseId ?? '';
    const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId };
    if (!response) return fail(providerError('bad_response', 'an inline response has no response', details));
    const text = textOf(response);
    const candidate = response.candidates?.[0];
    if (text === '') {
      const block = response.promptFeedback?.blockReason;
      const why = block ? `prompt blocked: ${block}` : `finishReason ${candidate?.finishReason ?? 'missing'}`;
      return fail(providerError('bad_response', `empty text (${why})`, details));
    }
    const usage = response.usageMetadata;
    const cached = usage?.cachedContentTokenCount ?? 0;
    const result: GenerateResult = {
      text,
      model: response.modelVersion || this.model,
      stopReason: normalizeStopReason(candidate?.finishReason),
      usage: {
        inputTokens: Math.max(0, (usage?.promptTokenCount ?? 0) - cached),
        outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
        ...(cached > 0 ? { cacheReadTokens: cached } : {}),
      },
      latencyMs,
      requestId,
    };
    return { customId, ok: true, result };
  }
}
