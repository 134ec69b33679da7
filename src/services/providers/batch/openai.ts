import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { ChatCompletion } from 'openai/resources/chat/completions';
import type { ProviderConfig } from '../../../config.js';
import type { ProviderError } from '../../../errors.js';
import {
  type BatchApi,
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
import { codeForStatus, providerError } from '../map-error.js';
import { mapOpenAiError, PLACEHOLDER_API_KEY, toOpenAiMessages } from '../openai.js';
import { normalizeStopReason } from '../options.js';
import {
  type BatchAdapterOptions,
  cancelledError,
  checkBatch,
  checkBytes,
  elapsedMs,
  expiredError,
  requireFinished,
} from './common.js';

const PROVIDER = 'openai';

/** Batch API limits: 50,000 requests and 200 MB per input file. */
/** The batch metadata key that carries the submission's tag. */
export const OPENAI_TAG_KEY = 'chimera_submission';

export const OPENAI_BATCH_LIMITS = { maxRequests: 50_000, maxBytes: 200 * 1024 * 1024 } as const;

const ENDPOINT = '/v1/chat/completions';

/** Error codes and types that say the account is out of credit (as the online mapper decides). */
const QUOTA_CODES = new Set(['insufficient_quota', 'billing_hard_limit_reached', 'billing_not_active']);

/** The Batch API's states in Chimera's words. */
export function openAiBatchState(status: Batch['status']): BatchState {
  switch (status) {
    case 'completed':
      return 'ended';
    case 'failed':
      return 'failed';
    case 'expired':
      return 'expired';
    case 'cancelling':
      return 'cancelling';
    case 'cancelled':
      return 'cancelled';
    default:
      // validating, in_progress, finalizing
      return 'in_progress';
  }
}

function status(batch: Batch): BatchStatus {
  const state = openAiBatchState(batch.status);
  const counts = batch.request_counts ?? { total: 0, completed: 0, failed: 0 };
  const unfinished = Math.max(0, counts.total - counts.completed - counts.failed);
  return {
    id: batch.id,
    state,
    // `request_counts` has no expired or cancelled tally: once the batch is over, what neither completed
    // nor failed was cancelled (in a cancelled batch) or expired (in any other).
    counts: {
      processing: state === 'in_progress' || state === 'cancelling' ? unfinished : 0,
      succeeded: counts.completed,
      errored: counts.failed + (state === 'failed' ? unfinished : 0),
      expired: state === 'expired' || state === 'ended' ? unfinished : 0,
      cancelled: state === 'cancelled' ? unfinished : 0,
    },
    createdAt: batch.created_at ? batch.created_at * 1000 : undefined,
  };
}

/** One line of an output or error file. */
interface OutputLine {
  custom_id?: string;
  response?: { status_code?: number; request_id?: string; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

/**
 * `BatchApi` over the OpenAI Batch API: the requests go up as a JSONL file (`client.files.create`, purpose
 * `batch`) of `/v1/chat/completions` bodies, the batch is made from it (`client.batches.create`, 24 h
 * window), and answers come back in its output and error files (`client.files.content`). OpenAI caches
 * long prompts on its own, in batches too; cached tokens come back in the usage like online.
 */
export class OpenAiBatchApi implements BatchApi {
  readonly provider = PROVIDER;
  readonly model: string;
  readonly limits = OPENAI_BATCH_LIMITS;
  readonly keepsTags = true;
  private client?: OpenAI;
  private readonly clock: Clock;

  constructor(
    private readonly config: ProviderConfig,
    options: BatchAdapterOptions = {},
  ) {
    this.model = config.model;
    this.clock = options.clock ?? systemClock;
  }

  private sdk(): OpenAI {
    this.client ??= new OpenAI({
      apiKey: this.config.apiKey || PLACEHOLDER_API_KEY,
      ...(this.config.baseUrl ? { baseURL: this.config.baseUrl } : {}),
      maxRetries: 0,
      timeout: this.config.timeoutMs,
    });
    return this.client;
  }

  private async call<T>(run: (client: OpenAI) => Promise<T>): Promise<T> {
    try {
      return await run(this.sdk());
    } catch (error) {
      throw mapOpenAiError(error, { apiKey: this.config.apiKey, clock: this.clock });
    }
  }

  async submit(requests: readonly BatchRequest[], options: SubmitOptions = {}): Promise<BatchStatus> {
    checkBatch(PROVIDER, requests, this.limits);
    const lines = requests.map(({ customId, request }) =>
      JSON.stringify({
        custom_id: customId,
        method: 'POST',
        url: ENDPOINT,
        body: {
          model: this.model,
          messages: toOpenAiMessages({ ...request }),
          temperature: request.temperature,
          max_completion_tokens: request.maxTokens,
        },
      }),
    );
    const content = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    checkBytes(PROVIDER, content.length, this.limits.maxBytes);
    const file = await this.call(async (client) =>
      client.files.create({ file: await toFile(content, 'chimera-batch.jsonl'), purpose: 'batch' }),
    );
    const batch = await this.call((client) =>
      client.batches.create({
        input_file_id: file.id,
        endpoint: ENDPOINT,
        completion_window: '24h',
        ...(options.tag ? { metadata: { [OPENAI_TAG_KEY]: options.tag } } : {}),
      }),
    );
    return status(batch);
  }

  /** `batches.list`, newest first, until the batches are older than `since`; the tag is in the metadata. */
  async *list(since: number): AsyncIterable<ListedBatch> {
    const page = await this.call((client) => client.batches.list({ limit: 100 }));
    const iterator = page[Symbol.asyncIterator]();
    while (true) {
      let next: IteratorResult<Batch>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw mapOpenAiError(error, { apiKey: this.config.apiKey, clock: this.clock });
      }
      if (next.done) return;
      const listed = status(next.value);
      if (listed.createdAt !== undefined && listed.createdAt < since) return;
      const tag = next.value.metadata?.[OPENAI_TAG_KEY];
      yield {
        ...listed,
        requests: next.value.request_counts?.total,
        ...(typeof tag === 'string' ? { tag } : {}),
      };
    }
  }

  async retrieve(batchId: string): Promise<BatchStatus> {
    return status(await this.call((client) => client.batches.retrieve(batchId)));
  }

  async cancel(batchId: string): Promise<BatchStatus> {
    return status(await this.call((client) => client.batches.cancel(batchId)));
  }

  /**
   * The answers in the output file, then the failures in the error file. A batch that failed validation
   * has neither; one that expired or was cancelled lists its unfinished requests in the error file.
   */
  async *results(batchId: string): AsyncIterable<BatchItemResult> {
    const batch = await this.call((client) => client.batches.retrieve(batchId));
    requireFinished(PROVIDER, batchId, openAiBatchState(batch.status));
    const endedAt = batch.completed_at ?? batch.expired_at ?? batch.cancelled_at ?? batch.failed_at;
    const latencyMs = elapsedMs(batch.created_at * 1000, endedAt ? endedAt * 1000 : undefined);
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const text = await this.call(async (client) => (await client.files.content(fileId)).text());
      for (const raw of text.split('\n')) {
        if (raw.trim() === '') continue;
        let line: OutputLine;
        try {
          line = JSON.parse(raw) as OutputLine;
        } catch {
          throw providerError('bad_response', `a line of file ${fileId} is not JSON`, { provider: PROVIDER });
        }
        yield this.item(line, latencyMs);
      }
    }
  }

  private item(line: OutputLine, latencyMs: number): BatchItemResult {
    const customId = line.custom_id;
    if (typeof customId !== 'string') {
      throw providerError('bad_response', 'a batch output line has no custom_id', { provider: PROVIDER });
    }
    const fail = (error: ProviderError): BatchItemResult => ({ customId, ok: false, error });
    if (line.error) {
      if (line.error.code === 'batch_expired')
        return fail(expiredError(PROVIDER, customId, line.error.message));
      if (line.error.code === 'batch_cancelled') return fail(cancelledError(PROVIDER, customId));
      return fail(
        providerError('server_error', `${line.error.code ?? 'error'}: ${line.error.message ?? ''}`, {
          provider: PROVIDER,
          apiKey: this.config.apiKey,
        }),
      );
    }
    const response = line.response;
    const statusCode = response?.status_code ?? 0;
    const requestId = response?.request_id ?? '';
    const details = { provider: PROVIDER, apiKey: this.config.apiKey, requestId };
    if (statusCode !== 200) {
      const error = (
        response?.body as { error?: { message?: string; code?: string; type?: string } } | undefined
      )?.error;
      const spendLimit =
        (error?.code !== undefined && QUOTA_CODES.has(error.code)) ||
        (error?.type !== undefined && QUOTA_CODES.has(error.type));
      const code = statusCode > 0 ? codeForStatus(statusCode, { spendLimit }) : 'bad_response';
      return fail(
        providerError(code, error?.message ?? `status ${statusCode}`, { ...details, status: statusCode }),
      );
    }
    const completion = response?.body as ChatCompletion | undefined;
    const choice = Array.isArray(completion?.choices) ? completion.choices[0] : undefined;
    if (!completion || !choice) {
      return fail(providerError('bad_response', 'the answer is not a chat completion', details));
    }
    const text = typeof choice.message?.content === 'string' ? choice.message.content.trim() : '';
    if (text === '') {
      return fail(
        providerError('bad_response', `empty text (finish_reason ${choice.finish_reason})`, details),
      );
    }
    const usage = completion.usage;
    const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
    const result: GenerateResult = {
      text,
      model: completion.model || this.model,
      stopReason: normalizeStopReason(choice.finish_reason),
      usage: {
        inputTokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached),
        outputTokens: usage?.completion_tokens ?? 0,
        ...(cached > 0 ? { cacheReadTokens: cached } : {}),
      },
      latencyMs,
      requestId: requestId || completion.id,
    };
    return { customId, ok: true, result };
  }
}
